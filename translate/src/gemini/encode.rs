//! Encodes IR events as a Gemini `streamGenerateContent` stream for the caller
//! (docs/protocols.md#stream-encoders): one `GenerateContentResponse` per text/thought delta, tool
//! calls buffered and emitted whole, then — held until `End` — a final chunk with `finishReason`
//! and `usageMetadata`. SSE (`alt=sse`: `data: …` frames only — no comments, `event:` lines or
//! `[DONE]`, E30/E34) or, without `alt=sse`, one JSON array (E35).
//!
//! A call's accumulated arguments must parse as a JSON object (Gemini's `args` is a Struct).
//! When they do not, the stream is failed with a Gemini error frame rather than emitting a
//! half or invented object (E36).

use bytes::BytesMut;

use super::frames::{self, Framing};
use super::wire;
use crate::ir::{ErrorKind, Finish, Usage};
use crate::json::PooledScratch;
use crate::stream::encode::{fill_model, put_str};
use crate::stream::{Ctx, Event};

#[derive(Debug)]
pub(crate) struct GeminiEncoder {
    /// `responseId`: the upstream's id, or a made-up one.
    id: String,
    model: String,
    seed: u64,
    framing: Framing,
    started: bool,
    /// A call is buffered in `call_id`/`call_name`/`args`.
    pending: bool,
    call_id: String,
    call_name: String,
    args: String,
    called: bool,
    finish: Finish,
    usage: Usage,
    ended: bool,
    /// Ended by an error frame (also when the encoder itself refused invalid arguments).
    failed: bool,
}

impl GeminiEncoder {
    pub(crate) fn new(ctx: &Ctx<'_>) -> GeminiEncoder {
        GeminiEncoder {
            id: String::with_capacity(32),
            model: ctx.model.to_owned(),
            seed: ctx.seed,
            framing: Framing::new(ctx.json_array),
            started: false,
            pending: false,
            call_id: String::new(),
            call_name: String::new(),
            args: String::new(),
            failed: false,
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
            Event::Text(t) | Event::Refusal(t) => {
                if self.flush(out) {
                    self.text_chunk(out, t, false);
                }
            }
            Event::Reasoning(t) => {
                if self.flush(out) {
                    self.text_chunk(out, t, true);
                }
            }
            Event::ToolStart { id, name, .. } => {
                if self.flush(out) {
                    self.pending = true;
                    self.called = true;
                    self.call_id.clear();
                    self.call_id.push_str(id);
                    self.call_name.clear();
                    self.call_name.push_str(name);
                    self.args.clear();
                }
            }
            Event::ToolArgs(a) => {
                if self.pending {
                    self.args.push_str(a);
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
        self.failed = true;
        frames::stream_error(out, &mut self.framing, kind, message);
    }

    pub(crate) fn failed(&self) -> bool {
        self.failed
    }

    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// Gemini has no opening frame: only remember the ids.
    pub(crate) fn start(&mut self, id: &str, model: &str) {
        if self.started {
            return;
        }
        self.started = true;
        self.id.clear();
        if id.is_empty() {
            crate::ids::synthesize("", self.seed, 0, &mut self.id);
        } else {
            self.id.push_str(id);
        }
        fill_model(&mut self.model, model);
    }

    fn end(&mut self, out: &mut BytesMut) {
        let Some(call) = self.take_call(out) else {
            return;
        };
        self.ended = true;
        let finish = wire::finish_name(self.finish.settle(self.called));
        self.chunk_head(out);
        if call {
            self.call_part(out);
        } else {
            out.extend_from_slice(b"{\"text\":\"\"}");
        }
        out.extend_from_slice(b"]},\"finishReason\":");
        put_str(out, finish);
        let u = self.usage;
        out.extend_from_slice(b",\"index\":0}],\"usageMetadata\":");
        wire::write_usage(out, &u);
        self.chunk_tail(out);
        self.framing.finish(out);
    }

    /// Emits the buffered call (if any) as its own chunk. `false` when its arguments were
    /// not a JSON object and the stream was failed instead.
    fn flush(&mut self, out: &mut BytesMut) -> bool {
        match self.take_call(out) {
            None => false,
            Some(false) => true,
            Some(true) => {
                self.chunk_head(out);
                self.call_part(out);
                out.extend_from_slice(b"]},\"index\":0}]");
                self.chunk_tail(out);
                true
            }
        }
    }

    /// Whether a call is buffered (`Some(true)`, its arguments checked to be a JSON object),
    /// or `None` when they are not and the stream was failed instead.
    fn take_call(&mut self, out: &mut BytesMut) -> Option<bool> {
        if !self.pending {
            return Some(false);
        }
        self.pending = false;
        let text = self.args.trim();
        let object = text.is_empty()
            || PooledScratch::take()
                .get()
                .parse(text.as_bytes(), |v| v.is_object())
                .unwrap_or(false);
        if !object {
            self.fail(
                ErrorKind::Server,
                "the upstream sent tool-call arguments that are not a JSON object",
                out,
            );
            return None;
        }
        Some(true)
    }

    /// `{"functionCall":{"name":…,"args":{…},"id":…}}`. The arguments are the upstream's own
    /// JSON text (key order kept); line breaks, which in valid JSON can only be whitespace,
    /// become spaces so they cannot break SSE framing.
    fn call_part(&self, out: &mut BytesMut) {
        out.extend_from_slice(b"{\"functionCall\":{\"name\":");
        put_str(out, &self.call_name);
        out.extend_from_slice(b",\"args\":");
        let text = self.args.trim();
        if text.is_empty() {
            out.extend_from_slice(b"{}");
        } else {
            let bytes = text.as_bytes();
            let mut start = 0;
            for (i, &b) in bytes.iter().enumerate() {
                if b == b'\n' || b == b'\r' {
                    out.extend_from_slice(&bytes[start..i]);
                    out.extend_from_slice(b" ");
                    start = i + 1;
                }
            }
            out.extend_from_slice(&bytes[start..]);
        }
        out.extend_from_slice(b",\"id\":");
        put_str(out, &self.call_id);
        out.extend_from_slice(b"}}");
    }

    /// A chunk with one text part (a thought summary when `thought`).
    fn text_chunk(&mut self, out: &mut BytesMut, t: &str, thought: bool) {
        self.chunk_head(out);
        out.extend_from_slice(b"{\"text\":");
        put_str(out, t);
        if thought {
            out.extend_from_slice(b",\"thought\":true");
        }
        out.extend_from_slice(b"}]},\"index\":0}]");
        self.chunk_tail(out);
    }

    /// Frame start and `{"candidates":[{"content":{"role":"model","parts":[`.
    fn chunk_head(&mut self, out: &mut BytesMut) {
        self.open(out);
        out.extend_from_slice(b"{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[");
    }

    /// `,"modelVersion":…,"responseId":…}` and the frame end.
    fn chunk_tail(&self, out: &mut BytesMut) {
        out.extend_from_slice(b",\"modelVersion\":");
        put_str(out, &self.model);
        out.extend_from_slice(b",\"responseId\":");
        put_str(out, &self.id);
        out.extend_from_slice(b"}");
        self.close(out);
    }

    /// `data: `, or the array's `[` / `,\r\n` separator.
    fn open(&mut self, out: &mut BytesMut) {
        self.framing.open(out);
    }

    fn close(&self, out: &mut BytesMut) {
        self.framing.close(out);
    }
}
