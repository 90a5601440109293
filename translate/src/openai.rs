//! What the two OpenAI wires, Chat Completions and Responses, spell the same way: the HTTP
//! error envelope and its `type` names, and the `GET /v1/models` list.

use bytes::BufMut;

use crate::ir::ErrorKind;
use crate::json::push_json_str;

/// `error.type` for a kind. OpenAI answers an unknown model with `invalid_request_error` and
/// the code `model_not_found`, not a `not_found` type (docs/protocols.md, OpenAI errors).
pub(crate) fn error_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Authentication => "authentication_error",
        ErrorKind::RateLimited => "rate_limit_error",
        ErrorKind::Overloaded | ErrorKind::BadGateway | ErrorKind::Timeout | ErrorKind::Server => {
            "server_error"
        }
        ErrorKind::InvalidRequest
        | ErrorKind::Permission
        | ErrorKind::NotFound
        | ErrorKind::MethodNotAllowed
        | ErrorKind::RequestTimeout
        | ErrorKind::PayloadTooLarge
        | ErrorKind::UriTooLong
        | ErrorKind::UnsupportedMediaType
        | ErrorKind::HeadersTooLarge => "invalid_request_error",
    }
}

/// The kind an OpenAI `error.type` or `error.code` names.
pub(crate) fn kind_from_name(name: &str) -> Option<ErrorKind> {
    Some(match name {
        "invalid_request_error" => ErrorKind::InvalidRequest,
        "authentication_error" | "invalid_api_key" => ErrorKind::Authentication,
        "permission_error" => ErrorKind::Permission,
        "not_found_error" | "model_not_found" => ErrorKind::NotFound,
        // 429 bodies say `requests`/`tokens` as the type and these as the code.
        "rate_limit_error" | "rate_limit_exceeded" | "insufficient_quota" => ErrorKind::RateLimited,
        "server_error" => ErrorKind::Server,
        _ => return None,
    })
}

/// `{"error":{"message":…,"type":…,"param":null,"code":…}}`, the body of every OpenAI error
/// answer and (after `data: `) of a Chat stream's terminal error chunk. A spent quota is
/// spelled as OpenAI spells it: `insufficient_quota` as both type and code.
pub(crate) fn error_body<B: BufMut>(
    out: &mut B,
    kind: ErrorKind,
    message: &str,
    code: Option<&str>,
) {
    out.put_slice(b"{\"error\":{\"message\":");
    push_json_str(out, message);
    out.put_slice(b",\"type\":");
    push_json_str(
        out,
        match code {
            Some(c @ "insufficient_quota") => c,
            _ => error_type(kind),
        },
    );
    out.put_slice(b",\"param\":null,\"code\":");
    match code {
        Some(c) => push_json_str(out, c),
        None => out.put_slice(b"null"),
    }
    out.put_slice(b"}}");
}

/// `GET /v1/models` as OpenAI lists models.
pub(crate) fn models_list(names: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + names.len() * 64);
    out.extend_from_slice(b"{\"object\":\"list\",\"data\":[");
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        model_item(&mut out, n);
    }
    out.extend_from_slice(b"]}");
    out
}

/// One model as `GET /v1/models/{model}` and the list show it.
pub(crate) fn model_item(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b"{\"id\":");
    push_json_str(out, name);
    out.extend_from_slice(b",\"object\":\"model\",\"created\":0,\"owned_by\":\"bitrouter\"}");
}
