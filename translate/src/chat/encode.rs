//! Encodes IR events as a Chat Completions stream for the caller
//! (docs/protocols.md#stream-encoders): a role chunk first, content/reasoning/refusal/tool-call
//! deltas, then — held until `End` — the finish chunk, the usage chunk (only when asked) and `data:
//! [DONE]`.

use bytes::BytesMut;

use super::{frames, wire};
use crate::ir::{ErrorKind, Finish, Usage};
use crate::stream::encode::{fill_model, put_str, put_u64, set_id};
use crate::stream::{Ctx, Event};

#[derive(Debug)]
pub(crate) struct ChatEncoder {
    /// `chatcmpl-…`, set on `Start`.
    id: String,
    model: String,
    created: u64,
    seed: u64,
    include_usage: bool,
    started: bool,
    /// Tool calls started so far (the next call's `index`).
    calls: u64,
    /// Held until `End` (usage may still follow).
    finish: Finish,
    usage: Usage,
    ended: bool,
}

impl ChatEncoder {
    pub(crate) fn new(ctx: &Ctx<'_>) -> ChatEncoder {
        ChatEncoder {
            id: String::with_capacity(64),
            model: ctx.model.to_owned(),
            created: ctx.created,
            seed: ctx.seed,
            include_usage: ctx.include_usage,
            started: false,
            calls: 0,
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
            Event::Text(t) => self.delta(out, b"{\"content\":", t, b"}"),
            Event::Reasoning(t) => self.delta(out, b"{\"reasoning_content\":", t, b"}"),
            Event::Refusal(t) => self.delta(out, b"{\"refusal\":", t, b"}"),
            Event::ToolStart { id, name, .. } => {
                self.open(out);
                out.extend_from_slice(b"{\"tool_calls\":[{\"index\":");
                put_u64(out, self.calls);
                out.extend_from_slice(b",\"id\":");
                put_str(out, id);
                out.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
                put_str(out, name);
                out.extend_from_slice(b",\"arguments\":\"\"}}]}");
                self.close(out, None);
                self.calls += 1;
            }
            Event::ToolArgs(a) => {
                // Continuations carry only `index` and the fragment (E7).
                if self.calls == 0 || a.is_empty() {
                    return;
                }
                self.open(out);
                out.extend_from_slice(b"{\"tool_calls\":[{\"index\":");
                put_u64(out, self.calls - 1);
                out.extend_from_slice(b",\"function\":{\"arguments\":");
                put_str(out, a);
                out.extend_from_slice(b"}}]}");
                self.close(out, None);
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
        set_id(&mut self.id, "chatcmpl-", id, self.seed);
        fill_model(&mut self.model, model);
        self.open(out);
        out.extend_from_slice(b"{\"role\":\"assistant\",\"content\":\"\"}");
        self.close(out, None);
    }

    fn end(&mut self, out: &mut BytesMut) {
        self.ended = true;
        let finish = wire::finish_name(self.finish.settle(self.calls > 0));
        self.open(out);
        out.extend_from_slice(b"{}");
        self.close(out, Some(finish));
        if self.include_usage {
            let u = self.usage;
            self.head(out);
            out.extend_from_slice(b"],\"usage\":");
            wire::write_usage(out, &u);
            out.extend_from_slice(b"}\n\n");
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }

    /// One chunk whose delta is `pre` + `s` as a JSON string + `post`.
    fn delta(&mut self, out: &mut BytesMut, pre: &[u8], s: &str, post: &[u8]) {
        self.open(out);
        out.extend_from_slice(pre);
        put_str(out, s);
        out.extend_from_slice(post);
        self.close(out, None);
    }

    /// `data: {"id":…,"object":…,"created":…,"model":…,"choices":[`
    fn head(&self, out: &mut BytesMut) {
        out.extend_from_slice(b"data: {\"id\":");
        put_str(out, &self.id);
        out.extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
        put_u64(out, self.created);
        out.extend_from_slice(b",\"model\":");
        put_str(out, &self.model);
        out.extend_from_slice(b",\"choices\":[");
    }

    /// Everything of a choice chunk up to its delta object.
    fn open(&self, out: &mut BytesMut) {
        self.head(out);
        out.extend_from_slice(b"{\"index\":0,\"delta\":");
    }

    /// Everything of a choice chunk after its delta object.
    fn close(&self, out: &mut BytesMut, finish: Option<&str>) {
        out.extend_from_slice(b",\"logprobs\":null,\"finish_reason\":");
        match finish {
            Some(f) => put_str(out, f),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b"}]");
        if self.include_usage {
            out.extend_from_slice(b",\"usage\":null");
        }
        out.extend_from_slice(b"}\n\n");
    }
}
