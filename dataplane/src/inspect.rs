//! Reads a same-protocol upstream stream event by event: decides where the commit point is
//! (lifecycle frames are held back, the first content frame commits), spots error events and
//! legitimate ends, and writes the caller protocol's terminal error frame after a failure.

use bytes::Bytes;
use compiler::table::Protocol;
use serde_json::json;
use simd_json::prelude::*;
use simd_json::tape::Value;

use crate::json::Scratch;
use crate::sse;

/// What an upstream event means for the attempt.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// Before any content (`message_start`, role chunk, `response.created`, usage-only chunk).
    Lifecycle,
    /// Content, tool calls, reasoning or a stop reason: commits the attempt.
    Content,
    /// The protocol's normal end (`[DONE]`, `message_stop`, `response.completed`).
    Terminal,
    /// An error inside the 200 stream.
    Error(String),
    /// Not parseable as this protocol's event.
    Malformed,
    /// Not for the caller (the usage chunk the router asked for on its behalf).
    Drop,
}

/// Per-stream state for one protocol.
#[derive(Debug)]
pub(crate) struct Inspector {
    protocol: Protocol,
    /// Chat: the router added `include_usage`; the usage chunk is not forwarded.
    strip_usage: bool,
    /// Whether a normal end was seen (so EOF is not a cut).
    pub(crate) ended: bool,
    /// Responses: the next `sequence_number` and the response id, for `response.failed`.
    next_seq: u64,
    response_id: Option<String>,
    created_at: u64,
    model: String,
    join: Vec<u8>,
}

impl Inspector {
    pub(crate) fn new(protocol: Protocol, strip_usage: bool, model: &str) -> Inspector {
        Inspector {
            protocol,
            strip_usage,
            ended: false,
            next_seq: 0,
            response_id: None,
            created_at: 0,
            // Only the Responses failure frame names the model.
            model: if protocol == Protocol::Responses {
                model.to_owned()
            } else {
                String::new()
            },
            join: Vec::new(),
        }
    }

    /// Classifies one raw event. `deep` parses the JSON (always before the commit point);
    /// without it only the cheap checks a committed passthrough needs are made.
    pub(crate) fn classify(&mut self, raw: &[u8], scratch: &mut Scratch, deep: bool) -> Class {
        let f = sse::fields(raw);
        let name = f.event;
        let mut join = std::mem::take(&mut self.join);
        let class = match f.data(&mut join) {
            None if name.is_none() => Class::Lifecycle, // comments, blank keep-alives
            data => self.classify_data(name, data.unwrap_or_default(), scratch, deep),
        };
        self.join = join;
        if class == Class::Terminal {
            self.ended = true;
        }
        class
    }

    fn classify_data(
        &mut self,
        name: Option<&[u8]>,
        data: &[u8],
        scratch: &mut Scratch,
        deep: bool,
    ) -> Class {
        match self.protocol {
            Protocol::ChatCompletions => {
                if data.starts_with(b"[DONE]") {
                    return Class::Terminal;
                }
                if !(deep || self.strip_usage && has_usage_object(data)) {
                    if data.starts_with(b"{\"error\"") {
                        return Class::Error(String::new());
                    }
                    return Class::Content;
                }
                let strip = self.strip_usage;
                scratch
                    .parse(data, |v| chat(v, strip))
                    .unwrap_or(Class::Malformed)
            }
            Protocol::Responses => {
                let typ = match name {
                    Some(n) => Some(n),
                    None if deep => None,
                    None => return Class::Content,
                };
                if let Some(seq) = find_u64(data, b"\"sequence_number\"") {
                    self.next_seq = self.next_seq.max(seq + 1);
                }
                if deep || typ == Some(b"response.created") {
                    scratch
                        .parse(data, |v| {
                            let t = v.get_str("type").unwrap_or_default();
                            if t == "response.created"
                                && let Some(r) = v.get("response")
                            {
                                self.response_id = r.get_str("id").map(str::to_owned);
                                self.created_at = r.get_u64("created_at").unwrap_or(0);
                            }
                            responses(typ.unwrap_or(t.as_bytes()))
                        })
                        .unwrap_or(Class::Malformed)
                } else {
                    responses(typ.unwrap_or_default())
                }
            }
            Protocol::Messages => match name {
                Some(n) => {
                    if deep && scratch.parse(data, |_| ()).is_err() {
                        return Class::Malformed;
                    }
                    messages(n, data)
                }
                None => Class::Malformed,
            },
            Protocol::GenerateContent => {
                if !deep {
                    if memchr::memmem::find(data, b"\"finishReason\"").is_some() {
                        return Class::Terminal;
                    }
                    return Class::Content;
                }
                scratch.parse(data, gemini).unwrap_or(Class::Malformed)
            }
        }
    }

    /// The frame that ends a committed stream after a failure, in the caller's protocol.
    pub(crate) fn terminal_error(&mut self, message: &str, json_array: bool) -> Bytes {
        let frame = match self.protocol {
            Protocol::ChatCompletions => format!(
                "data: {}\n\n",
                json!({"error": {"message": message, "type": "server_error", "param": null, "code": "upstream_error"}})
            ),
            Protocol::Messages => format!(
                "event: error\ndata: {}\n\n",
                json!({"type": "error", "error": {"type": "api_error", "message": message}})
            ),
            Protocol::Responses => {
                let seq = self.next_seq;
                self.next_seq += 1;
                format!(
                    "event: response.failed\ndata: {}\n\n",
                    json!({"type": "response.failed", "sequence_number": seq, "response": {
                        "id": self.response_id.as_deref().unwrap_or("resp_bitrouter"),
                        "object": "response", "created_at": self.created_at, "status": "failed",
                        "model": self.model, "output": [], "error": {"code": "server_error", "message": message},
                        "incomplete_details": null, "parallel_tool_calls": true, "tool_choice": "auto",
                        "tools": [], "usage": null}})
                )
            }
            Protocol::GenerateContent => {
                let e =
                    json!({"error": {"code": 502, "message": message, "status": "UNAVAILABLE"}});
                if json_array {
                    format!(",\r\n{e}]")
                } else {
                    format!("data: {e}\r\n\r\n")
                }
            }
        };
        Bytes::from(frame)
    }
}

fn non_empty_str(v: Option<Value<'_, '_>>) -> bool {
    v.is_some_and(|s| s.as_str().is_some_and(|s| !s.is_empty()))
}

fn chat(v: Value<'_, '_>, strip_usage: bool) -> Class {
    if let Some(e) = v.get("error").filter(|e| !e.is_null()) {
        return Class::Error(error_message(e));
    }
    let Some(choices) = v.get("choices").and_then(|c| c.as_array()) else {
        return Class::Malformed;
    };
    if choices.is_empty() {
        return if strip_usage {
            Class::Drop
        } else {
            Class::Lifecycle
        };
    }
    for c in choices.iter() {
        if c.get("finish_reason").is_some_and(|f| !f.is_null()) {
            return Class::Content;
        }
        if let Some(d) = c.get("delta") {
            let tools = d
                .get("tool_calls")
                .and_then(|t| t.as_array())
                .is_some_and(|t| !t.is_empty());
            if tools
                || non_empty_str(d.get("content"))
                || non_empty_str(d.get("refusal"))
                || non_empty_str(d.get("reasoning_content"))
                || non_empty_str(d.get("reasoning"))
            {
                return Class::Content;
            }
        }
    }
    Class::Lifecycle
}

fn responses(typ: &[u8]) -> Class {
    match typ {
        b"response.created"
        | b"response.in_progress"
        | b"response.queued"
        | b"response.output_item.added"
        | b"response.content_part.added"
        | b"response.reasoning_summary_part.added" => Class::Lifecycle,
        b"response.completed" | b"response.incomplete" => Class::Terminal,
        b"error" | b"response.failed" => Class::Error("the upstream stream failed".into()),
        _ => Class::Content,
    }
}

fn messages(name: &[u8], data: &[u8]) -> Class {
    match name {
        b"message_start" | b"ping" | b"content_block_start" => Class::Lifecycle,
        b"message_stop" => Class::Terminal,
        b"error" => Class::Error(
            serde_json::from_slice::<serde_json::Value>(data)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "the upstream stream failed".into()),
        ),
        _ => Class::Content,
    }
}

fn gemini(v: Value<'_, '_>) -> Class {
    if let Some(e) = v.get("error").filter(|e| !e.is_null()) {
        return Class::Error(error_message(e));
    }
    if !v.is_object() {
        return Class::Malformed;
    }
    if v.get("promptFeedback")
        .and_then(|p| p.get("blockReason"))
        .is_some()
    {
        return Class::Terminal;
    }
    let mut content = false;
    let mut finished = false;
    if let Some(cands) = v.get("candidates").and_then(|c| c.as_array()) {
        for c in cands.iter() {
            finished |= c.get("finishReason").is_some_and(|f| !f.is_null());
            let parts = c
                .get("content")
                .and_then(|c| c.get("parts"))
                .and_then(|p| p.as_array());
            for p in parts.iter().flat_map(|p| p.iter()) {
                let empty_text = p.get("text").is_some_and(|t| t.as_str() == Some(""))
                    && p.as_object().is_some_and(|o| o.len() == 1);
                content |= !empty_text;
            }
        }
    }
    match (content, finished) {
        (_, true) => Class::Terminal,
        (true, false) => Class::Content,
        (false, false) => Class::Lifecycle,
    }
}

fn error_message(e: Value<'_, '_>) -> String {
    e.get_str("message")
        .or_else(|| e.as_str())
        .unwrap_or("the upstream stream failed")
        .to_owned()
}

/// A non-null `"usage": {` in a chat chunk (spacing-tolerant).
fn has_usage_object(data: &[u8]) -> bool {
    memchr::memmem::find_iter(data, b"\"usage\"").any(|i| {
        let rest = &data[i + 7..];
        let rest = &rest[rest.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
        let rest = rest.strip_prefix(b":").unwrap_or(rest);
        rest.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'{')
    })
}

/// The unsigned number after `key` and a colon.
fn find_u64(data: &[u8], key: &[u8]) -> Option<u64> {
    let i = memchr::memmem::find(data, key)? + key.len();
    let rest = &data[i..];
    let rest = &rest[rest
        .iter()
        .position(|c| !c.is_ascii_whitespace() && *c != b':')?..];
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests;
