//! Decodes an Anthropic Messages upstream stream into IR events (docs/protocols.md#stream-decoders;
//! E3, E13 in docs/translation-cases.md).
//!
//! Dispatch is on the `event:` name (falling back to the data's `type`); `ping` and unknown
//! events are ignored. Block kinds are tracked per index so deltas land on the right kind.
//! Usage is cumulative: `message_start` gives the input side, each `message_delta` assigns
//! (never adds) what it carries.

use simd_json::prelude::*;
use simd_json::tape::Value;

use super::wire;
use crate::ids;
use crate::ir::{ErrorKind, Finish, Usage};
use crate::json::Scratch;
use crate::stream::decode::{INTERLEAVED, error_of, present, str_of};
use crate::stream::{Ctx, Event, Malformed};

/// The most content blocks one message may have (a guard against absurd indices).
const MAX_BLOCKS: u64 = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    Text,
    Thinking,
    Tool,
    /// Redacted thinking, server tools, anything else: deltas are ignored.
    Other,
}

#[derive(Debug, Default)]
pub(crate) struct MessagesDecoder {
    seed: u64,
    started: bool,
    done: bool,
    finished: bool,
    usage: Usage,
    /// Kind of each block by index.
    blocks: Vec<Option<Block>>,
    /// The index of the last `tool_use` block started.
    current_tool: Option<u64>,
    /// How many tool ids were made up, and the last one.
    synthesized: u64,
    id: String,
}

impl MessagesDecoder {
    pub(crate) fn new(ctx: &Ctx<'_>) -> MessagesDecoder {
        MessagesDecoder {
            seed: ctx.seed,
            ..MessagesDecoder::default()
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

    pub(crate) fn eof(&mut self, _emit: &mut dyn FnMut(Event<'_>)) {}

    fn start(&mut self, id: &str, model: &str, emit: &mut dyn FnMut(Event<'_>)) {
        if !self.started {
            self.started = true;
            emit(Event::Start { id, model });
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
        let kind: &[u8] = match name {
            Some(n) if !n.is_empty() => n,
            _ => str_of(v, "type").ok_or(Malformed)?.as_bytes(),
        };
        match kind {
            b"message_start" => {
                let m = present(v, "message").ok_or(Malformed)?;
                self.start(
                    str_of(&m, "id").unwrap_or(""),
                    str_of(&m, "model").unwrap_or(""),
                    emit,
                );
                if let Some(u) = present(&m, "usage") {
                    self.assign_usage(u);
                    emit(Event::Usage(self.usage));
                }
            }
            b"content_block_start" => {
                self.start("", "", emit);
                let index = v.get("index").and_then(|i| i.as_u64()).ok_or(Malformed)?;
                let b = present(v, "content_block").ok_or(Malformed)?;
                let block = match str_of(&b, "type") {
                    Some("text") => Block::Text,
                    Some("thinking") => Block::Thinking,
                    Some("tool_use") => Block::Tool,
                    _ => Block::Other,
                };
                self.set_block(index, block)?;
                match block {
                    Block::Text => {
                        if let Some(t) = str_of(&b, "text").filter(|t| !t.is_empty()) {
                            emit(Event::Text(t));
                        }
                    }
                    Block::Thinking => {
                        if let Some(t) = str_of(&b, "thinking").filter(|t| !t.is_empty()) {
                            emit(Event::Reasoning(t));
                        }
                    }
                    Block::Tool => {
                        self.current_tool = Some(index);
                        let name = str_of(&b, "name").unwrap_or("");
                        match str_of(&b, "id").filter(|id| !id.is_empty()) {
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
                    }
                    Block::Other => {}
                }
            }
            b"content_block_delta" => {
                self.start("", "", emit);
                let index = v.get("index").and_then(|i| i.as_u64()).ok_or(Malformed)?;
                let d = present(v, "delta").ok_or(Malformed)?;
                self.delta(index, &d, emit)?;
            }
            b"message_delta" => {
                self.start("", "", emit);
                let reason = present(v, "delta").and_then(|d| str_of(&d, "stop_reason"));
                if let Some(r) = reason
                    && !self.finished
                {
                    self.finished = true;
                    emit(Event::Finish(wire::finish_from(r)));
                }
                if let Some(u) = present(v, "usage") {
                    self.assign_usage(u);
                    emit(Event::Usage(self.usage));
                }
            }
            b"message_stop" => {
                self.start("", "", emit);
                if !self.finished {
                    self.finished = true;
                    emit(Event::Finish(Finish::Stop));
                }
                self.done = true;
                emit(Event::End);
            }
            b"error" => {
                let (kind, message) = match present(v, "error") {
                    Some(e) => error_of(&e),
                    None => (ErrorKind::Server, str_of(v, "message").unwrap_or("")),
                };
                self.done = true;
                emit(Event::Error { kind, message });
            }
            // `ping`, `content_block_stop` and anything new.
            _ => {}
        }
        Ok(())
    }

    fn set_block(&mut self, index: u64, block: Block) -> Result<(), Malformed> {
        if index >= MAX_BLOCKS {
            return Err(Malformed);
        }
        let i = usize::try_from(index).map_err(|_| Malformed)?;
        if self.blocks.len() <= i {
            self.blocks.resize(i + 1, None);
        }
        if let Some(slot) = self.blocks.get_mut(i) {
            *slot = Some(block);
        }
        Ok(())
    }

    fn delta(
        &mut self,
        index: u64,
        d: &Value<'_, '_>,
        emit: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), Malformed> {
        let block = usize::try_from(index)
            .ok()
            .and_then(|i| self.blocks.get(i).copied().flatten());
        let text = |key| str_of(d, key).filter(|t: &&str| !t.is_empty());
        match str_of(d, "type").ok_or(Malformed)? {
            "text_delta" => {
                if let Some(t) = text("text") {
                    emit(Event::Text(t));
                }
            }
            "thinking_delta" => {
                if let Some(t) = text("thinking") {
                    emit(Event::Reasoning(t));
                }
            }
            "signature_delta" => {
                if let Some(t) = text("signature") {
                    emit(Event::ReasoningSignature(t));
                }
            }
            "input_json_delta" if block == Some(Block::Tool) => {
                if let Some(t) = text("partial_json") {
                    if self.current_tool == Some(index) {
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
            // Citations, server-tool input, and anything new.
            _ => {}
        }
        Ok(())
    }

    /// Assigns the fields `u` carries (docs/translation-cases.md E3).
    fn assign_usage(&mut self, u: Value<'_, '_>) {
        wire::UsageFields::read(u).apply(&mut self.usage);
    }
}
