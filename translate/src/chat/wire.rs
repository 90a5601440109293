//! Chat Completions vocabulary, written once for the whole-answer and stream codecs and the
//! passthrough classifier: `finish_reason` names and the `usage` object.

use bytes::BufMut;

use crate::ir::{Finish, Usage};
use crate::json::{Fields, push_u64};

/// `finish_reason` → IR (docs/protocols.md, finish reasons).
pub(crate) fn finish_from(reason: &str) -> Finish {
    match reason {
        "stop" => Finish::Stop,
        "length" => Finish::Length,
        "tool_calls" | "function_call" => Finish::ToolCalls,
        "content_filter" => Finish::ContentFilter,
        _ => Finish::Other,
    }
}

/// IR → `finish_reason` (after the tool-call latch).
pub(crate) fn finish_name(f: Finish) -> &'static str {
    match f {
        Finish::Length => "length",
        Finish::ToolCalls => "tool_calls",
        Finish::ContentFilter => "content_filter",
        Finish::Stop | Finish::Other => "stop",
    }
}

/// A `usage` object; Chat's counts are already inclusive, like the IR.
pub(crate) fn usage<F: Fields>(u: F) -> Usage {
    Usage {
        input: u.count_at("prompt_tokens"),
        output: u.count_at("completion_tokens"),
        cache_read: u.count_in("prompt_tokens_details", "cached_tokens"),
        cache_write: u.count_in("prompt_tokens_details", "cache_write_tokens"),
        reasoning: u.count_in("completion_tokens_details", "reasoning_tokens"),
    }
}

/// Writes `u` as a `usage` object.
pub(crate) fn write_usage<B: BufMut>(out: &mut B, u: &Usage) {
    out.put_slice(b"{\"prompt_tokens\":");
    push_u64(out, u.input);
    out.put_slice(b",\"completion_tokens\":");
    push_u64(out, u.output);
    out.put_slice(b",\"total_tokens\":");
    push_u64(out, u.total());
    out.put_slice(b",\"prompt_tokens_details\":{\"cached_tokens\":");
    push_u64(out, u.cache_read);
    out.put_slice(b",\"cache_write_tokens\":");
    push_u64(out, u.cache_write);
    out.put_slice(b"},\"completion_tokens_details\":{\"reasoning_tokens\":");
    push_u64(out, u.reasoning);
    out.put_slice(b"}}");
}
