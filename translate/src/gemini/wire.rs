//! Gemini vocabulary, written once for the whole-answer and stream codecs, the passthrough
//! classifier and the router's own errors: `finishReason` names, `usageMetadata`, error
//! `status` names and the error envelope, and the `GET /v1beta/models` list.

use bytes::BufMut;

use crate::ir::{ErrorKind, Finish, Usage};
use crate::json::{Fields, push_json_str, push_u64};

/// `finishReason` → IR. The empty string and `FINISH_REASON_UNSPECIFIED` (the proto enum's
/// default) are not a finish: a stream that carries only those has not ended, and a whole
/// answer without a reason is complete (`Stop`) by its callers' choice.
pub(crate) fn finish_from(reason: &str) -> Option<Finish> {
    Some(match reason {
        "" | "FINISH_REASON_UNSPECIFIED" => return None,
        "STOP" => Finish::Stop,
        "MAX_TOKENS" => Finish::Length,
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "LANGUAGE"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => Finish::ContentFilter,
        _ => Finish::Other,
    })
}

/// IR → `finishReason` (a turn that called a tool ends with `STOP` on this wire).
pub(crate) fn finish_name(f: Finish) -> &'static str {
    match f {
        Finish::Stop | Finish::ToolCalls => "STOP",
        Finish::Length => "MAX_TOKENS",
        Finish::ContentFilter => "SAFETY",
        Finish::Other => "OTHER",
    }
}

/// `usageMetadata` → IR usage (inclusive: output counts thoughts).
///
/// Whether `candidatesTokenCount` includes thoughts has varied between model versions; when
/// prompt + candidates already make the total, it does (LiteLLM's
/// `is_candidate_token_count_inclusive` makes the same call).
pub(crate) fn usage<F: Fields>(u: F) -> Usage {
    let prompt = u
        .count_at("promptTokenCount")
        .saturating_add(u.count_at("toolUsePromptTokenCount"));
    let candidates = u.count_at("candidatesTokenCount");
    let thoughts = u.count_at("thoughtsTokenCount");
    let total = u.count_at("totalTokenCount");
    let inclusive = thoughts > 0 && total > 0 && prompt.saturating_add(candidates) == total;
    Usage {
        input: prompt,
        output: if inclusive {
            candidates
        } else {
            candidates.saturating_add(thoughts)
        },
        cache_read: u.count_at("cachedContentTokenCount"),
        cache_write: 0,
        reasoning: thoughts,
    }
}

/// Writes `u` as `usageMetadata` (`candidatesTokenCount` excludes thoughts).
pub(crate) fn write_usage<B: BufMut>(out: &mut B, u: &Usage) {
    out.put_slice(b"{\"promptTokenCount\":");
    push_u64(out, u.input);
    out.put_slice(b",\"candidatesTokenCount\":");
    push_u64(out, u.output.saturating_sub(u.reasoning));
    if u.reasoning > 0 {
        out.put_slice(b",\"thoughtsTokenCount\":");
        push_u64(out, u.reasoning);
    }
    out.put_slice(b",\"totalTokenCount\":");
    push_u64(out, u.total());
    if u.cache_read > 0 {
        out.put_slice(b",\"cachedContentTokenCount\":");
        push_u64(out, u.cache_read);
    }
    out.put_slice(b"}");
}

/// `error.status` for a kind.
pub(crate) fn error_status(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Authentication => "UNAUTHENTICATED",
        ErrorKind::Permission => "PERMISSION_DENIED",
        ErrorKind::NotFound => "NOT_FOUND",
        ErrorKind::RateLimited => "RESOURCE_EXHAUSTED",
        ErrorKind::Overloaded | ErrorKind::BadGateway => "UNAVAILABLE",
        ErrorKind::Timeout | ErrorKind::RequestTimeout => "DEADLINE_EXCEEDED",
        ErrorKind::Server => "INTERNAL",
        ErrorKind::InvalidRequest
        | ErrorKind::MethodNotAllowed
        | ErrorKind::PayloadTooLarge
        | ErrorKind::UriTooLong
        | ErrorKind::UnsupportedMediaType
        | ErrorKind::HeadersTooLarge => "INVALID_ARGUMENT",
    }
}

/// The kind a Gemini `error.status` names.
pub(crate) fn kind_from_name(name: &str) -> Option<ErrorKind> {
    Some(match name {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => ErrorKind::InvalidRequest,
        "UNAUTHENTICATED" => ErrorKind::Authentication,
        "PERMISSION_DENIED" => ErrorKind::Permission,
        "NOT_FOUND" => ErrorKind::NotFound,
        "RESOURCE_EXHAUSTED" => ErrorKind::RateLimited,
        "UNAVAILABLE" => ErrorKind::Overloaded,
        "DEADLINE_EXCEEDED" => ErrorKind::Timeout,
        "INTERNAL" => ErrorKind::Server,
        _ => return None,
    })
}

/// `{"error":{"code":…,"message":…,"status":…}}`; `code` is the HTTP status.
pub(crate) fn error_body<B: BufMut>(out: &mut B, kind: ErrorKind, status: u16, message: &str) {
    out.put_slice(b"{\"error\":{\"code\":");
    push_u64(out, u64::from(status));
    out.put_slice(b",\"message\":");
    push_json_str(out, message);
    out.put_slice(b",\"status\":");
    push_json_str(out, error_status(kind));
    out.put_slice(b"}}");
}

/// `GET /v1beta/models` as Gemini lists models.
pub(crate) fn models_list(names: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + names.len() * 128);
    out.extend_from_slice(b"{\"models\":[");
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        model_item(&mut out, n);
    }
    out.extend_from_slice(b"]}");
    out
}

/// One model as `GET /v1beta/models/{model}` and the list show it.
pub(crate) fn model_item(out: &mut Vec<u8>, n: &str) {
    out.extend_from_slice(b"{\"name\":");
    let mut name = String::with_capacity(7 + n.len());
    name.push_str("models/");
    name.push_str(n);
    push_json_str(out, &name);
    out.extend_from_slice(b",\"displayName\":");
    push_json_str(out, n);
    out.extend_from_slice(
        b",\"supportedGenerationMethods\":[\"generateContent\",\"streamGenerateContent\",\"countTokens\"]}",
    );
}
