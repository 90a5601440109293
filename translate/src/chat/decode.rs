//! Decodes a Chat Completions upstream stream into IR events (docs/protocols.md#stream-decoders;
//! E1, E7–E12 in docs/translation-cases.md).
//!
//! Tool calls are keyed by `index`, with the tolerances real servers need: a missing `index`
//! (an id-bearing delta opens a call, an args-only one continues the last), an index reused
//! with a new id (a new call), `name:""` (no name), arguments before the name (held until the
//! name arrives, then sent as one fragment), `tool_calls: []` (none).
//!
//! IR tool calls are sequential (arguments continue the latest `ToolStart`), so parallel calls
//! whose fragments interleave are put in order here
//! (docs/protocols.md#chat-upstream-messages-caller): a call that starts while the current call's
//! arguments are still an incomplete JSON value is held, with its fragments, and released when the
//! current call's arguments close — or at the finish. Sequential calls (the common case) are never
//! held.
use simd_json::prelude::*;
use simd_json::tape::Value;

use super::wire;
use crate::ids;
use crate::ir::ErrorKind;
use crate::json::Scratch;
use crate::stream::decode::{INTERLEAVED, error_of, present, str_of};
use crate::stream::{Ctx, Event, Malformed};

/// Key for the deprecated single `function_call` delta.
const FUNCTION_CALL: u64 = u64::MAX;

#[derive(Debug, Default)]
pub(crate) struct ChatDecoder {
    seed: u64,
    started: bool,
    /// A `finish_reason` was seen (EOF may then end the stream).
    finished: bool,
    done: bool,
    /// Every call of the turn, in opening order (buffers reused across calls).
    calls: Vec<Call>,
    /// How many of `calls` are in use.
    n: usize,
    /// The call the last `ToolStart` opened.
    current: Option<usize>,
    /// The call the last tool delta touched (for deltas without `index`).
    last: Option<usize>,
    /// How many ids were made up.
    synthesized: u64,
}

#[derive(Debug, Default)]
struct Call {
    index: Option<u64>,
    id: String,
    /// `id` was made up (the upstream may still send the real one).
    made_up: bool,
    started: bool,
    /// Held behind an unfinished earlier call (its name is in `name`).
    queued: bool,
    name: String,
    /// Arguments not yet sent (before the name, or while held).
    pending: String,
    /// Where the arguments sent so far stand as JSON.
    depth: Depth,
}

/// Tracks whether streamed JSON text has closed its outermost value, byte by byte.
#[derive(Clone, Copy, Debug, Default)]
struct Depth {
    open: u32,
    in_str: bool,
    escaped: bool,
    seen: bool,
}

impl Depth {
    fn feed(&mut self, s: &str) {
        for b in s.bytes() {
            if self.in_str {
                match b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_str = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => self.in_str = true,
                b'{' | b'[' => {
                    self.open += 1;
                    self.seen = true;
                }
                b'}' | b']' => self.open = self.open.saturating_sub(1),
                _ => {}
            }
        }
    }

    fn complete(&self) -> bool {
        self.seen && self.open == 0 && !self.in_str
    }
}

/// One tool-call delta, borrowed from the tape.
struct Delta<'i> {
    index: Option<u64>,
    id: Option<&'i str>,
    name: Option<&'i str>,
    args: &'i str,
}

impl ChatDecoder {
    pub(crate) fn new(ctx: &Ctx<'_>) -> ChatDecoder {
        ChatDecoder {
            seed: ctx.seed,
            ..ChatDecoder::default()
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
        if data.trim_ascii().starts_with(b"[DONE]") {
            self.start("", "", emit);
            self.release(true, emit);
            self.done = true;
            emit(Event::End);
            return Ok(());
        }
        scratch
            .parse(data, |v| self.chunk(&v, emit))
            .map_err(|_| Malformed)?
    }

    pub(crate) fn eof(&mut self, emit: &mut dyn FnMut(Event<'_>)) {
        if self.finished && !self.done {
            self.release(true, emit);
            self.done = true;
            emit(Event::End);
        }
    }

    fn start(&mut self, id: &str, model: &str, emit: &mut dyn FnMut(Event<'_>)) {
        if !self.started {
            self.started = true;
            emit(Event::Start { id, model });
        }
    }

    fn chunk(
        &mut self,
        v: &Value<'_, '_>,
        emit: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), Malformed> {
        if !v.is_object() {
            return Err(Malformed);
        }
        if let Some(err) = present(v, "error") {
            let (kind, message) = error_of(&err);
            emit(Event::Error { kind, message });
            self.done = true;
            return Ok(());
        }
        // An empty object (a filler some servers send) starts nothing, so the id of the first
        // real chunk is not lost.
        if v.as_object().is_some_and(|o| o.is_empty()) {
            return Ok(());
        }
        self.start(
            str_of(v, "id").unwrap_or(""),
            str_of(v, "model").unwrap_or(""),
            emit,
        );
        if let Some(choices) = present(v, "choices") {
            let choices = choices.as_array().ok_or(Malformed)?;
            for c in choices.iter() {
                if c.get("index").and_then(|i| i.as_u64()).unwrap_or(0) == 0 {
                    self.choice(&c, emit)?;
                    if self.done {
                        return Ok(());
                    }
                }
            }
        }
        if let Some(u) = present(v, "usage") {
            emit(Event::Usage(wire::usage(u)));
        }
        Ok(())
    }

    fn choice(
        &mut self,
        c: &Value<'_, '_>,
        emit: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), Malformed> {
        if let Some(d) = present(c, "delta") {
            if !d.is_object() {
                return Err(Malformed);
            }
            // Vendors spell reasoning either way (some send both, with the same text).
            let reasoning = ["reasoning_content", "reasoning"]
                .iter()
                .find_map(|k| str_of(&d, k).filter(|t| !t.is_empty()));
            if let Some(t) = reasoning {
                emit(Event::Reasoning(t));
            }
            if let Some(t) = text_of(&d, "content")? {
                emit(Event::Text(t));
            }
            if let Some(t) = text_of(&d, "refusal")? {
                emit(Event::Refusal(t));
            }
            if let Some(calls) = present(&d, "tool_calls") {
                for tc in calls.as_array().ok_or(Malformed)?.iter() {
                    let f = present(&tc, "function");
                    let delta = Delta {
                        index: tc.get("index").and_then(|i| i.as_u64()),
                        id: str_of(&tc, "id").filter(|s| !s.is_empty()),
                        name: f
                            .as_ref()
                            .and_then(|f| str_of(f, "name"))
                            .filter(|s| !s.is_empty()),
                        args: f
                            .as_ref()
                            .and_then(|f| str_of(f, "arguments"))
                            .unwrap_or(""),
                    };
                    self.tool(&delta, emit);
                    if self.done {
                        return Ok(());
                    }
                }
            }
            if let Some(f) = present(&d, "function_call") {
                let delta = Delta {
                    index: Some(FUNCTION_CALL),
                    id: None,
                    name: str_of(&f, "name").filter(|s| !s.is_empty()),
                    args: str_of(&f, "arguments").unwrap_or(""),
                };
                self.tool(&delta, emit);
                if self.done {
                    return Ok(());
                }
            }
        }
        if let Some(reason) = present(c, "finish_reason") {
            let reason = reason.into_string().ok_or(Malformed)?;
            self.release(true, emit);
            if !self.finished {
                self.finished = true;
                emit(Event::Finish(wire::finish_from(reason)));
            }
        }
        Ok(())
    }

    /// Which call a delta belongs to, opening one when it starts a new call.
    fn slot(&mut self, d: &Delta<'_>) -> usize {
        let found = match d.index {
            Some(i) => self.calls[..self.n]
                .iter()
                .rposition(|c| c.index == Some(i)),
            None => self.last,
        };
        if let Some(k) = found {
            let c = &mut self.calls[k];
            match d.id {
                // The same index (or an unindexed delta) with a new id is a new call.
                Some(id) if !c.made_up && !c.id.is_empty() && c.id != id => {}
                Some(id) if c.id.is_empty() && !c.started => {
                    c.id.push_str(id);
                    return k;
                }
                _ => return k,
            }
        }
        if self.n == self.calls.len() {
            self.calls.push(Call::default());
        }
        let k = self.n;
        self.n += 1;
        let c = &mut self.calls[k];
        c.index = d.index;
        c.started = false;
        c.queued = false;
        c.made_up = false;
        c.id.clear();
        c.name.clear();
        c.pending.clear();
        c.depth = Depth::default();
        if let Some(id) = d.id {
            c.id.push_str(id);
        }
        k
    }

    fn tool(&mut self, d: &Delta<'_>, emit: &mut dyn FnMut(Event<'_>)) {
        let k = self.slot(d);
        self.last = Some(k);
        let busy = self
            .current
            .is_some_and(|c| c != k && !self.calls[c].depth.complete());
        let Some(c) = self.calls.get_mut(k) else {
            return;
        };
        if c.started {
            if d.args.is_empty() {
                return;
            }
            if self.current == Some(k) {
                c.depth.feed(d.args);
                emit(Event::ToolArgs(d.args));
                if c.depth.complete() {
                    self.release(false, emit);
                }
            } else {
                // More arguments for a call whose JSON had already closed.
                self.done = true;
                emit(Event::Error {
                    kind: ErrorKind::Server,
                    message: INTERLEAVED,
                });
            }
            return;
        }
        c.pending.push_str(d.args);
        if c.queued {
            return;
        }
        let Some(name) = d.name else {
            return;
        };
        c.name.clear();
        c.name.push_str(name);
        if busy {
            c.queued = true;
            return;
        }
        self.open(k, emit);
    }

    /// Sends `ToolStart` for call `k` and whatever arguments it holds.
    fn open(&mut self, k: usize, emit: &mut dyn FnMut(Event<'_>)) {
        let Some(c) = self.calls.get_mut(k) else {
            return;
        };
        if c.id.is_empty() {
            ids::synthesize("call_", self.seed, self.synthesized, &mut c.id);
            self.synthesized += 1;
            c.made_up = true;
        }
        c.started = true;
        c.queued = false;
        self.current = Some(k);
        emit(Event::ToolStart {
            id: &c.id,
            name: &c.name,
            namespace: None,
        });
        if !c.pending.is_empty() {
            c.depth.feed(&c.pending);
            emit(Event::ToolArgs(&c.pending));
            c.pending.clear();
        }
    }

    /// Releases held calls in opening order: while the current call's arguments are complete
    /// (or all of them, at the finish).
    fn release(&mut self, all: bool, emit: &mut dyn FnMut(Event<'_>)) {
        loop {
            if !all
                && self
                    .current
                    .is_some_and(|c| !self.calls[c].depth.complete())
            {
                return;
            }
            let Some(k) = self.calls[..self.n].iter().position(|c| c.queued) else {
                return;
            };
            self.open(k, emit);
        }
    }
}

/// A non-empty string member; `null`/absent/empty is `None`, another type is malformed.
fn text_of<'i>(v: &Value<'_, 'i>, key: &str) -> Result<Option<&'i str>, Malformed> {
    match present(v, key) {
        None => Ok(None),
        Some(t) => t
            .into_string()
            .map(|t| (!t.is_empty()).then_some(t))
            .ok_or(Malformed),
    }
}
