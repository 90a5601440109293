//! Per-upstream stream decoders: one protocol's SSE events in, IR [`Event`]s out.

mod chat;
mod gemini;
mod messages;
mod responses;

use compiler::table::Protocol;

use super::{Ctx, Event, Malformed};
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
