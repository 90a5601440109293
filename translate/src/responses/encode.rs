//! Encodes IR events as an OpenAI Responses stream for the caller
//! (docs/protocols.md#stream-encoders): `response.created` + `response.in_progress`, then one
//! output item at a time (message, function call, or reasoning summary) with its full lifecycle,
//! then — held until `End` — `response.completed` or `response.incomplete` carrying every item and
//! the usage. Every event has a `sequence_number` counting from 0 (E14).
//!
//! Reasoning becomes a `reasoning` item with a summary only (no `encrypted_content`: a
//! translator cannot mint one). Finished items are kept as rendered JSON in one reused buffer
//! for the terminal event; the open item's text or arguments in another.

use bytes::{BufMut, BytesMut};

use super::{frames, wire};
use crate::ids;
use crate::ir::{ErrorKind, Finish, Usage};
use crate::json::push_json_str;
use crate::stream::encode::{fill_model, put_str, put_u64, set_id};
use crate::stream::{Ctx, Event};

/// The open output item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Item {
    None,
    Message,
    Call,
    Reasoning,
}

/// The open content part of a message item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    None,
    Text,
    Refusal,
}

#[derive(Debug)]
pub(crate) struct ResponsesEncoder {
    /// `resp_…`, set on `Start`.
    id: String,
    model: String,
    created: u64,
    seed: u64,
    started: bool,
    seq: u64,
    item: Item,
    /// Items added so far; the open item's `output_index` is one less.
    items: u64,
    item_id: String,
    call_id: String,
    name: String,
    /// The open call's `namespace` (empty: none).
    namespace: String,
    part: Part,
    /// Parts closed in the open message item (the open part's `content_index`).
    parts_done: u64,
    /// The open part's text, the open call's arguments or the open summary's text.
    text: String,
    /// The open message item's finished parts, as JSON joined by commas.
    parts: Vec<u8>,
    /// Finished output items, as JSON joined by commas.
    output: Vec<u8>,
    called: bool,
    finish: Finish,
    usage: Usage,
    ended: bool,
}

impl ResponsesEncoder {
    pub(crate) fn new(ctx: &Ctx<'_>) -> ResponsesEncoder {
        ResponsesEncoder {
            id: String::with_capacity(64),
            model: ctx.model.to_owned(),
            created: ctx.created,
            seed: ctx.seed,
            started: false,
            seq: 0,
            item: Item::None,
            items: 0,
            item_id: String::with_capacity(32),
            call_id: String::with_capacity(64),
            name: String::new(),
            namespace: String::new(),
            part: Part::None,
            parts_done: 0,
            text: String::new(),
            parts: Vec::new(),
            output: Vec::new(),
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
            Event::Start { .. } | Event::ReasoningSignature(_) => {}
            Event::Text(t) => self.part_delta(out, Part::Text, t),
            Event::Refusal(t) => self.part_delta(out, Part::Refusal, t),
            Event::Reasoning(t) => {
                if self.item != Item::Reasoning {
                    self.close_item(out);
                    self.open_item(out, Item::Reasoning, "rs_");
                    self.head(out, "response.reasoning_summary_part.added");
                    self.item_ref(out);
                    out.extend_from_slice(
                        b",\"summary_index\":0,\"part\":{\"type\":\"summary_text\",\"text\":\"\"}}\n\n",
                    );
                }
                self.head(out, "response.reasoning_summary_text.delta");
                self.item_ref(out);
                out.extend_from_slice(b",\"summary_index\":0,\"delta\":");
                put_str(out, t);
                out.extend_from_slice(b"}\n\n");
                self.text.push_str(t);
            }
            Event::ToolStart {
                id,
                name,
                namespace,
            } => {
                self.close_item(out);
                self.called = true;
                self.call_id.clear();
                self.call_id.push_str(&ids::wire_safe(id));
                self.name.clear();
                self.name.push_str(name);
                self.namespace.clear();
                self.namespace.push_str(namespace.unwrap_or_default());
                self.open_item(out, Item::Call, "fc_");
            }
            Event::ToolArgs(a) => {
                if self.item == Item::Call && !a.is_empty() {
                    self.head(out, "response.function_call_arguments.delta");
                    self.item_ref(out);
                    out.extend_from_slice(b",\"delta\":");
                    put_str(out, a);
                    out.extend_from_slice(b"}\n\n");
                    self.text.push_str(a);
                }
            }
            Event::Usage(u) => self.usage = u,
            Event::Finish(f) => self.finish = f,
            Event::End => self.end(out),
            Event::Error { kind, message } => self.fail(kind, message, out),
        }
    }

    /// After commit: `response.failed` with the items finished so far.
    pub(crate) fn fail(&mut self, kind: ErrorKind, message: &str, out: &mut BytesMut) {
        if self.ended {
            return;
        }
        self.ended = true;
        if !self.started {
            set_id(&mut self.id, "resp_", "", self.seed);
        }
        frames::failed(
            out,
            &frames::Failed {
                seq: self.seq,
                id: &self.id,
                created_at: self.created,
                model: &self.model,
                output: &self.output,
            },
            kind,
            message,
        );
        self.seq += 1;
    }

    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    pub(crate) fn start(&mut self, id: &str, model: &str, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        set_id(&mut self.id, "resp_", id, self.seed);
        fill_model(&mut self.model, model);
        for ty in ["response.created", "response.in_progress"] {
            self.head(out, ty);
            out.extend_from_slice(b",\"response\":");
            self.snapshot(out, "in_progress", None, false);
            out.extend_from_slice(b"}\n\n");
        }
    }

    fn end(&mut self, out: &mut BytesMut) {
        self.close_item(out);
        self.ended = true;
        let (status, reason) = wire::finish_status(self.finish.settle(self.called));
        let ty = if reason.is_some() {
            "response.incomplete"
        } else {
            "response.completed"
        };
        self.head(out, ty);
        out.extend_from_slice(b",\"response\":");
        self.snapshot(out, status, reason, true);
        out.extend_from_slice(b"}\n\n");
    }

    /// A text or refusal delta into the message item, opening the item and part as needed.
    fn part_delta(&mut self, out: &mut BytesMut, part: Part, t: &str) {
        if self.item != Item::Message {
            self.close_item(out);
            self.open_item(out, Item::Message, "msg_");
        }
        if self.part != part {
            self.close_part(out);
            self.part = part;
            self.head(out, "response.content_part.added");
            self.part_ref(out);
            out.extend_from_slice(b",\"part\":");
            part_json(out, part, "");
            out.extend_from_slice(b"}\n\n");
        }
        let ty = match part {
            Part::Refusal => "response.refusal.delta",
            _ => "response.output_text.delta",
        };
        self.head(out, ty);
        self.part_ref(out);
        out.extend_from_slice(b",\"delta\":");
        put_str(out, t);
        if part == Part::Text {
            out.extend_from_slice(b",\"logprobs\":[]");
        }
        out.extend_from_slice(b"}\n\n");
        self.text.push_str(t);
    }

    /// Ends the open content part of the message item (if any), keeping its final JSON.
    fn close_part(&mut self, out: &mut BytesMut) {
        let part = self.part;
        let (done, field) = match part {
            Part::None => return,
            Part::Text => ("response.output_text.done", "text"),
            Part::Refusal => ("response.refusal.done", "refusal"),
        };
        self.head(out, done);
        self.part_ref(out);
        out.extend_from_slice(b",\"");
        out.extend_from_slice(field.as_bytes());
        out.extend_from_slice(b"\":");
        put_str(out, &self.text);
        if part == Part::Text {
            out.extend_from_slice(b",\"logprobs\":[]");
        }
        out.extend_from_slice(b"}\n\n");
        self.head(out, "response.content_part.done");
        self.part_ref(out);
        out.extend_from_slice(b",\"part\":");
        part_json(out, part, &self.text);
        out.extend_from_slice(b"}\n\n");
        if !self.parts.is_empty() {
            self.parts.push(b',');
        }
        part_json(&mut self.parts, part, &self.text);
        self.text.clear();
        self.part = Part::None;
        self.parts_done += 1;
    }

    /// Starts a new output item: `output_item.added` with its in-progress form.
    fn open_item(&mut self, out: &mut BytesMut, item: Item, prefix: &str) {
        self.items += 1;
        self.item = item;
        self.text.clear();
        ids::synthesize(prefix, self.seed, self.items, &mut self.item_id);
        self.head(out, "response.output_item.added");
        out.extend_from_slice(b",\"output_index\":");
        put_u64(out, self.items - 1);
        out.extend_from_slice(b",\"item\":");
        self.render_item(out, false);
        out.extend_from_slice(b"}\n\n");
    }

    /// Ends the open item's lifecycle and keeps its final JSON for the terminal event.
    fn close_item(&mut self, out: &mut BytesMut) {
        match self.item {
            Item::None => return,
            Item::Message => self.close_part(out),
            Item::Call => {
                self.head(out, "response.function_call_arguments.done");
                self.item_ref(out);
                out.extend_from_slice(b",\"name\":");
                put_str(out, &self.name);
                out.extend_from_slice(b",\"arguments\":");
                put_str(out, &self.text);
                out.extend_from_slice(b"}\n\n");
            }
            Item::Reasoning => {
                self.head(out, "response.reasoning_summary_text.done");
                self.item_ref(out);
                out.extend_from_slice(b",\"summary_index\":0,\"text\":");
                put_str(out, &self.text);
                out.extend_from_slice(b"}\n\n");
                self.head(out, "response.reasoning_summary_part.done");
                self.item_ref(out);
                out.extend_from_slice(b",\"summary_index\":0,\"part\":");
                part_json(out, Part::None, &self.text);
                out.extend_from_slice(b"}\n\n");
            }
        }
        let mut output = std::mem::take(&mut self.output);
        if !output.is_empty() {
            output.push(b',');
        }
        let mark = output.len();
        self.render_item(&mut output, true);
        self.head(out, "response.output_item.done");
        out.extend_from_slice(b",\"output_index\":");
        put_u64(out, self.items - 1);
        out.extend_from_slice(b",\"item\":");
        out.extend_from_slice(output.get(mark..).unwrap_or_default());
        out.extend_from_slice(b"}\n\n");
        self.output = output;
        self.item = Item::None;
        self.parts.clear();
        self.parts_done = 0;
        self.text.clear();
    }

    /// The open item as JSON: in progress (empty) or completed (with its content).
    fn render_item<B: BufMut>(&self, b: &mut B, done: bool) {
        let status: &[u8] = if done { b"completed" } else { b"in_progress" };
        b.put_slice(b"{\"id\":");
        push_json_str(b, &self.item_id);
        match self.item {
            Item::None | Item::Message => {
                b.put_slice(b",\"type\":\"message\",\"status\":\"");
                b.put_slice(status);
                b.put_slice(b"\",\"role\":\"assistant\",\"content\":[");
                if done {
                    b.put_slice(&self.parts);
                }
                b.put_slice(b"]}");
            }
            Item::Call => {
                b.put_slice(b",\"type\":\"function_call\",\"status\":\"");
                b.put_slice(status);
                b.put_slice(b"\",\"call_id\":");
                push_json_str(b, &self.call_id);
                b.put_slice(b",\"name\":");
                push_json_str(b, &self.name);
                if !self.namespace.is_empty() {
                    b.put_slice(b",\"namespace\":");
                    push_json_str(b, &self.namespace);
                }
                b.put_slice(b",\"arguments\":");
                push_json_str(b, if done { self.text.as_str() } else { "" });
                b.put_u8(b'}');
            }
            Item::Reasoning => {
                b.put_slice(b",\"type\":\"reasoning\",\"summary\":[");
                if done {
                    part_json(b, Part::None, &self.text);
                }
                b.put_slice(b"]}");
            }
        }
    }

    /// `event: <ty>\ndata: {"type":<ty>,"sequence_number":n` (the caller finishes the object).
    fn head(&mut self, out: &mut BytesMut, ty: &str) {
        frames::event_head(out, ty, self.seq);
        self.seq += 1;
    }

    /// `,"item_id":…,"output_index":…` for the open item.
    fn item_ref(&self, out: &mut BytesMut) {
        out.extend_from_slice(b",\"item_id\":");
        put_str(out, &self.item_id);
        out.extend_from_slice(b",\"output_index\":");
        put_u64(out, self.items.saturating_sub(1));
    }

    /// [`Self::item_ref`] plus the open part's `content_index`.
    fn part_ref(&self, out: &mut BytesMut) {
        self.item_ref(out);
        out.extend_from_slice(b",\"content_index\":");
        put_u64(out, self.parts_done);
    }

    /// The Response object: `status`, the optional incomplete reason, and — for terminal
    /// events only — the finished items and usage.
    fn snapshot(&self, out: &mut BytesMut, status: &str, incomplete: Option<&str>, terminal: bool) {
        frames::snapshot(
            out,
            &frames::Snapshot {
                id: &self.id,
                created_at: self.created,
                model: &self.model,
                status,
                incomplete,
                error: None,
                output: if terminal { &self.output } else { b"" },
                usage: terminal.then_some(&self.usage),
            },
        );
    }
}

/// A content part (`output_text` / `refusal`) or, for [`Part::None`], a reasoning
/// `summary_text` part, with `text`.
fn part_json<B: BufMut>(b: &mut B, part: Part, text: &str) {
    match part {
        Part::Text => {
            b.put_slice(b"{\"type\":\"output_text\",\"text\":");
            push_json_str(b, text);
            b.put_slice(b",\"annotations\":[],\"logprobs\":[]}");
        }
        Part::Refusal => {
            b.put_slice(b"{\"type\":\"refusal\",\"refusal\":");
            push_json_str(b, text);
            b.put_u8(b'}');
        }
        Part::None => {
            b.put_slice(b"{\"type\":\"summary_text\",\"text\":");
            push_json_str(b, text);
            b.put_u8(b'}');
        }
    }
}
