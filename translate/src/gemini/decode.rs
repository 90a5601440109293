//! Decodes a Gemini generateContent upstream stream into IR events
//! (docs/protocols.md#stream-decoders; E10, E15, E20, E37).
//!
//! Every event is a whole `GenerateContentResponse`; its parts are increments. A
//! `functionCall` part is a complete call: a `ToolStart` (its id, or a made-up `call_…` one)
//! and one `ToolArgs` with the raw JSON text of `args`, cut from the event bytes. There is no
//! terminator: the body ends after a chunk with a `finishReason`.

use std::ops::Range;

use simd_json::prelude::*;
use simd_json::tape::Value;

use super::wire;
use crate::ids;
use crate::ir::Finish;
use crate::json::{self, Scratch};
use crate::stream::decode::{error_of, present, str_of};
use crate::stream::{Ctx, Event, Malformed};

#[derive(Debug, Default)]
pub(crate) struct GeminiDecoder {
    seed: u64,
    started: bool,
    /// A `finishReason` (or a blocked prompt) was seen: end of body is a clean end.
    finished: bool,
    done: bool,
    /// How many call ids were made up.
    synthesized: u64,
    /// The last made-up call id.
    id: String,
}

impl GeminiDecoder {
    pub(crate) fn new(ctx: &Ctx<'_>) -> GeminiDecoder {
        GeminiDecoder {
            seed: ctx.seed,
            ..GeminiDecoder::default()
        }
    }

    pub(crate) fn event(
        &mut self,
        _name: Option<&[u8]>,
        data: &[u8],
        scratch: &mut Scratch,
        emit: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), Malformed> {
        if self.done {
            return Ok(());
        }
        scratch
            .parse(data, |v| self.chunk(&v, data, emit))
            .map_err(|_| Malformed)?
    }

    pub(crate) fn eof(&mut self, emit: &mut dyn FnMut(Event<'_>)) {
        if self.finished && !self.done {
            self.done = true;
            emit(Event::End);
        }
    }

    fn chunk(
        &mut self,
        v: &Value<'_, '_>,
        data: &[u8],
        emit: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), Malformed> {
        if !v.is_object() {
            return Err(Malformed);
        }
        if let Some(err) = present(v, "error") {
            let (kind, message) = error_of(&err);
            self.done = true;
            emit(Event::Error { kind, message });
            return Ok(());
        }
        // An empty object is the one filler google-genai tolerates (E30): it starts nothing,
        // so the response id of the first real chunk is not lost.
        if v.as_object().is_some_and(|o| o.is_empty()) {
            return Ok(());
        }
        if !self.started {
            self.started = true;
            emit(Event::Start {
                id: str_of(v, "responseId").unwrap_or(""),
                model: str_of(v, "modelVersion").unwrap_or(""),
            });
        }
        let candidate = match present(v, "candidates") {
            Some(c) => c.as_array().ok_or(Malformed)?.get(0),
            None => None,
        };
        if let Some(c) = candidate {
            self.candidate(&c, data, emit)?;
        } else if present(v, "promptFeedback")
            .and_then(|f| present(&f, "blockReason"))
            .is_some()
            && !self.finished
        {
            self.finished = true;
            emit(Event::Finish(Finish::ContentFilter));
        }
        if let Some(u) = present(v, "usageMetadata") {
            emit(Event::Usage(wire::usage(u)));
        }
        Ok(())
    }

    fn candidate(
        &mut self,
        c: &Value<'_, '_>,
        data: &[u8],
        emit: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), Malformed> {
        let parts = present(c, "content").and_then(|content| present(&content, "parts"));
        if let Some(parts) = parts {
            let parts = parts.as_array().ok_or(Malformed)?;
            for (i, p) in parts.iter().enumerate() {
                if let Some(fc) = present(&p, "functionCall") {
                    self.call(&fc, data, i, emit);
                } else if let Some(t) = str_of(&p, "text").filter(|t| !t.is_empty()) {
                    if p.get("thought").and_then(|b| b.as_bool()) == Some(true) {
                        emit(Event::Reasoning(t));
                    } else {
                        emit(Event::Text(t));
                    }
                }
            }
        }
        if let Some(r) = present(c, "finishReason") {
            let r = r.into_string().ok_or(Malformed)?;
            if let Some(f) = wire::finish_from(r)
                && !self.finished
            {
                self.finished = true;
                emit(Event::Finish(f));
            }
        }
        Ok(())
    }

    /// One whole call: its start and its complete arguments.
    fn call(
        &mut self,
        fc: &Value<'_, '_>,
        data: &[u8],
        part: usize,
        emit: &mut dyn FnMut(Event<'_>),
    ) {
        let name = str_of(fc, "name").unwrap_or("");
        match str_of(fc, "id").filter(|id| !id.is_empty()) {
            Some(id) => emit(Event::ToolStart {
                id,
                name,
                namespace: None,
            }),
            None => {
                ids::synthesize("call_", self.seed, self.synthesized, &mut self.id);
                self.synthesized += 1;
                emit(Event::ToolStart {
                    id: &self.id,
                    name,
                    namespace: None,
                });
            }
        }
        let args = match present(fc, "args") {
            Some(_) => raw_args(data, part).unwrap_or("{}"),
            None => "{}",
        };
        emit(Event::ToolArgs(args));
    }
}

/// The raw text of `candidates[0].content.parts[part].functionCall.args` in already-validated
/// JSON, so the arguments pass on exactly as the upstream wrote them.
fn raw_args(data: &[u8], part: usize) -> Option<&str> {
    let candidates = member(data, 0, "candidates")?;
    let first = element(data, candidates.start, 0)?;
    let content = member(data, first.start, "content")?;
    let parts = member(data, content.start, "parts")?;
    let p = element(data, parts.start, part)?;
    let fc = member(data, p.start, "functionCall")?;
    let args = member(data, fc.start, "args")?;
    let text = std::str::from_utf8(data.get(args)?).ok()?;
    (text != "null").then_some(text)
}

/// The value range of the first member `name` of the object at `start`.
fn member(data: &[u8], start: usize, name: &str) -> Option<Range<usize>> {
    let mut found = None;
    json::for_each_member(data, start, |m| {
        if found.is_none() && m.is(name) {
            found = Some(m.value);
        }
    })?;
    found
}

/// The value range of element `idx` of the array at `start`.
fn element(data: &[u8], start: usize, idx: usize) -> Option<Range<usize>> {
    let mut i = json::skip_ws(data, start);
    if data.get(i) != Some(&b'[') {
        return None;
    }
    i = json::skip_ws(data, i + 1);
    for n in 0.. {
        if data.get(i) == Some(&b']') {
            return None;
        }
        let end = skip_value(data, i)?;
        if n == idx {
            return Some(i..end);
        }
        i = json::skip_ws(data, end);
        match data.get(i) {
            Some(b',') => i = json::skip_ws(data, i + 1),
            _ => return None,
        }
    }
    None
}

/// The end of the JSON value starting at `i` (input already validated).
fn skip_value(data: &[u8], i: usize) -> Option<usize> {
    match data.get(i)? {
        b'"' => skip_string(data, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while let Some(&c) = data.get(j) {
                match c {
                    b'"' => {
                        j = skip_string(data, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let len = data
                .get(i..)?
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n'))
                .unwrap_or(data.len() - i);
            (len > 0).then_some(i + len)
        }
    }
}

/// `data[i]` is `"`; the index after the closing quote.
fn skip_string(data: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        let k = memchr::memchr2(b'"', b'\\', data.get(j..)?)? + j;
        if data.get(k) == Some(&b'\\') {
            j = k + 2;
        } else {
            return Some(k + 1);
        }
    }
}
