//! Encodes IR events as a Responses stream for the caller (protocols.md §2.8).

use bytes::BytesMut;

use crate::ir::ErrorKind;
use crate::stream::{Ctx, Event};

#[derive(Debug, Default)]
pub(crate) struct ResponsesEncoder {
    ended: bool,
}

impl ResponsesEncoder {
    pub(crate) fn new(_ctx: &Ctx<'_>) -> ResponsesEncoder {
        ResponsesEncoder::default()
    }

    pub(crate) fn event(&mut self, _ev: &Event<'_>, _out: &mut BytesMut) {}

    pub(crate) fn fail(&mut self, _kind: ErrorKind, _message: &str, _out: &mut BytesMut) {
        self.ended = true;
    }

    pub(crate) fn ended(&self) -> bool {
        self.ended
    }
}
