//! Anthropic Messages vocabulary, written once for the whole-answer and stream codecs, the
//! passthrough classifier and the router's own errors: `stop_reason` names, the `usage`
//! object, error `type` names and the error envelope, and the `GET /v1/models` list.

use bytes::BufMut;

use crate::ir::{ErrorKind, Finish, Usage};
use crate::json::{Fields, push_json_str, push_u64};

/// `stop_reason` → IR.
pub(crate) fn finish_from(reason: &str) -> Finish {
    match reason {
        "end_turn" | "stop_sequence" => Finish::Stop,
        "max_tokens" | "model_context_window_exceeded" => Finish::Length,
        "tool_use" => Finish::ToolCalls,
        "refusal" => Finish::ContentFilter,
        _ => Finish::Other,
    }
}

/// IR → `stop_reason` (after the tool-call latch).
pub(crate) fn finish_name(f: Finish) -> &'static str {
    match f {
        Finish::Length => "max_tokens",
        Finish::ToolCalls => "tool_use",
        Finish::ContentFilter => "refusal",
        Finish::Stop | Finish::Other => "end_turn",
    }
}

/// The counts a `usage` object carries; a `message_delta` may carry only some of them, so
/// each is optional (docs/translation-cases.md E3).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct UsageFields {
    /// `input_tokens`: exclusive of cache reads and writes.
    pub(crate) input: Option<u64>,
    pub(crate) cache_read: Option<u64>,
    pub(crate) cache_write: Option<u64>,
    pub(crate) output: Option<u64>,
    pub(crate) thinking: Option<u64>,
}

impl UsageFields {
    pub(crate) fn read<F: Fields>(u: F) -> UsageFields {
        let get = |k: &str| u.member(k).and_then(F::count);
        UsageFields {
            input: get("input_tokens"),
            cache_read: get("cache_read_input_tokens"),
            cache_write: get("cache_creation_input_tokens"),
            output: get("output_tokens"),
            thinking: u
                .member("output_tokens_details")
                .and_then(|d| d.member("thinking_tokens"))
                .and_then(F::count),
        }
    }

    /// Applies these counts on top of `usage` (what an earlier event reported), making input
    /// inclusive of the cache counts as the IR wants.
    pub(crate) fn apply(self, usage: &mut Usage) {
        let prev_uncached = usage.uncached_input();
        if let Some(r) = self.cache_read {
            usage.cache_read = r;
        }
        if let Some(w) = self.cache_write {
            usage.cache_write = w;
        }
        if self.input.is_some() || self.cache_read.is_some() || self.cache_write.is_some() {
            usage.input = self
                .input
                .unwrap_or(prev_uncached)
                .saturating_add(usage.cache_read)
                .saturating_add(usage.cache_write);
        }
        if let Some(o) = self.output {
            usage.output = o;
        }
        if let Some(t) = self.thinking {
            usage.reasoning = t;
        }
    }
}

/// Writes `u` as a `usage` object (`input_tokens` exclusive of the cache counts). Thinking is
/// inside `output_tokens`; `output_tokens_details.thinking_tokens` carries it apart, as the
/// decoder reads it, so a round trip keeps the reasoning count.
pub(crate) fn write_usage<B: BufMut>(out: &mut B, u: &Usage) {
    out.put_slice(b"{\"input_tokens\":");
    push_u64(out, u.uncached_input());
    out.put_slice(b",\"output_tokens\":");
    push_u64(out, u.output);
    out.put_slice(b",\"cache_read_input_tokens\":");
    push_u64(out, u.cache_read);
    out.put_slice(b",\"cache_creation_input_tokens\":");
    push_u64(out, u.cache_write);
    if u.reasoning > 0 {
        out.put_slice(b",\"output_tokens_details\":{\"thinking_tokens\":");
        push_u64(out, u.reasoning);
        out.put_slice(b"}");
    }
    out.put_slice(b"}");
}

/// `error.type` for a kind.
pub(crate) fn error_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Authentication => "authentication_error",
        ErrorKind::Permission => "permission_error",
        ErrorKind::NotFound => "not_found_error",
        ErrorKind::PayloadTooLarge => "request_too_large",
        ErrorKind::RateLimited => "rate_limit_error",
        ErrorKind::Overloaded => "overloaded_error",
        ErrorKind::Timeout => "timeout_error",
        ErrorKind::BadGateway | ErrorKind::Server => "api_error",
        ErrorKind::InvalidRequest
        | ErrorKind::MethodNotAllowed
        | ErrorKind::RequestTimeout
        | ErrorKind::UriTooLong
        | ErrorKind::UnsupportedMediaType
        | ErrorKind::HeadersTooLarge => "invalid_request_error",
    }
}

/// The kind an Anthropic `error.type` names.
pub(crate) fn kind_from_name(name: &str) -> Option<ErrorKind> {
    Some(match name {
        "invalid_request_error" => ErrorKind::InvalidRequest,
        "authentication_error" => ErrorKind::Authentication,
        "permission_error" => ErrorKind::Permission,
        "not_found_error" => ErrorKind::NotFound,
        "request_too_large" => ErrorKind::PayloadTooLarge,
        "rate_limit_error" => ErrorKind::RateLimited,
        "overloaded_error" => ErrorKind::Overloaded,
        "timeout_error" => ErrorKind::Timeout,
        "api_error" => ErrorKind::Server,
        _ => return None,
    })
}

/// `{"type":"error","error":{"type":…,"message":…}}`: an error answer's body, and the data
/// of a stream's `error` event.
pub(crate) fn error_body<B: BufMut>(out: &mut B, kind: ErrorKind, message: &str) {
    out.put_slice(b"{\"type\":\"error\",\"error\":{\"type\":");
    push_json_str(out, error_type(kind));
    out.put_slice(b",\"message\":");
    push_json_str(out, message);
    out.put_slice(b"}}");
}

/// `GET /v1/models` as Anthropic lists models (the caller sent `anthropic-version`).
pub(crate) fn models_list(names: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + names.len() * 96);
    out.extend_from_slice(b"{\"data\":[");
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        model_item(&mut out, n);
    }
    out.extend_from_slice(b"],\"has_more\":false,\"first_id\":");
    match names.first() {
        Some(n) => push_json_str(&mut out, n),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"last_id\":");
    match names.last() {
        Some(n) => push_json_str(&mut out, n),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b"}");
    out
}

/// One model as `GET /v1/models/{model_id}` and the list show it.
pub(crate) fn model_item(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b"{\"type\":\"model\",\"id\":");
    push_json_str(out, name);
    out.extend_from_slice(b",\"display_name\":");
    push_json_str(out, name);
    out.extend_from_slice(b",\"created_at\":\"1970-01-01T00:00:00Z\"}");
}
