//! Gemini chunks for a passthrough relay: a chunk with no content but empty text is lifecycle,
//! a chunk with any other part commits, a chunk with a finish reason (or a blocked prompt) is
//! the end, and a chunk with `error` is an error event. Gemini has no end-of-stream marker:
//! the body ends after the finishing chunk.

use simd_json::prelude::*;
use simd_json::tape::Value;

use super::wire;
use crate::json::Scratch;
use crate::passthrough::Class;
use crate::stream::decode::error_of;

pub(crate) fn classify(data: &[u8], scratch: &mut Scratch, deep: bool) -> Class {
    if !deep {
        if has_finish_reason(data) {
            return Class::Terminal;
        }
        return Class::Content;
    }
    scratch.parse(data, chunk).unwrap_or(Class::Malformed)
}

fn chunk(v: Value<'_, '_>) -> Class {
    if let Some(e) = v.get("error").filter(|e| !e.is_null()) {
        let (kind, message) = error_of(&e);
        return Class::error(kind, message);
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
            finished |= c
                .get("finishReason")
                .and_then(|f| f.into_string())
                .and_then(wire::finish_from)
                .is_some();
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

/// Whether a committed chunk carries a finish reason, without parsing it: a
/// `"finishReason": "<name>"` member whose name [`wire::finish_from`] takes for a finish.
fn has_finish_reason(data: &[u8]) -> bool {
    memchr::memmem::find_iter(data, b"\"finishReason\"").any(|i| {
        let rest = &data[i + 14..];
        let skip = |r: &[u8]| r.iter().take_while(|c| c.is_ascii_whitespace()).count();
        let rest = &rest[skip(rest)..];
        let Some(rest) = rest.strip_prefix(b":") else {
            return false;
        };
        let rest = &rest[skip(rest)..];
        let Some(rest) = rest.strip_prefix(b"\"") else {
            return false;
        };
        let Some(end) = memchr::memchr(b'"', rest) else {
            return false;
        };
        std::str::from_utf8(&rest[..end])
            .ok()
            .and_then(wire::finish_from)
            .is_some()
    })
}
