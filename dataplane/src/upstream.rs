//! The upstream HTTP client: pooled hyper-util clients over rustls (webpki roots, HTTP/2 when
//! the server offers it), an SSRF re-check on every DNS answer, and per-protocol request
//! building (auth headers, provider headers, URL).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use compiler::table::{AuthScheme, Credential, HopRef, Protocol, classify_upstream_ip};

use crate::prepared::Prepared;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, header};
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use smallvec::SmallVec;

pub(crate) type Client = HyperClient<HttpsConnector<HttpConnector<Resolver>>, Full<Bytes>>;

/// Resolves names with the system resolver and drops any address the SSRF rule refuses, so a
/// DNS answer cannot point a public-looking host at metadata or (without the opt-in) private
/// addresses.
#[derive(Clone, Debug)]
pub(crate) struct Resolver {
    allow_private: bool,
}

impl tower_service::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| classify_upstream_ip(a.ip(), allow_private).is_ok())
                .collect();
            if addrs.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "`{}` resolves only to addresses upstreams may not use \
                         (metadata, link-local, or private without `allow_private`)",
                        name.as_str()
                    ),
                ));
            }
            Ok(addrs.into_iter())
        })
    }
}

/// Connect timeout and `allow_private`: what a client's connector is built with.
type ClientKey = (Duration, bool);

/// Clients by [`ClientKey`].
#[derive(Debug)]
pub(crate) struct Clients {
    tls: rustls::ClientConfig,
    clients: Mutex<SmallVec<[(ClientKey, Client); 4]>>,
}

impl Clients {
    pub(crate) fn new() -> Clients {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = match rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
        {
            Ok(b) => b.with_root_certificates(roots).with_no_client_auth(),
            // The ring provider supports the default versions; this arm is unreachable in
            // practice and falls back to rustls' own defaults rather than panicking.
            Err(_) => {
                rustls::ClientConfig::builder_with_protocol_versions(rustls::DEFAULT_VERSIONS)
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            }
        };
        Clients {
            tls,
            clients: Mutex::new(SmallVec::new()),
        }
    }

    pub(crate) fn get(&self, connect: Duration, allow_private: bool) -> Client {
        let mut list = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let key = (connect, allow_private);
        if let Some((_, c)) = list.iter().find(|(k, _)| *k == key) {
            return c.clone();
        }
        let mut http = HttpConnector::new_with_resolver(Resolver { allow_private });
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(self.tls.clone())
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(https);
        list.push((key, client.clone()));
        client
    }
}

impl Default for Clients {
    fn default() -> Clients {
        Clients::new()
    }
}

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

/// Caller headers worth forwarding on a same-protocol Anthropic call (never credentials).
#[derive(Debug, Default)]
pub(crate) struct Forward {
    anthropic_version: Option<HeaderValue>,
    anthropic_beta: Option<HeaderValue>,
}

impl Forward {
    pub(crate) fn from_caller(h: &HeaderMap) -> Forward {
        Forward {
            anthropic_version: h.get(ANTHROPIC_VERSION).cloned(),
            anthropic_beta: h.get(ANTHROPIC_BETA).cloned(),
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
    mut headers: HeaderMap,
) -> Result<Request<Full<Bytes>>, BuildError> {
    let target = prepared.target(hop);
    let uri = match target.and_then(|t| t.uri(protocol, stream)) {
        Some(u) => u.clone(),
        None => hop
            .url(protocol, stream)
            .as_ref()
            .parse()
            .map_err(|_| BuildError::BadUrl)?,
    };
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
