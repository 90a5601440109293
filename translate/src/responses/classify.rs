//! Responses events for a passthrough relay: `response.created`, `in_progress`, `queued` and
//! the `*.added` events are lifecycle, any other typed event commits, `completed` and
//! `incomplete` are the end, `error` and `response.failed` are error events. The relay keeps
//! what a `response.failed` of its own must continue: the next `sequence_number`, the
//! response's id and creation time.

use bytes::BufMut;
use simd_json::prelude::*;

use super::frames;
use crate::ir::ErrorKind;
use crate::json::Scratch;
use crate::passthrough::Class;

/// What the router's own `response.failed` continues.
#[derive(Debug)]
pub(crate) struct State {
    next_seq: u64,
    response_id: Option<String>,
    created_at: u64,
    model: String,
}

impl State {
    pub(crate) fn new(model: &str) -> State {
        State {
            next_seq: 0,
            response_id: None,
            created_at: 0,
            model: model.to_owned(),
        }
    }

    /// `response.failed` with the next sequence number, naming the upstream's response.
    pub(crate) fn failed<B: BufMut>(&mut self, out: &mut B, kind: ErrorKind, message: &str) {
        let f = frames::Failed {
            seq: self.next_seq,
            id: self.response_id.as_deref().unwrap_or("resp_bitrouter"),
            created_at: self.created_at,
            model: &self.model,
            output: b"",
        };
        frames::failed(out, &f, kind, message);
        self.next_seq += 1;
    }
}

pub(crate) fn classify(
    state: &mut State,
    name: Option<&[u8]>,
    data: &[u8],
    scratch: &mut Scratch,
    deep: bool,
) -> Class {
    let typ = match name {
        Some(n) => Some(n),
        None if deep => None,
        None => return Class::Content,
    };
    if let Some(seq) = find_u64(data, b"\"sequence_number\"") {
        state.next_seq = state.next_seq.max(seq.saturating_add(1));
    }
    if deep || typ == Some(b"response.created") {
        scratch
            .parse(data, |v| {
                let t = v.get_str("type").unwrap_or_default();
                if t == "response.created"
                    && let Some(r) = v.get("response")
                {
                    state.response_id = r.get_str("id").map(str::to_owned);
                    state.created_at = r.get_u64("created_at").unwrap_or(0);
                }
                if t == "error" || t == "response.failed" {
                    let e = v
                        .get("error")
                        .or_else(|| v.get("response").and_then(|r| r.get("error")));
                    let (kind, message) = e
                        .filter(|e| !e.is_null())
                        .map(|e| crate::stream::decode::error_of(&e))
                        .unwrap_or((ErrorKind::Server, ""));
                    return Class::error(kind, message);
                }
                by_type(typ.unwrap_or(t.as_bytes()))
            })
            .unwrap_or(Class::Malformed)
    } else {
        by_type(typ.unwrap_or_default())
    }
}

fn by_type(typ: &[u8]) -> Class {
    match typ {
        b"response.created"
        | b"response.in_progress"
        | b"response.queued"
        | b"response.output_item.added"
        | b"response.content_part.added"
        | b"response.reasoning_summary_part.added" => Class::Lifecycle,
        b"response.completed" | b"response.incomplete" => Class::Terminal,
        b"error" | b"response.failed" => Class::error(ErrorKind::Server, ""),
        _ => Class::Content,
    }
}

/// The unsigned number after `key` and a colon.
pub(crate) fn find_u64(data: &[u8], key: &[u8]) -> Option<u64> {
    let i = memchr::memmem::find(data, key)? + key.len();
    let rest = &data[i..];
    let rest = &rest[rest
        .iter()
        .position(|c| !c.is_ascii_whitespace() && *c != b':')?..];
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}
