//! The listener: accept loop, per-connection HTTP/1.1 + HTTP/2 settings (header limits and
//! read timeout from the table's `server.limits`), the in-flight request limit, and graceful
//! shutdown (`server.drain`): `/ready` turns 503, new connections are still accepted for a
//! while when an orchestrator asked ([`Stop::Drain`]) with `Connection: close` on every
//! response, and open requests get until the drain deadline; and the metrics listener
//! (`server.metrics_listen`), which serves `GET /metrics` and nothing else.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use compiler::table::RoutingTable;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use auth::Trust;

use crate::handler;
use crate::metrics::{Metrics, Totals};
use crate::prepared::LoadedTable;
use crate::shared::Shared;

/// How a shutdown begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Stop accepting at once, then drain (`bitrouter stop`, Ctrl-C).
    Close,
    /// An orchestrator's SIGTERM: keep accepting for `server.drain.accept` (so a load balancer
    /// that has not yet seen `/ready` turn 503 is still served), then stop and drain.
    Drain,
}

/// One target of the table and its breaker (`Server::endpoints`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub provider: String,
    pub upstream_model: String,
    pub breaker: crate::breaker::BreakerState,
}

/// The data plane: serves requests against the current table.
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
}

impl Server {
    /// A server for `table`, trusting only the issuers its `server.auth` names.
    pub fn new(table: RoutingTable) -> Arc<Server> {
        Server::trusting(table, &Trust::default())
    }

    /// A server for `table` that also trusts `trust`'s issuers and refuses its revoked tokens
    /// (the runtime passes the home's accounts and revocation file).
    pub fn trusting(table: RoutingTable, trust: &Trust) -> Arc<Server> {
        Arc::new(Server {
            shared: Arc::new(Shared::new(table, trust)),
        })
    }

    /// Swaps in a new table (prepared first, then one atomic store; cannot fail). Requests
    /// already running finish on the table they loaded.
    pub fn publish(&self, table: RoutingTable) {
        self.shared.publish(table, &Trust::default());
    }

    /// As [`Server::publish`], with issuers and revocations from outside the configuration.
    pub fn publish_trusting(&self, table: RoutingTable, trust: &Trust) {
        self.shared.publish(table, trust);
    }

    /// The current table.
    pub fn table(&self) -> Arc<LoadedTable> {
        self.shared.tables.load()
    }

    /// Requests being served now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    /// Installs the OTLP exporter's sink (once; a second call is ignored and returns `false`).
    pub fn set_sink(&self, sink: Arc<dyn crate::trace::Sink>) -> bool {
        self.shared.sink.set(sink).is_ok()
    }

    /// Installs the usage ledger's sink (once; a second call is ignored and returns `false`).
    pub fn set_usage_sink(&self, sink: Arc<dyn crate::usage::UsageSink>) -> bool {
        self.shared.usage.set(sink).is_ok()
    }

    /// Spent-so-far per key and window from the ledger: raises each counter to the ledger's
    /// figure (never lowers it: the ledger lags the counters by its writer's delay) and
    /// expires stale reservations. The runtime calls it at start and every minute.
    pub fn seed_spend(&self, seeds: &[crate::spend::Seed]) {
        for s in seeds {
            self.shared.spend.seed(s);
        }
        self.shared.spend.sweep(crate::spend::now());
        // With a shared store the same raise-only seeds go there (the ledger is then the
        // replicas' shared database), on one bounded task.
        let table = self.shared.tables.load();
        if let (Some(store), Ok(rt)) = (
            table.prepared.limits.clone(),
            tokio::runtime::Handle::try_current(),
        ) && !seeds.is_empty()
        {
            let seeds = seeds.to_vec();
            rt.spawn(async move {
                for s in &seeds {
                    if let Err(e) = store.seed(s).await {
                        tracing::warn!(error = %e, "could not seed the shared limit store from the ledger");
                        break;
                    }
                }
            });
        }
    }

    /// A key's budget counters in `window` as the shared store (`server.limits.store`) holds
    /// them; `None` without a store, `Some(Err)` when it did not answer.
    pub async fn shared_spend_counters(
        &self,
        key_id: &str,
        window: crate::spend::BudgetWindow,
    ) -> Option<Result<crate::spend::Counters, String>> {
        let store = self.shared.tables.load().prepared.limits.clone()?;
        Some(
            store
                .counters(key_id, window)
                .await
                .map_err(|e| e.to_string()),
        )
    }

    /// A key's budget counters in `window` now (`None`: no request or seed has touched it).
    pub fn spend_counters(
        &self,
        key_id: &str,
        window: crate::spend::BudgetWindow,
    ) -> Option<crate::spend::Counters> {
        self.shared
            .spend
            .counters(key_id, window, crate::spend::now())
    }

    /// Subscribes to live request events (see `dataplane::events`); the subscription ends
    /// when dropped.
    pub fn subscribe(&self) -> crate::events::Subscription {
        crate::events::Subscription::new(&self.shared.events)
    }

    /// Every target of the current table with its breaker's state now.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let table = self.shared.tables.load();
        let now = std::time::Instant::now();
        table
            .targets()
            .iter()
            .zip(table.prepared.breakers())
            .map(|(t, b)| Endpoint {
                provider: table.provider(t.provider).name.to_string(),
                upstream_model: t.upstream.to_string(),
                breaker: b.state(now),
            })
            .collect()
    }

    /// This server's metrics (the runtime counts reloads through it).
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Requests served, errors, open streams: the counters `/metrics` renders.
    pub fn totals(&self) -> Totals {
        self.shared.metrics.totals()
    }

    /// The `GET /metrics` exposition (Prometheus text, version 0.0.4).
    pub fn scrape(&self) -> String {
        self.shared.scrape()
    }

    /// Serves `GET /metrics` on `listener` (no token: it is meant for a port only Prometheus
    /// reaches) until `shutdown` completes. Anything else is a 404.
    pub async fn run_metrics(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            let stream = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((s, _)) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "metrics listener: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let shared = Arc::clone(&self.shared);
            let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                let shared = Arc::clone(&shared);
                async move {
                    let res = if req.method() == http::Method::GET && req.uri().path() == "/metrics"
                    {
                        crate::respond::metrics(shared.scrape())
                    } else {
                        let mut r = http::Response::new(crate::body::Body::full(
                            "only GET /metrics is served here\n",
                        ));
                        *r.status_mut() = http::StatusCode::NOT_FOUND;
                        r
                    };
                    Ok::<_, Infallible>(res)
                }
            });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10));
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let conn = graceful.watch(conn.into_owned());
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
        drop(listener);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        Ok(())
    }

    /// Serves `listener` until `shutdown` completes, then stops accepting at once and drains
    /// ([`Server::run_until`] with [`Stop::Close`]).
    pub async fn run(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        self.run_until(listener, async move {
            shutdown.await;
            Stop::Close
        })
        .await
    }

    /// Serves `listener` until `shutdown` completes. Then `/ready` answers 503 at once (and
    /// `/health` still 200), every response carries `Connection: close`; with [`Stop::Drain`]
    /// new connections are still accepted for `server.drain.accept`; then the listener
    /// closes, idle connections are closed (HTTP/2: GOAWAY) and open requests get until
    /// `server.drain.timeout` after the signal; whatever is still open then is cut.
    pub async fn run_until(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = Stop> + Send + 'static,
    ) -> io::Result<()> {
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        let stop = loop {
            tokio::select! {
                stop = &mut shutdown => break stop,
                accepted = listener.accept() => self.accepted(accepted, &graceful).await,
            }
        };
        self.shared.draining.store(true, Ordering::Release);
        let began = Instant::now();
        let (timeout, accept) = {
            let table = self.shared.tables.load();
            let s = table.server();
            (s.drain_timeout, s.drain_accept.min(s.drain_timeout))
        };
        if stop == Stop::Drain && !accept.is_zero() {
            tracing::info!(
                accept_for = ?accept,
                timeout = ?timeout,
                in_flight = self.in_flight(),
                "draining: /ready answers 503; still accepting while load balancers notice"
            );
            let until = began + accept;
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(until) => break,
                    accepted = listener.accept() => self.accepted(accepted, &graceful).await,
                }
            }
        }
        drop(listener);
        tracing::info!(
            in_flight = self.in_flight(),
            "draining: no longer accepting"
        );
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep_until(began + timeout) => {
                tracing::warn!(
                    in_flight = self.in_flight(),
                    "drain timeout reached; closing remaining connections"
                );
            }
        }
        Ok(())
    }

    async fn accepted(
        &self,
        accepted: io::Result<(tokio::net::TcpStream, SocketAddr)>,
        graceful: &GracefulShutdown,
    ) {
        match accepted {
            Ok((stream, peer)) => self.serve_connection(stream, peer, graceful),
            Err(e) => {
                // Out of file descriptors and the like: back off, keep serving.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    fn serve_connection(
        &self,
        stream: tokio::net::TcpStream,
        peer: SocketAddr,
        graceful: &GracefulShutdown,
    ) {
        // Small SSE frames must leave at once: with Nagle's algorithm a frame written while the
        // previous one is unacknowledged waits for the peer's delayed ACK, up to 40 ms
        // (`dataplane/tests/it/nagle.rs`).
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().ok();
        let table = self.shared.tables.load();
        let limits = table.server();
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .keep_alive(true)
            // hyper's own caps sit above the configured ones, which the handler enforces in
            // the caller's error shape.
            .max_headers(
                (limits.max_headers as usize)
                    .saturating_mul(2)
                    .clamp(100, 4096),
            )
            .max_buf_size(
                (limits.max_header_size as usize)
                    .saturating_mul(2)
                    .max(16 * 1024),
            );
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(100)
            .initial_stream_window_size(64 * 1024)
            .initial_connection_window_size(1024 * 1024)
            .max_header_list_size(
                u32::try_from(limits.max_header_size.saturating_mul(2)).unwrap_or(u32::MAX),
            );
        let shared = Arc::clone(&self.shared);
        let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
            let shared = Arc::clone(&shared);
            async move {
                let h1 = req.version() < http::Version::HTTP_2;
                let mut res = handler::handle(&shared, req, local).await;
                // Draining: an HTTP/1 connection ends after this response, so the balancer
                // opens its next one to a replica that is staying (HTTP/2 gets a GOAWAY when
                // the listener closes).
                if h1 && shared.draining.load(Ordering::Acquire) {
                    res.headers_mut().insert(
                        http::header::CONNECTION,
                        http::HeaderValue::from_static("close"),
                    );
                }
                Ok::<_, Infallible>(res)
            }
        });
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}
