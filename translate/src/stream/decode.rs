//! Per-upstream stream decoders: one protocol's SSE events in, IR [`Event`]s out.

use crate::chat::decode as chat;
use crate::gemini::decode as gemini;
use crate::messages::decode as messages;
use crate::responses::decode as responses;
#[cfg(test)]
mod tests;

use compiler::table::Protocol;
use simd_json::prelude::*;
use simd_json::tape::Value;

use super::{Ctx, Event, Malformed};
use crate::ir::ErrorKind;
use crate::json::Scratch;

pub(crate) use chat::ChatDecoder;
pub(crate) use gemini::GeminiDecoder;
pub(crate) use messages::MessagesDecoder;
pub(crate) use responses::ResponsesDecoder;

/// The decoder for one upstream protocol.
#[derive(Debug)]
pub struct Decoder(Inner);

#[derive(Debug)]
enum Inner {
    Chat(ChatDecoder),
    Responses(ResponsesDecoder),
    Messages(MessagesDecoder),
    Gemini(GeminiDecoder),
}

impl Decoder {
    pub fn new(upstream: Protocol, ctx: &Ctx<'_>) -> Decoder {
        Decoder(match upstream {
            Protocol::ChatCompletions => Inner::Chat(ChatDecoder::new(ctx)),
            Protocol::Responses => Inner::Responses(ResponsesDecoder::new(ctx)),
            Protocol::Messages => Inner::Messages(MessagesDecoder::new(ctx)),
            Protocol::GenerateContent => Inner::Gemini(GeminiDecoder::new(ctx)),
        })
    }

    /// One SSE event: its `event:` name (if any) and its `data:` payload.
    pub fn event(
        &mut self,
        name: Option<&[u8]>,
        data: &[u8],
        scratch: &mut Scratch,
        emit: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), Malformed> {
        match &mut self.0 {
            Inner::Chat(d) => d.event(name, data, scratch, emit),
            Inner::Responses(d) => d.event(name, data, scratch, emit),
            Inner::Messages(d) => d.event(name, data, scratch, emit),
            Inner::Gemini(d) => d.event(name, data, scratch, emit),
        }
    }

    /// The upstream body ended: emits `End` if the stream had completed (or may legitimately
    /// end here), nothing otherwise (the translator then reports a cut).
    pub fn eof(&mut self, emit: &mut dyn FnMut(Event<'_>)) {
        match &mut self.0 {
            Inner::Chat(d) => d.eof(emit),
            Inner::Responses(d) => d.eof(emit),
            Inner::Messages(d) => d.eof(emit),
            Inner::Gemini(d) => d.eof(emit),
        }
    }
}

/// The message of the error an upstream reports when its call arguments interleave.
pub(crate) const INTERLEAVED: &str = "interleaved tool-call arguments: fragments for an earlier call arrived after a later call began";

/// `v[key]` as a string, if it is one.
pub(crate) fn str_of<'i>(v: &Value<'_, 'i>, key: &str) -> Option<&'i str> {
    v.get(key).and_then(|s| s.into_string())
}

/// `v[key]` when present and not `null`.
pub(crate) fn present<'t, 'i>(v: &Value<'t, 'i>, key: &str) -> Option<Value<'t, 'i>> {
    v.get(key).filter(|x| x.as_null().is_none())
}

/// The kind and message of an error object in any protocol's spelling (`type`, `code`,
/// `status`, or a numeric HTTP `code`); a bare string is taken as the message.
pub(crate) fn error_of<'i>(err: &Value<'_, 'i>) -> (ErrorKind, &'i str) {
    if let Some(s) = err.into_string() {
        return (ErrorKind::Server, s);
    }
    let named = ["type", "code", "status"]
        .iter()
        .filter_map(|k| str_of(err, k))
        .find_map(ErrorKind::from_name);
    let kind = named
        .or_else(|| {
            err.get("code")
                .and_then(|c| c.as_u64())
                .and_then(|c| u16::try_from(c).ok())
                .filter(|c| (400..600).contains(c))
                .map(ErrorKind::from_status)
        })
        .unwrap_or(ErrorKind::Server);
    (kind, str_of(err, "message").unwrap_or(""))
}
