//! Decodes a Anthropic Messages upstream stream into IR events (protocols.md §2.9).

use crate::json::Scratch;
use crate::stream::{Ctx, Event, Malformed};

#[derive(Debug, Default)]
pub(crate) struct MessagesDecoder {
    started: bool,
}

impl MessagesDecoder {
    pub(crate) fn new(_ctx: &Ctx<'_>) -> MessagesDecoder {
        MessagesDecoder::default()
    }

    pub(crate) fn event(
        &mut self,
        _name: Option<&[u8]>,
        _data: &[u8],
        _scratch: &mut Scratch,
        _emit: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), Malformed> {
        let _ = self.started;
        Err(Malformed)
    }

    pub(crate) fn eof(&mut self, _emit: &mut dyn FnMut(Event<'_>)) {}
}
