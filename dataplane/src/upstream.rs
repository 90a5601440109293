//! Building one upstream request for an endpoint: its URL, the provider's credential in the
//! protocol's auth scheme, the provider's headers, and the forwarded Anthropic version headers.
//! The caller's own credential is never copied (the header map is cleared first).

use bytes::Bytes;
use compiler::table::{AuthScheme, Credential, HopRef, Protocol};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, header};
use http_body_util::Full;

use crate::prepared::Prepared;

/// Why a request for an endpoint could not be built.
#[derive(Debug)]
pub(crate) enum BuildError {
    /// The provider needs a key and its variable is unset.
    MissingKey(Box<str>),
    BadUrl,
    BadHeader(Box<str>),
}

const ANTHROPIC_VERSION: HeaderName = HeaderName::from_static("anthropic-version");
const ANTHROPIC_BETA: HeaderName = HeaderName::from_static("anthropic-beta");
const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const X_GOOG_API_KEY: HeaderName = HeaderName::from_static("x-goog-api-key");
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Caller headers worth forwarding on a same-protocol Anthropic call (never credentials).
#[derive(Debug, Default)]
pub(crate) struct Forward {
    anthropic_version: Option<HeaderValue>,
    anthropic_beta: Option<HeaderValue>,
    /// The request's id (`x-request-id`), the caller's or the router's.
    pub(crate) request_id: Option<HeaderValue>,
    /// W3C trace context for the attempt: the router's own span when the request is traced,
    /// else the caller's headers as they came.
    pub(crate) traceparent: Option<HeaderValue>,
    pub(crate) tracestate: Option<HeaderValue>,
}

impl Forward {
    pub(crate) fn from_caller(h: &HeaderMap) -> Forward {
        Forward {
            anthropic_version: h.get(ANTHROPIC_VERSION).cloned(),
            anthropic_beta: h.get(ANTHROPIC_BETA).cloned(),
            request_id: None,
            traceparent: h.get(crate::trace::TRACEPARENT).cloned(),
            tracestate: h.get(crate::trace::TRACESTATE).cloned(),
        }
    }
}

/// The upstream request for `hop` in `protocol`, with its headers written into `headers`
/// (cleared first, so the caller's own map can be reused without copying any of it).
pub(crate) fn build(
    hop: &HopRef<'_>,
    prepared: &Prepared,
    protocol: Protocol,
    stream: bool,
    body: Bytes,
    forward: &Forward,
    headers: HeaderMap,
) -> Result<Request<Full<Bytes>>, BuildError> {
    let uri = match prepared.target(hop).and_then(|t| t.uri(protocol, stream)) {
        Some(u) => u.clone(),
        None => hop
            .url(protocol, stream)
            .as_ref()
            .parse()
            .map_err(|_| BuildError::BadUrl)?,
    };
    build_to(hop, prepared, protocol, uri, stream, body, forward, headers)
}

/// As [`build`], to `uri` (an auxiliary endpoint of the provider, such as `count_tokens`).
#[allow(
    clippy::too_many_arguments,
    reason = "each is a distinct input of one request; a struct would only rename them"
)]
pub(crate) fn build_to(
    hop: &HopRef<'_>,
    prepared: &Prepared,
    protocol: Protocol,
    uri: Uri,
    stream: bool,
    body: Bytes,
    forward: &Forward,
    mut headers: HeaderMap,
) -> Result<Request<Full<Bytes>>, BuildError> {
    let target = prepared.target(hop);
    // The caller's `Content-Length` value still fits when the body was not rewritten; keeping
    // it spares the client formatting a new one.
    let same_length = headers
        .get(header::CONTENT_LENGTH)
        .filter(|v| v.to_str().ok().and_then(|v| v.parse::<usize>().ok()) == Some(body.len()))
        .cloned();
    headers.clear();
    if let Some(len) = same_length {
        headers.insert(header::CONTENT_LENGTH, len);
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static(if stream {
            "text/event-stream"
        } else {
            "application/json"
        }),
    );
    headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
    if let Some(id) = &forward.request_id {
        headers.insert(X_REQUEST_ID, id.clone());
    }
    if let Some(tp) = &forward.traceparent {
        headers.insert(crate::trace::TRACEPARENT, tp.clone());
        if let Some(ts) = &forward.tracestate {
            headers.insert(crate::trace::TRACESTATE, ts.clone());
        }
    }
    if let Some(host) = target.and_then(|t| t.host.clone()) {
        headers.insert(header::HOST, host);
    }
    let pp = prepared.provider(hop);
    let scheme = hop.provider.auth(protocol);
    match &hop.provider.credential {
        Credential::Key(_) => {
            let (name, value) = match scheme {
                AuthScheme::Bearer => (header::AUTHORIZATION, &pp.bearer),
                AuthScheme::AnthropicKey { .. } => (X_API_KEY, &pp.key),
                AuthScheme::GoogApiKey => (X_GOOG_API_KEY, &pp.key),
            };
            let value = value
                .clone()
                .ok_or_else(|| BuildError::BadHeader("API key".into()))?;
            headers.insert(name, value);
        }
        Credential::Missing(var) => return Err(BuildError::MissingKey(var.clone())),
        Credential::None => {}
    }
    if let AuthScheme::AnthropicKey { version } = scheme {
        let v = forward
            .anthropic_version
            .clone()
            .unwrap_or_else(|| HeaderValue::from_static(version));
        headers.insert(ANTHROPIC_VERSION, v);
        if let Some(b) = &forward.anthropic_beta {
            headers.insert(ANTHROPIC_BETA, b.clone());
        }
    }
    match &pp.headers {
        Ok(list) => {
            for (n, v) in list.iter() {
                headers.insert(n.clone(), v.clone());
            }
        }
        Err(name) => return Err(BuildError::BadHeader(name.clone())),
    }
    let mut req = Request::new(Full::new(body));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    Ok(req)
}

const USER_AGENT: &str = concat!("bitrouter/", env!("CARGO_PKG_VERSION"));
