//! Guardrails on the wire: which strings of a request or a whole answer are the content a
//! rule checks, in each protocol, and a streamed answer's text and tool-call arguments checked
//! as they pass through a [`crate::stream::Translator`] ([`StreamScreen`]).
//!
//! Whole JSON documents are walked as `serde_json` values (once per request, off the
//! per-event path): from each protocol's content members (Chat `messages`, Responses `input`
//! and `instructions`, Anthropic `system` and `messages`, Gemini `contents` and
//! `systemInstruction`; in answers `choices`, `output`, `content`, `candidates`), every string
//! is content except the structural ones (`role`, `type`, ids, names, media data, URLs,
//! signatures, …). Tool inputs given as objects (Anthropic `input`, Gemini `args` and
//! `response`) are content throughout, keys aside; arguments given as JSON text (OpenAI
//! `arguments`) are checked as JSON text, so a redaction keeps them valid JSON. A redacted
//! string is changed in the value, which is then written back: the escaping is serde's.

use std::sync::Arc;

use compiler::table::Protocol;
use guardrails::{Guard, Outcome, Selection, Stream};
use serde_json::Value;

use crate::stream::Event;

/// Members that hold content, at the top of a request.
fn request_roots(p: Protocol) -> &'static [&'static str] {
    match p {
        Protocol::ChatCompletions => &["messages"],
        Protocol::Responses => &["input", "instructions"],
        Protocol::Messages => &["system", "messages"],
        Protocol::GenerateContent => &["contents", "systemInstruction", "system_instruction"],
    }
}

/// Members that hold content, at the top of a whole answer.
fn answer_roots(p: Protocol) -> &'static [&'static str] {
    match p {
        Protocol::ChatCompletions => &["choices"],
        Protocol::Responses => &["output"],
        Protocol::Messages => &["content"],
        Protocol::GenerateContent => &["candidates"],
    }
}

/// Strings that are structure, not content, wherever they appear (with everything under them).
const STRUCTURAL: &[&str] = &[
    "role",
    "type",
    "id",
    "tool_call_id",
    "call_id",
    "tool_use_id",
    "name",
    "model",
    "media_type",
    "mime_type",
    "mimeType",
    "data",
    "url",
    "image_url",
    "file_id",
    "file_data",
    "fileUri",
    "file_uri",
    "filename",
    "signature",
    "thoughtSignature",
    "thought_signature",
    "cache_control",
    "status",
    "finish_reason",
    "stop_reason",
    "finishReason",
    "object",
    "encrypted_content",
    "logprobs",
    "annotations",
    "detail",
    "format",
];

/// Object-valued members whose whole content is the caller's or the model's (tool inputs).
const FREE: &[&str] = &["input", "args", "response"];

/// Calls `f` on every content string of a request body (`json_text`: the string is JSON text,
/// tool arguments).
pub fn request_texts(p: Protocol, body: &mut Value, f: &mut dyn FnMut(&mut String, bool)) {
    roots(request_roots(p), body, f);
}

/// Calls `f` on every content string of a whole answer.
pub fn answer_texts(p: Protocol, body: &mut Value, f: &mut dyn FnMut(&mut String, bool)) {
    roots(answer_roots(p), body, f);
}

fn roots(roots: &[&str], body: &mut Value, f: &mut dyn FnMut(&mut String, bool)) {
    let Some(obj) = body.as_object_mut() else {
        return;
    };
    for r in roots {
        if let Some(v) = obj.get_mut(*r) {
            walk(v, false, false, f);
        }
    }
}

fn walk(v: &mut Value, free: bool, json_text: bool, f: &mut dyn FnMut(&mut String, bool)) {
    match v {
        Value::String(s) => f(s, json_text),
        Value::Array(items) => {
            for i in items {
                walk(i, free, false, f);
            }
        }
        Value::Object(members) => {
            for (k, m) in members.iter_mut() {
                if free {
                    walk(m, true, false, f);
                } else if STRUCTURAL.contains(&k.as_str()) {
                    continue;
                } else if FREE.contains(&k.as_str()) && m.is_object() {
                    walk(m, true, false, f);
                } else {
                    walk(m, false, k == "arguments", f);
                }
            }
        }
        _ => {}
    }
}

/// Checks every content string of `body` (a request when `request`, else a whole answer in
/// `p`) and applies the redactions in place. The outcome's block, if any, is the first.
pub fn check(
    guard: &Guard,
    sel: &Selection,
    p: Protocol,
    request: bool,
    body: &mut Value,
) -> Outcome {
    let mut outcome = Outcome::default();
    let mut each = |s: &mut String, json_text: bool| {
        if outcome.blocked.is_none() {
            outcome.merge(guard.apply(sel, s, json_text));
        }
    };
    if request {
        request_texts(p, body, &mut each);
    } else {
        answer_texts(p, body, &mut each);
    }
    outcome
}

/// The message a caller gets when a rule blocks: the rule, never the match.
pub fn blocked_message(rule: &str, request: bool) -> String {
    let what = if request { "request" } else { "answer" };
    format!("the {what} was blocked by the content rule `{rule}`")
}

/// A streamed answer's screen: text and the current tool call's arguments, each held back by
/// at most [`guardrails::WINDOW`] bytes so a match split across deltas is still found. Other
/// content events release what is held first, so the order of the answer never changes.
#[derive(Debug)]
pub struct StreamScreen {
    guard: Arc<Guard>,
    sel: Selection,
    text: Stream,
    args: Stream,
    buf: String,
    /// Every rule that matched so far, with its action (taken by the data plane for metrics).
    pub hits: Vec<(usize, guardrails::Action)>,
    /// The rule that blocked the answer.
    pub blocked: Option<String>,
}

impl StreamScreen {
    pub fn new(guard: Arc<Guard>, sel: Selection) -> StreamScreen {
        StreamScreen {
            guard,
            sel,
            text: Stream::new(false),
            args: Stream::new(true),
            buf: String::new(),
            hits: Vec::new(),
            blocked: None,
        }
    }

    /// Passes `ev` on through `emit`, screened. `Err(rule)` when a blocking rule matched:
    /// nothing held is released.
    pub(crate) fn route(
        &mut self,
        ev: Event<'_>,
        emit: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), String> {
        match ev {
            Event::Text(t) => {
                self.buf.clear();
                let o = self.text.push(&self.guard, &self.sel, t, &mut self.buf);
                self.note(o)?;
                if !self.buf.is_empty() {
                    emit(Event::Text(&self.buf));
                }
            }
            Event::ToolArgs(a) => {
                self.buf.clear();
                let o = self.args.push(&self.guard, &self.sel, a, &mut self.buf);
                self.note(o)?;
                if !self.buf.is_empty() {
                    emit(Event::ToolArgs(&self.buf));
                }
            }
            Event::Start { .. } | Event::Usage(_) | Event::Error { .. } => emit(ev),
            ev => {
                self.flush(emit)?;
                emit(ev);
            }
        }
        Ok(())
    }

    /// Releases what is held (text first: a tool call's arguments follow its text).
    fn flush(&mut self, emit: &mut dyn FnMut(Event<'_>)) -> Result<(), String> {
        if !self.text.is_empty() {
            self.buf.clear();
            let o = self.text.finish(&self.guard, &self.sel, &mut self.buf);
            self.note(o)?;
            if !self.buf.is_empty() {
                emit(Event::Text(&self.buf));
            }
        }
        if !self.args.is_empty() {
            self.buf.clear();
            let o = self.args.finish(&self.guard, &self.sel, &mut self.buf);
            self.note(o)?;
            if !self.buf.is_empty() {
                emit(Event::ToolArgs(&self.buf));
            }
        }
        Ok(())
    }

    fn note(&mut self, o: Outcome) -> Result<(), String> {
        self.hits.extend(o.hits);
        match o.blocked {
            Some(rule) => {
                self.blocked = Some(rule.clone());
                Err(rule)
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
