//! Decodes a Gemini generateContent upstream stream into IR events (protocols.md §2.9).

use crate::json::Scratch;
use crate::stream::{Ctx, Event, Malformed};

#[derive(Debug, Default)]
pub(crate) struct GeminiDecoder {
    started: bool,
}

impl GeminiDecoder {
    pub(crate) fn new(_ctx: &Ctx<'_>) -> GeminiDecoder {
        GeminiDecoder::default()
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
