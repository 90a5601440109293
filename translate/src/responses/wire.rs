//! OpenAI Responses vocabulary, written once for the whole-answer and stream codecs and the
//! passthrough classifier: the response `status` / `incomplete_details.reason` pair that says
//! how a turn ended, the `usage` object, and the error codes of `response.failed`.

use bytes::BufMut;

use crate::ir::{ErrorKind, Finish, Usage};
use crate::json::{Fields, push_u64};

/// A response's `status` and `incomplete_details.reason` → IR. `failed`/`cancelled` are not
/// a finish (the caller decides what they are); an unknown incomplete reason is `Other`.
pub(crate) fn finish_from(status: &str, incomplete_reason: Option<&str>) -> Option<Finish> {
    match status {
        "" | "completed" => Some(Finish::Stop),
        "incomplete" => Some(match incomplete_reason {
            Some("max_output_tokens") => Finish::Length,
            Some("content_filter") => Finish::ContentFilter,
            _ => Finish::Other,
        }),
        _ => None,
    }
}

/// IR → `status` and `incomplete_details.reason` (after the tool-call latch).
pub(crate) fn finish_status(f: Finish) -> (&'static str, Option<&'static str>) {
    match f {
        Finish::Length => ("incomplete", Some("max_output_tokens")),
        Finish::ContentFilter => ("incomplete", Some("content_filter")),
        Finish::Stop | Finish::ToolCalls | Finish::Other => ("completed", None),
    }
}

/// The `error.code` of a failed response.
pub(crate) fn failed_code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::RateLimited => "rate_limit_exceeded",
        ErrorKind::InvalidRequest => "invalid_prompt",
        _ => "server_error",
    }
}

/// A `usage` object; Responses counts are already inclusive, like the IR.
pub(crate) fn usage<F: Fields>(u: F) -> Usage {
    Usage {
        input: u.count_at("input_tokens"),
        output: u.count_at("output_tokens"),
        cache_read: u.count_in("input_tokens_details", "cached_tokens"),
        cache_write: u.count_in("input_tokens_details", "cache_write_tokens"),
        reasoning: u.count_in("output_tokens_details", "reasoning_tokens"),
    }
}

/// Writes `u` as a `usage` object (openai-python ≥ 2.45 requires `cache_write_tokens`).
pub(crate) fn write_usage<B: BufMut>(out: &mut B, u: &Usage) {
    out.put_slice(b"{\"input_tokens\":");
    push_u64(out, u.input);
    out.put_slice(b",\"input_tokens_details\":{\"cached_tokens\":");
    push_u64(out, u.cache_read);
    out.put_slice(b",\"cache_write_tokens\":");
    push_u64(out, u.cache_write);
    out.put_slice(b"},\"output_tokens\":");
    push_u64(out, u.output);
    out.put_slice(b",\"output_tokens_details\":{\"reasoning_tokens\":");
    push_u64(out, u.reasoning);
    out.put_slice(b"},\"total_tokens\":");
    push_u64(out, u.total());
    out.put_slice(b"}");
}
