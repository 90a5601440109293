//! Responses the router writes itself, each in the caller protocol's shape: a [`ProxyError`]
//! (rendered here and nowhere else), health and readiness, the model list, and the headers
//! that name what served a request.

use std::time::Duration;

use bytes::Bytes;
use compiler::table::{HopRef, Protocol};
use http::{HeaderMap, HeaderName, HeaderValue, Response, header, response};
use translate::ir::ErrorKind;

use crate::body::Body;
use crate::error::ProxyError;
use crate::prepared::LoadedTable;

/// `err` as the caller's answer. An upstream's own error answer goes out as it came (its
/// status and content type; the body is already in the caller's shape); anything else is the
/// caller protocol's error envelope with the kind's status.
pub(crate) fn error(err: ProxyError, caller: Protocol) -> Response<Body> {
    let retry_after = err.retry_after;
    if let Some(answer) = err.answer {
        return with_head(answer.head, answer.body, retry_after);
    }
    let status = err.status();
    let body =
        translate::wire::error_body(caller, err.kind, status.as_u16(), &err.message, err.code);
    let mut res = Response::new(Body::full(body));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, json_content_type());
    if let Some(wait) = retry_after {
        h.insert(header::RETRY_AFTER, retry_after_value(wait));
    }
    if err.final_answer {
        h.insert(
            HeaderName::from_static("x-should-retry"),
            HeaderValue::from_static("false"),
        );
    }
    if err.kind == ErrorKind::MethodNotAllowed {
        h.insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    if err.kind == ErrorKind::Authentication {
        // RFC 6750: a bare challenge when no credential came, `invalid_token` otherwise.
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(if err.code == Some("missing_api_key") {
                "Bearer realm=\"bitrouter\""
            } else {
                "Bearer realm=\"bitrouter\", error=\"invalid_token\""
            }),
        );
    }
    res
}

/// `GET /metrics`: the Prometheus text exposition.
pub(crate) fn metrics(text: String) -> Response<Body> {
    let mut r = Response::new(Body::full(text));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// Whole seconds, rounded up, at least 1.
fn retry_after_value(wait: Duration) -> HeaderValue {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HeaderValue::from(secs.max(1))
}

/// The upstream's response head, emptied for reuse: its header map keeps its allocation.
pub(crate) fn reset_head(head: &mut response::Parts) {
    head.headers.clear();
    head.extensions.clear();
    head.version = http::Version::HTTP_11;
}

/// The caller's answer built on the upstream's head: its status and content type, nothing
/// else (and its `Content-Length` when the body is the one it measured, which spares hyper
/// formatting a new one).
pub(crate) fn with_head(
    mut head: response::Parts,
    body: Bytes,
    retry_after: Option<Duration>,
) -> Response<Body> {
    let content_type = head.headers.remove(header::CONTENT_TYPE);
    let same_length = head
        .headers
        .remove(header::CONTENT_LENGTH)
        .filter(|v| v.to_str().ok().and_then(|v| v.parse::<usize>().ok()) == Some(body.len()));
    reset_head(&mut head);
    head.headers.insert(
        header::CONTENT_TYPE,
        content_type.unwrap_or_else(json_content_type),
    );
    if let Some(len) = same_length {
        head.headers.insert(header::CONTENT_LENGTH, len);
    }
    if let Some(wait) = retry_after {
        head.headers
            .insert(header::RETRY_AFTER, retry_after_value(wait));
    }
    Response::from_parts(head, Body::full(body))
}

pub(crate) fn json_content_type() -> HeaderValue {
    HeaderValue::from_static("application/json")
}

pub(crate) fn json_ok(body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Body::full(body));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, json_content_type());
    r
}

const X_PROVIDER: HeaderName = HeaderName::from_static("x-bitrouter-provider");
const X_MODEL: HeaderName = HeaderName::from_static("x-bitrouter-model");
const X_DROPPED: HeaderName = HeaderName::from_static("x-bitrouter-dropped");

/// The request fields a translation left out (`server.translation: lenient`), as a response
/// extension: the hook a metrics layer counts (one increment per name) without parsing the
/// `x-bitrouter-dropped` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dropped(pub Box<[String]>);

/// Names the fields a translation dropped: the `x-bitrouter-dropped` header (comma-separated)
/// and the [`Dropped`] extension.
pub(crate) fn dropped(res: &mut Response<Body>, names: &[String]) {
    if let Ok(v) = HeaderValue::from_str(&names.join(", ")) {
        res.headers_mut().insert(X_DROPPED, v);
    }
    res.extensions_mut().insert(Dropped(names.into()));
}

/// Adds the headers naming what served the request.
pub(crate) fn served_by(h: &mut HeaderMap, table: &LoadedTable, hop: &HopRef<'_>) {
    if let Some(v) = &table.prepared.provider(hop).name {
        h.insert(X_PROVIDER, v.clone());
    }
    let model = table
        .prepared
        .target(hop)
        .and_then(|t| t.model.clone())
        .or_else(|| HeaderValue::from_str(hop.upstream_model).ok());
    if let Some(v) = model {
        h.insert(X_MODEL, v);
    }
}

/// `GET /v1/models` in the caller's dialect (see `translate::wire::models_list`).
pub(crate) fn models(table: &LoadedTable, dialect: Protocol) -> Response<Body> {
    let mut names: Vec<&str> = table
        .virtual_models()
        .iter()
        .map(|m| &*m.name)
        .chain(table.declared_models().iter().map(|d| &*d.id))
        .collect();
    names.sort_unstable();
    names.dedup();
    json_ok(translate::wire::models_list(dialect, &names))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(r: Response<Body>) -> (u16, HeaderMap, serde_json::Value) {
        let (head, body) = r.into_parts();
        let Body::Full(Some(b)) = body else {
            panic!("a whole body");
        };
        (
            head.status.as_u16(),
            head.headers,
            serde_json::from_slice(&b).unwrap(),
        )
    }

    #[test]
    fn each_protocol_gets_its_own_envelope() {
        let e = || {
            ProxyError::client(ErrorKind::NotFound, "unknown model `x`")
                .with_code("model_not_found")
        };
        let (s, _, o) = parts(error(e(), Protocol::ChatCompletions));
        assert_eq!(s, 404);
        assert_eq!(o["error"]["message"], "unknown model `x`");
        assert_eq!(o["error"]["type"], "invalid_request_error");
        assert_eq!(o["error"]["code"], "model_not_found");
        assert!(o["error"]["param"].is_null());
        let (_, _, a) = parts(error(e(), Protocol::Messages));
        assert_eq!(a["type"], "error");
        assert_eq!(a["error"]["type"], "not_found_error");
        let (_, _, g) = parts(error(e(), Protocol::GenerateContent));
        assert_eq!(g["error"]["code"], 404);
        assert_eq!(g["error"]["status"], "NOT_FOUND");
    }

    #[test]
    fn throttling_sets_retry_after_rounded_up() {
        let e = ProxyError::internal(ErrorKind::Overloaded, "busy")
            .with_retry_after(Duration::from_millis(1500));
        let (s, h, _) = parts(error(e, Protocol::Messages));
        assert_eq!(s, 503);
        assert_eq!(h[header::RETRY_AFTER], "2");
        let e = ProxyError::client(ErrorKind::MethodNotAllowed, "POST only");
        let (s, h, _) = parts(error(e, Protocol::Responses));
        assert_eq!(
            (s, &h[header::ALLOW]),
            (405, &HeaderValue::from_static("POST"))
        );
    }
}
