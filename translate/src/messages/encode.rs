//! Encodes IR events as an Anthropic Messages stream for the caller
//! (docs/protocols.md#stream-encoders): `message_start`, content blocks numbered 0,1,2… with
//! exactly one open at a time, then — held until `End` — `message_delta` (stop reason after the
//! tool-call latch, usage) and `message_stop`. Reasoning becomes a `thinking` block only when an
//! Anthropic signature arrives for it; unsigned reasoning is dropped (E27).

use bytes::BytesMut;

use super::{frames, wire};
use crate::ids;
use crate::ir::{ErrorKind, Finish, Usage};
use crate::stream::encode::{fill_model, put_event, put_str, put_u64, set_id};
use crate::stream::{Ctx, Event};

/// The kind of the open content block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    None,
    Text,
    Thinking,
    Tool,
}

#[derive(Debug)]
pub(crate) struct MessagesEncoder {
    /// `msg_…`, set on `Start`.
    id: String,
    model: String,
    seed: u64,
    started: bool,
    open: Block,
    /// The index the next block gets.
    next: u64,
    /// Reasoning text waiting for its signature (dropped if none comes).
    thinking: String,
    called: bool,
    finish: Finish,
    usage: Usage,
    ended: bool,
}

impl MessagesEncoder {
    pub(crate) fn new(ctx: &Ctx<'_>) -> MessagesEncoder {
        MessagesEncoder {
            id: String::with_capacity(64),
            model: ctx.model.to_owned(),
            seed: ctx.seed,
            started: false,
            open: Block::None,
            next: 0,
            thinking: String::new(),
            called: false,
            finish: Finish::Stop,
            usage: Usage::default(),
            ended: false,
        }
    }

    /// One event after the shared opening ([`crate::stream::encode::Encoder::event`] has started the stream and
    /// checked that it has not ended).
    pub(crate) fn content(&mut self, ev: &Event<'_>, out: &mut BytesMut) {
        match *ev {
            Event::Start { .. } => {}
            Event::Text(t) | Event::Refusal(t) => {
                self.thinking.clear();
                if self.open != Block::Text {
                    self.close(out);
                    self.open_block(out, Block::Text);
                    out.extend_from_slice(b"{\"type\":\"text\",\"text\":\"\"}}\n\n");
                }
                self.delta(out, b"{\"type\":\"text_delta\",\"text\":", t);
            }
            Event::Reasoning(t) => self.thinking.push_str(t),
            Event::ReasoningSignature(sig) => {
                self.close(out);
                self.open_block(out, Block::Thinking);
                out.extend_from_slice(b"{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n");
                if !self.thinking.is_empty() {
                    self.delta(
                        out,
                        b"{\"type\":\"thinking_delta\",\"thinking\":",
                        &self.thinking,
                    );
                    self.thinking.clear();
                }
                self.delta(out, b"{\"type\":\"signature_delta\",\"signature\":", sig);
                self.close(out);
            }
            Event::ToolStart { id, name, .. } => {
                self.thinking.clear();
                self.close(out);
                self.called = true;
                self.open_block(out, Block::Tool);
                out.extend_from_slice(b"{\"type\":\"tool_use\",\"id\":");
                put_str(out, &ids::wire_safe(id));
                out.extend_from_slice(b",\"name\":");
                put_str(out, name);
                out.extend_from_slice(b",\"input\":{}}}\n\n");
            }
            Event::ToolArgs(a) => {
                if self.open == Block::Tool && !a.is_empty() {
                    self.delta(out, b"{\"type\":\"input_json_delta\",\"partial_json\":", a);
                }
            }
            Event::Usage(u) => self.usage = u,
            Event::Finish(f) => self.finish = f,
            Event::End => self.end(out),
            Event::Error { kind, message } => self.fail(kind, message, out),
        }
    }

    pub(crate) fn fail(&mut self, kind: ErrorKind, message: &str, out: &mut BytesMut) {
        if self.ended {
            return;
        }
        self.ended = true;
        frames::stream_error(out, kind, message);
    }

    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    pub(crate) fn start(&mut self, id: &str, model: &str, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        set_id(&mut self.id, "msg_", id, self.seed);
        fill_model(&mut self.model, model);
        put_event(out, "message_start");
        out.extend_from_slice(b"{\"type\":\"message_start\",\"message\":{\"id\":");
        put_str(out, &self.id);
        out.extend_from_slice(b",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
        put_str(out, &self.model);
        out.extend_from_slice(
            b",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":",
        );
        put_u64(out, self.usage.uncached_input());
        out.extend_from_slice(b",\"output_tokens\":0}}}\n\n");
    }

    fn end(&mut self, out: &mut BytesMut) {
        self.ended = true;
        self.thinking.clear();
        self.close(out);
        let stop = wire::finish_name(self.finish.settle(self.called));
        let u = self.usage;
        put_event(out, "message_delta");
        out.extend_from_slice(b"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":");
        put_str(out, stop);
        out.extend_from_slice(b",\"stop_sequence\":null},\"usage\":");
        wire::write_usage(out, &u);
        out.extend_from_slice(b"}\n\n");
        put_event(out, "message_stop");
        out.extend_from_slice(b"{\"type\":\"message_stop\"}\n\n");
    }

    /// `content_block_start` for the next index, up to its `content_block` (the caller writes
    /// the block and `}\n\n`).
    fn open_block(&mut self, out: &mut BytesMut, kind: Block) {
        let index = self.next;
        self.next += 1;
        self.open = kind;
        put_event(out, "content_block_start");
        out.extend_from_slice(b"{\"type\":\"content_block_start\",\"index\":");
        put_u64(out, index);
        out.extend_from_slice(b",\"content_block\":");
    }

    /// A `content_block_delta` for the open block: `pre` + `s` as a JSON string + `}`.
    fn delta(&self, out: &mut BytesMut, pre: &[u8], s: &str) {
        put_event(out, "content_block_delta");
        out.extend_from_slice(b"{\"type\":\"content_block_delta\",\"index\":");
        put_u64(out, self.next.saturating_sub(1));
        out.extend_from_slice(b",\"delta\":");
        out.extend_from_slice(pre);
        put_str(out, s);
        out.extend_from_slice(b"}}\n\n");
    }

    /// `content_block_stop` for the open block, if any.
    fn close(&mut self, out: &mut BytesMut) {
        if self.open == Block::None {
            return;
        }
        self.open = Block::None;
        put_event(out, "content_block_stop");
        out.extend_from_slice(b"{\"type\":\"content_block_stop\",\"index\":");
        put_u64(out, self.next.saturating_sub(1));
        out.extend_from_slice(b"}\n\n");
    }
}
