//! Per-caller stream encoders: IR [`Event`]s in, the caller protocol's frames out.

use crate::chat::encode as chat;
use crate::gemini::encode as gemini;
use crate::messages::encode as messages;
use crate::responses::encode as responses;
#[cfg(test)]
mod tests;

use bytes::BytesMut;
use compiler::table::Protocol;

use super::{Ctx, Event};
use crate::ir::ErrorKind;
use crate::json;

pub(crate) use chat::ChatEncoder;
pub(crate) use gemini::GeminiEncoder;
pub(crate) use messages::MessagesEncoder;
pub(crate) use responses::ResponsesEncoder;

/// The encoder for one caller protocol.
#[derive(Debug)]
pub struct Encoder(Inner);

#[derive(Debug)]
enum Inner {
    Chat(ChatEncoder),
    Responses(ResponsesEncoder),
    Messages(MessagesEncoder),
    Gemini(GeminiEncoder),
}

impl Encoder {
    pub fn new(caller: Protocol, ctx: &Ctx<'_>) -> Encoder {
        Encoder(match caller {
            Protocol::ChatCompletions => Inner::Chat(ChatEncoder::new(ctx)),
            Protocol::Responses => Inner::Responses(ResponsesEncoder::new(ctx)),
            Protocol::Messages => Inner::Messages(MessagesEncoder::new(ctx)),
            Protocol::GenerateContent => Inner::Gemini(GeminiEncoder::new(ctx)),
        })
    }

    pub fn event(&mut self, ev: &Event<'_>, out: &mut BytesMut) {
        if self.ended() {
            return;
        }
        // `Start` opens the stream; any other first event opens it without ids (the encoders'
        // `start` is idempotent).
        let (id, model) = match *ev {
            Event::Start { id, model } => (id, model),
            _ => ("", ""),
        };
        match &mut self.0 {
            Inner::Chat(e) => e.start(id, model, out),
            Inner::Responses(e) => e.start(id, model, out),
            Inner::Messages(e) => e.start(id, model, out),
            Inner::Gemini(e) => e.start(id, model),
        }
        if matches!(ev, Event::Start { .. }) {
            return;
        }
        match &mut self.0 {
            Inner::Chat(e) => e.content(ev, out),
            Inner::Responses(e) => e.content(ev, out),
            Inner::Messages(e) => e.content(ev, out),
            Inner::Gemini(e) => e.content(ev, out),
        }
    }

    /// Ends the stream with the caller protocol's terminal error frame.
    pub fn fail(&mut self, kind: ErrorKind, message: &str, out: &mut BytesMut) {
        match &mut self.0 {
            Inner::Chat(e) => e.fail(kind, message, out),
            Inner::Responses(e) => e.fail(kind, message, out),
            Inner::Messages(e) => e.fail(kind, message, out),
            Inner::Gemini(e) => e.fail(kind, message, out),
        }
    }

    /// Whether the encoder ended the stream with an error frame of its own accord (Gemini
    /// callers: tool arguments that are not a JSON object, E36).
    pub fn failed(&self) -> bool {
        match &self.0 {
            Inner::Gemini(e) => e.failed(),
            Inner::Chat(_) | Inner::Responses(_) | Inner::Messages(_) => false,
        }
    }

    /// Whether the terminal frames have been written (after `End` or `fail`).
    pub fn ended(&self) -> bool {
        match &self.0 {
            Inner::Chat(e) => e.ended(),
            Inner::Responses(e) => e.ended(),
            Inner::Messages(e) => e.ended(),
            Inner::Gemini(e) => e.ended(),
        }
    }
}

/// Writes `s` as a JSON string literal.
pub(crate) fn put_str(out: &mut BytesMut, s: &str) {
    json::push_json_str(out, s);
}

/// Writes `n` in decimal.
pub(crate) fn put_u64(out: &mut BytesMut, n: u64) {
    json::push_u64(out, n);
}

/// Writes the head of a named SSE event: `event: <name>\ndata: `.
pub(crate) fn put_event(out: &mut BytesMut, name: &str) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
}

/// Sets `dst` to the id a caller sees: `id` when it already has `prefix`, `prefix` + `id`
/// otherwise, or a made-up one from `seed` when the upstream gave none. Reuses `dst`'s buffer.
pub(crate) fn set_id(dst: &mut String, prefix: &str, id: &str, seed: u64) {
    dst.clear();
    if id.is_empty() {
        crate::ids::synthesize(prefix, seed, 0, dst);
    } else {
        if !id.starts_with(prefix) {
            dst.push_str(prefix);
        }
        dst.push_str(id);
    }
}

/// The model to report is the caller-facing name from [`Ctx`] (set at `new`); the upstream's
/// fills in only when that is empty.
pub(crate) fn fill_model(dst: &mut String, upstream: &str) {
    if dst.is_empty() {
        dst.push_str(upstream);
    }
}
