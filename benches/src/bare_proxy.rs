//! The yardstick for the data plane: a bare hyper 1.x passthrough proxy.
//!
//! Every request is forwarded to one fixed upstream with a pooled hyper-util legacy client
//! (plain `HttpConnector`, no TLS, `TCP_NODELAY` on both sides) and the upstream's response body
//! is streamed back unchanged. Only what must change is rewritten: the request URI becomes
//! absolute for the upstream, and `Host` names the upstream. Nothing is parsed, buffered, logged
//! or routed, so the difference between this and `bitrouter serve` is what routing costs.
//!
//! Used by the `bare-proxy` binary (load benchmark, `benches/load/run.sh`) and in-process by the
//! `alloc_per_request` example.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;

use bytes::Bytes;
use http::header::HOST;
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::{Either, Empty};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

/// The response body: the upstream's, streamed through, or empty for a 502.
pub type Body = Either<Incoming, Empty<Bytes>>;

/// What the proxy forwards to: one `http://host:port` upstream.
#[derive(Clone, Debug)]
pub struct Upstream {
    authority: Authority,
    host: HeaderValue,
}

impl Upstream {
    /// Parses `http://host:port` (a path, if any, is ignored: request paths pass through).
    pub fn parse(url: &str) -> Result<Upstream, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("bad upstream {url:?}: {e}"))?;
        if uri.scheme() != Some(&Scheme::HTTP) {
            return Err(format!(
                "upstream {url:?} must be http:// (the bare proxy has no TLS)"
            ));
        }
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| format!("upstream {url:?} has no host"))?;
        let host = HeaderValue::from_str(authority.as_str())
            .map_err(|e| format!("bad upstream host {url:?}: {e}"))?;
        Ok(Upstream { authority, host })
    }

    /// The upstream of a socket address (`http://ADDR`).
    pub fn from_addr(addr: SocketAddr) -> Upstream {
        match Upstream::parse(&format!("http://{addr}")) {
            Ok(u) => u,
            // A SocketAddr always renders as a valid authority.
            Err(e) => unreachable!("{e}"),
        }
    }
}

/// The shared state of one proxy: the pooled client and the upstream, shared by every
/// connection through one `Arc`.
#[derive(Debug)]
pub struct BareProxy {
    client: Client<HttpConnector, Incoming>,
    upstream: Upstream,
}

impl BareProxy {
    pub fn new(upstream: Upstream) -> BareProxy {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        BareProxy { client, upstream }
    }

    /// Forwards one request. Upstream connection errors become an empty 502.
    pub async fn forward(&self, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
        let (mut parts, body) = req.into_parts();
        let mut uri = std::mem::take(&mut parts.uri).into_parts();
        uri.scheme = Some(Scheme::HTTP);
        uri.authority = Some(self.upstream.authority.clone());
        if uri.path_and_query.is_none() {
            uri.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
        }
        parts.uri = match Uri::from_parts(uri) {
            Ok(u) => u,
            Err(_) => return Ok(status(StatusCode::BAD_REQUEST)),
        };
        parts.headers.insert(HOST, self.upstream.host.clone());
        match self.client.request(Request::from_parts(parts, body)).await {
            Ok(resp) => Ok(resp.map(Either::Left)),
            Err(_) => Ok(status(StatusCode::BAD_GATEWAY)),
        }
    }

    /// Accepts connections on `listener` and serves each on its own task (HTTP/1.1, or HTTP/2
    /// when the client opens with the preface) until `shutdown` resolves. Connections already
    /// accepted run to completion on their tasks.
    pub async fn run(self: Arc<Self>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let mut shutdown = pin!(shutdown);
        loop {
            let (stream, _) = tokio::select! {
                () = &mut shutdown => return,
                accepted = listener.accept() => match accepted {
                    Ok(s) => s,
                    // EMFILE and friends: back off briefly instead of spinning.
                    Err(_) => {
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let proxy = Arc::clone(&self);
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let proxy = Arc::clone(&proxy);
                    async move { proxy.forward(req).await }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }
}

/// Binds `listen` and serves in the background on the current tokio runtime until the process
/// ends; returns the bound address.
pub async fn spawn(listen: SocketAddr, upstream: Upstream) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(Arc::new(BareProxy::new(upstream)).run(listener, std::future::pending()));
    Ok(addr)
}

fn status(code: StatusCode) -> Response<Body> {
    let mut r = Response::new(Either::Right(Empty::new()));
    *r.status_mut() = code;
    r
}
