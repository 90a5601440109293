//! Chat Completions events for a passthrough relay: the role chunk and usage-only chunks are
//! lifecycle, the first delta with text, reasoning, a refusal, a tool call or a finish reason
//! commits, `[DONE]` is the end, and a chunk with `error` is an error event.

use simd_json::prelude::*;
use simd_json::tape::Value;

use crate::ir::ErrorKind;
use crate::json::Scratch;
use crate::passthrough::Class;
use crate::stream::decode::error_of;

/// `strip_usage`: the router asked for the usage chunk, the caller did not.
pub(crate) fn classify(data: &[u8], strip_usage: bool, scratch: &mut Scratch, deep: bool) -> Class {
    if data.starts_with(b"[DONE]") {
        return Class::Terminal;
    }
    if !(deep || strip_usage && has_usage_object(data)) {
        if data.starts_with(b"{\"error\"") {
            return Class::error(ErrorKind::Server, "");
        }
        return Class::Content;
    }
    scratch
        .parse(data, |v| chunk(v, strip_usage))
        .unwrap_or(Class::Malformed)
}

fn chunk(v: Value<'_, '_>, strip_usage: bool) -> Class {
    if let Some(e) = v.get("error").filter(|e| !e.is_null()) {
        let (kind, message) = error_of(&e);
        return Class::error(kind, message);
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

fn non_empty_str(v: Option<Value<'_, '_>>) -> bool {
    v.is_some_and(|s| s.as_str().is_some_and(|s| !s.is_empty()))
}

/// A non-null `"usage": {` in a chat chunk (spacing-tolerant).
pub(crate) fn has_usage_object(data: &[u8]) -> bool {
    memchr::memmem::find_iter(data, b"\"usage\"").any(|i| {
        let rest = &data[i + 7..];
        let rest = &rest[rest.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
        let rest = rest.strip_prefix(b":").unwrap_or(rest);
        rest.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'{')
    })
}
