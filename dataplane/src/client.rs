//! The upstream HTTP clients: pooled hyper-util clients over rustls (webpki roots, HTTP/2 when
//! the server offers it), with an SSRF re-check on every DNS answer.
//!
//! One client per (connect timeout, `allow_private`), kept for the life of the process so
//! connection pools survive reloads. Each table's providers get theirs at publish
//! (`prepared.rs`); a request uses the one its provider holds, with no lock and no clone.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use compiler::table::classify_upstream_ip;
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

/// Every client the process has built, by [`ClientKey`].
#[derive(Debug)]
pub(crate) struct Clients {
    tls: Arc<rustls::ClientConfig>,
    /// Locked only at publish (`benches/benches/reload.rs` measures publish), never per
    /// request.
    built: Mutex<SmallVec<[(ClientKey, Client); 4]>>,
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
            tls: Arc::new(tls),
            built: Mutex::new(SmallVec::new()),
        }
    }

    /// The client for these settings, built the first time they are asked for.
    pub(crate) fn get(&self, connect: Duration, allow_private: bool) -> Client {
        let mut list = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (connect, allow_private);
        if let Some((_, c)) = list.iter().find(|(k, _)| *k == key) {
            return c.clone();
        }
        let mut http = HttpConnector::new_with_resolver(Resolver { allow_private });
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*self.tls).clone())
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
