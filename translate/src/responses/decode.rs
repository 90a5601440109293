//! Decodes an OpenAI Responses upstream stream into IR events (docs/protocols.md#stream-decoders;
//! E5, E6, E10 in docs/translation-cases.md).
//!
//! Dispatch is on the data's `type` (falling back to the `event:` name); unknown types are
//! ignored. Argument deltas name the item (`fc_…`), so each call's item id is kept to find it;
//! the caller sees the `call_id`. When a call streamed no deltas its arguments come from
//! `function_call_arguments.done` or `output_item.done`. The terminal events carry the usage.

use simd_json::prelude::*;
use simd_json::tape::Value;

use super::wire;
use crate::ids;
use crate::ir::{ErrorKind, Finish};
use crate::json::Scratch;
use crate::stream::decode::{INTERLEAVED, error_of, present, str_of};
use crate::stream::{Ctx, Event, Malformed};

#[derive(Debug, Default)]
pub(crate) struct ResponsesDecoder {
    seed: u64,
    started: bool,
    done: bool,
    /// Every function-call item of the response, in order (buffers reused).
    calls: Vec<Call>,
    n: usize,
    /// The call the last `ToolStart` opened.
    current: Option<usize>,
    /// How many call ids were made up, and the last one.
    synthesized: u64,
    id: String,
}

#[derive(Debug, Default)]
struct Call {
    /// The item id (`fc_…`) the argument events name.
    item: String,
    /// Argument text was already sent for this call.
    seen: bool,
}

impl ResponsesDecoder {
    pub(crate) fn new(ctx: &Ctx<'_>) -> ResponsesDecoder {
        ResponsesDecoder {
            seed: ctx.seed,
            ..ResponsesDecoder::default()
        }
    }

    pub(crate) fn event(
        &mut self,
        name: Option<&[u8]>,
        data: &[u8],
        scratch: &mut Scratch,
        emit: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), Malformed> {
        if self.done {
            return Ok(());
        }
        scratch
            .parse(data, |v| self.dispatch(name, &v, emit))
            .map_err(|_| Malformed)?
    }

    /// No terminal event before the end of the body is a cut: nothing to emit.
    pub(crate) fn eof(&mut self, _emit: &mut dyn FnMut(Event<'_>)) {}

    fn start(&mut self, response: Option<&Value<'_, '_>>, emit: &mut dyn FnMut(Event<'_>)) {
        if !self.started {
            self.started = true;
            emit(Event::Start {
                id: response.and_then(|r| str_of(r, "id")).unwrap_or(""),
                model: response.and_then(|r| str_of(r, "model")).unwrap_or(""),
            });
        }
    }

    fn dispatch(
        &mut self,
        name: Option<&[u8]>,
        v: &Value<'_, '_>,
        emit: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), Malformed> {
        if !v.is_object() {
            return Err(Malformed);
        }
        let kind: &[u8] = match str_of(v, "type") {
            Some(t) => t.as_bytes(),
            None => name.filter(|n| !n.is_empty()).ok_or(Malformed)?,
        };
        let response = present(v, "response");
        match kind {
            b"error" => {
                let (kind, message) = match present(v, "error") {
                    Some(e) => error_of(&e),
                    None => error_of(v),
                };
                self.done = true;
                emit(Event::Error { kind, message });
                return Ok(());
            }
            b"response.failed" => {
                let (kind, message) = match response.as_ref().and_then(|r| present(r, "error")) {
                    Some(e) => error_of(&e),
                    None => (ErrorKind::Server, ""),
                };
                let message = if message.is_empty() {
                    "the upstream response failed"
                } else {
                    message
                };
                self.done = true;
                emit(Event::Error { kind, message });
                return Ok(());
            }
            _ => {}
        }
        const KNOWN: [&[u8]; 13] = [
            b"response.created",
            b"response.in_progress",
            b"response.queued",
            b"response.output_text.delta",
            b"response.refusal.delta",
            b"response.reasoning_summary_text.delta",
            b"response.reasoning_text.delta",
            b"response.output_item.added",
            b"response.function_call_arguments.delta",
            b"response.function_call_arguments.done",
            b"response.output_item.done",
            b"response.completed",
            b"response.incomplete",
        ];
        // Lifecycle, content parts, `.done` texts, annotations, hosted tools, new types.
        if !KNOWN.contains(&kind) {
            return Ok(());
        }
        self.start(response.as_ref(), emit);
        let text = |key| str_of(v, key).filter(|t: &&str| !t.is_empty());
        match kind {
            b"response.output_text.delta" => {
                if let Some(t) = text("delta") {
                    emit(Event::Text(t));
                }
            }
            b"response.refusal.delta" => {
                if let Some(t) = text("delta") {
                    emit(Event::Refusal(t));
                }
            }
            b"response.reasoning_summary_text.delta" | b"response.reasoning_text.delta" => {
                if let Some(t) = text("delta") {
                    emit(Event::Reasoning(t));
                }
            }
            b"response.output_item.added" => {
                let item = present(v, "item").ok_or(Malformed)?;
                if str_of(&item, "type") == Some("function_call") {
                    self.open(&item, emit);
                }
            }
            b"response.function_call_arguments.delta" => {
                if let Some(k) = self.find(str_of(v, "item_id")) {
                    self.args(k, text("delta"), true, emit);
                }
            }
            b"response.function_call_arguments.done" => {
                if let Some(k) = self.find(str_of(v, "item_id")) {
                    self.args(k, text("arguments"), false, emit);
                }
            }
            b"response.output_item.done" => {
                let item = present(v, "item").ok_or(Malformed)?;
                if str_of(&item, "type") == Some("function_call") {
                    match self.find(str_of(&item, "id")) {
                        Some(k) => {
                            let a = str_of(&item, "arguments").filter(|t| !t.is_empty());
                            self.args(k, a, false, emit);
                        }
                        // A call that was never announced: start it now, whole.
                        None => self.open(&item, emit),
                    }
                }
            }
            b"response.completed" | b"response.incomplete" => {
                let r = response.ok_or(Malformed)?;
                if let Some(u) = present(&r, "usage") {
                    emit(Event::Usage(wire::usage(u)));
                }
                let status = if kind == b"response.completed" {
                    "completed"
                } else {
                    "incomplete"
                };
                let reason = present(&r, "incomplete_details").and_then(|d| str_of(&d, "reason"));
                let finish = wire::finish_from(status, reason).unwrap_or(Finish::Other);
                emit(Event::Finish(finish));
                self.done = true;
                emit(Event::End);
            }
            _ => {}
        }
        Ok(())
    }

    /// Starts a function call from its item (with its arguments when the item has them).
    fn open(&mut self, item: &Value<'_, '_>, emit: &mut dyn FnMut(Event<'_>)) {
        if self.n == self.calls.len() {
            self.calls.push(Call::default());
        }
        let k = self.n;
        self.n += 1;
        let Some(c) = self.calls.get_mut(k) else {
            return;
        };
        c.item.clear();
        c.item.push_str(str_of(item, "id").unwrap_or(""));
        c.seen = false;
        self.current = Some(k);
        let name = str_of(item, "name").unwrap_or("");
        match str_of(item, "call_id").filter(|id| !id.is_empty()) {
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
        let a = str_of(item, "arguments").filter(|t| !t.is_empty());
        self.args(k, a, false, emit);
    }

    /// The call whose item id is `item` (the current call when the event names none).
    fn find(&self, item: Option<&str>) -> Option<usize> {
        match item {
            Some(id) => self.calls[..self.n].iter().rposition(|c| c.item == id),
            None => self.current,
        }
    }

    /// Argument text for call `k`: a delta always, a whole `.done` text only if no delta came.
    fn args(&mut self, k: usize, text: Option<&str>, delta: bool, emit: &mut dyn FnMut(Event<'_>)) {
        let Some(t) = text else { return };
        let Some(c) = self.calls.get_mut(k) else {
            return;
        };
        if c.seen && !delta {
            return;
        }
        c.seen = true;
        if self.current == Some(k) {
            emit(Event::ToolArgs(t));
        } else {
            self.done = true;
            emit(Event::Error {
                kind: ErrorKind::Server,
                message: INTERLEAVED,
            });
        }
    }
}
