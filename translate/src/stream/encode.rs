//! Per-caller stream encoders: IR [`Event`]s in, the caller protocol's frames out.

mod chat;
mod gemini;
mod messages;
mod responses;

use bytes::BytesMut;
use compiler::table::Protocol;

use super::{Ctx, Event};
use crate::ir::ErrorKind;

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
        match &mut self.0 {
            Inner::Chat(e) => e.event(ev, out),
            Inner::Responses(e) => e.event(ev, out),
            Inner::Messages(e) => e.event(ev, out),
            Inner::Gemini(e) => e.event(ev, out),
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
