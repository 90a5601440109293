//! The auxiliary endpoints real clients call beside model calls: Anthropic's
//! `POST /v1/messages/count_tokens` (Claude Code) and Gemini's `:countTokens` (google-genai,
//! Gemini CLI). The request is forwarded to the first endpoint of the route whose protocols
//! include the caller's, at that provider's own count endpoint; when none does, the answer is
//! a local estimate (`translate::tokens`), marked `x-bitrouter-token-count: estimate`.
//!
//! One upstream call, no failover: a count is advisory, and retrying it elsewhere would count
//! for another model. It takes no breaker ticket and no retry budget.

use std::time::Instant;

use bytes::Bytes;
use compiler::table::{HopRef, Protocol, Route};
use http::{HeaderMap, HeaderName, HeaderValue, Response, Uri, header};
use translate::ir::ErrorKind;
use translate::response as answer;

use crate::attempt::read_all;
use crate::body::Body;
use crate::endpoint::Call;
use crate::error::ProxyError;
use crate::error::error_chain;
use crate::prepared::LoadedTable;
use crate::request::{RequestInfo, passthrough_body};
use crate::respond::{json_content_type, json_ok, served_by, with_head};
use crate::upstream::{self, Forward};

const X_TOKEN_COUNT: HeaderName = HeaderName::from_static("x-bitrouter-token-count");

/// Counts the tokens of the caller's request.
pub(crate) async fn count_tokens(
    table: &LoadedTable,
    route: Route<'_>,
    call: &Call<'_>,
    info: &RequestInfo<'_>,
    body: &Bytes,
    caller: HeaderMap,
) -> Result<Response<Body>, ProxyError> {
    let protocol = call.protocol;
    match route.hops().find(|h| h.protocols().0.contains(protocol)) {
        Some(hop) => forward(table, &hop, protocol, info, body, caller).await,
        None => estimate(protocol, body),
    }
}

/// The provider's count endpoint: Anthropic's `…/messages/count_tokens`, Gemini's
/// `…/models/{model}:countTokens`, from the model-call URL.
fn count_url(hop: &HopRef<'_>, protocol: Protocol) -> Option<Uri> {
    let url = hop.url(protocol, false);
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (url.as_ref(), None),
    };
    let path = match protocol {
        Protocol::Messages => format!("{}/count_tokens", path.trim_end_matches('/')),
        Protocol::GenerateContent => {
            format!("{}:countTokens", path.strip_suffix(":generateContent")?)
        }
        _ => return None,
    };
    let full = match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    full.parse().ok()
}

async fn forward(
    table: &LoadedTable,
    hop: &HopRef<'_>,
    protocol: Protocol,
    info: &RequestInfo<'_>,
    body: &Bytes,
    caller: HeaderMap,
) -> Result<Response<Body>, ProxyError> {
    let bad_endpoint = || {
        ProxyError::internal(
            ErrorKind::BadGateway,
            format!(
                "provider `{}` has no token-count URL for `{}`",
                hop.provider.name,
                protocol.as_str()
            ),
        )
    };
    let uri = count_url(hop, protocol).ok_or_else(bad_endpoint)?;
    let body = match protocol {
        Protocol::GenerateContent => gemini_body(body, hop.upstream_model),
        _ => passthrough_body(body, info, hop.upstream_model, false),
    };
    let forward = Forward::from_caller(&caller);
    let req = upstream::build_to(
        hop,
        &table.prepared,
        protocol,
        uri,
        false,
        body,
        &forward,
        caller,
    )
    .map_err(|_| bad_endpoint())?;
    let t = hop.provider.timeouts;
    let started = Instant::now();
    let client = &table.prepared.provider(hop).client;
    let res = match tokio::time::timeout(t.first_byte, client.request(req)).await {
        Err(_) => {
            return Err(ProxyError::upstream(
                ErrorKind::Timeout,
                format!("no token count within {}s", t.first_byte.as_secs()),
            ));
        }
        Ok(Err(e)) => {
            return Err(ProxyError::upstream(
                ErrorKind::BadGateway,
                format!("the token count failed: {}", error_chain(&e)),
            ));
        }
        Ok(Ok(r)) => r,
    };
    let (mut head, body) = res.into_parts();
    let Some(mut body) = read_all(body, started + t.total).await else {
        return Err(ProxyError::upstream(
            ErrorKind::Timeout,
            "the upstream's token count did not complete in time",
        ));
    };
    if !head.status.is_success() {
        let status = head.status.as_u16();
        let info = answer::decode_error(status, &body);
        if !answer::is_error_envelope(protocol, &body) {
            body = Bytes::from(answer::encode_error(protocol, status, &info));
            head.headers
                .insert(header::CONTENT_TYPE, json_content_type());
        }
        return Err(ProxyError::answered(head, body, info.kind));
    }
    let mut res = with_head(head, body, None);
    served_by(res.headers_mut(), table, hop);
    Ok(res)
}

/// A Gemini count body for the upstream model: `generateContentRequest.model`, when given,
/// names it (`models/{id}`); `contents` alone needs no change.
fn gemini_body(body: &Bytes, upstream_model: &str) -> Bytes {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return body.clone();
    };
    match v
        .get_mut("generateContentRequest")
        .and_then(|g| g.get_mut("model"))
    {
        Some(m) if m.is_string() => *m = format!("models/{upstream_model}").into(),
        _ => return body.clone(),
    }
    serde_json::to_vec(&v).map_or_else(|_| body.clone(), Bytes::from)
}

/// No endpoint speaks the caller's protocol: count locally.
fn estimate(protocol: Protocol, body: &Bytes) -> Result<Response<Body>, ProxyError> {
    let invalid = |m: String| ProxyError::client(ErrorKind::InvalidRequest, m);
    // Gemini's `countTokens` takes `contents` or a whole `generateContentRequest`.
    let inner;
    let source: &[u8] = match protocol {
        Protocol::GenerateContent => {
            let v: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| invalid(format!("the request body is not valid JSON: {e}")))?;
            match v.get("generateContentRequest") {
                Some(g) => {
                    inner = g.to_string();
                    inner.as_bytes()
                }
                None => body,
            }
        }
        _ => body,
    };
    let req = translate::request::decode(protocol, source, false).map_err(|e| match e {
        translate::request::Error::Invalid(m) => invalid(m),
        translate::request::Error::Unsupported(m) => invalid(format!("{m} cannot be counted")),
    })?;
    let n = translate::tokens::estimate(&req);
    let mut res = json_ok(translate::wire::token_count(protocol, n));
    res.headers_mut()
        .insert(X_TOKEN_COUNT, HeaderValue::from_static("estimate"));
    Ok(res)
}
