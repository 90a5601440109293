//! A small OTLP receiver for tests: OTLP/HTTP (`POST /v1/traces`, `/v1/metrics`, protobuf
//! bodies) and OTLP/gRPC (the `TraceService` and `MetricsService`), both decoding with the
//! official `opentelemetry-proto` definitions, on loopback. Everything received is kept for
//! the test to inspect; every wait is bounded.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tokio::net::TcpListener;

/// What the receiver got, in arrival order.
#[derive(Debug, Default)]
pub struct Received {
    pub traces: Vec<ExportTraceServiceRequest>,
    pub metrics: Vec<ExportMetricsServiceRequest>,
    /// `(path, header name, value)` of HTTP exports and gRPC metadata.
    pub headers: Vec<(String, String, String)>,
}

/// A running receiver; dropping it stops both listeners.
#[derive(Debug)]
pub struct OtlpReceiver {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    state: Arc<Mutex<Received>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

#[derive(Clone, Debug)]
struct Grpc(Arc<Mutex<Received>>);

fn lock(m: &Mutex<Received>) -> std::sync::MutexGuard<'_, Received> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn keep_metadata(state: &Mutex<Received>, path: &str, m: &tonic::metadata::MetadataMap) {
    let mut s = lock(state);
    for kv in m.iter() {
        if let tonic::metadata::KeyAndValueRef::Ascii(k, v) = kv {
            let v = v.to_str().unwrap_or("").to_owned();
            s.headers.push((path.to_owned(), k.as_str().to_owned(), v));
        }
    }
}

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        req: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        keep_metadata(&self.0, "grpc traces", req.metadata());
        lock(&self.0).traces.push(req.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        req: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        keep_metadata(&self.0, "grpc metrics", req.metadata());
        lock(&self.0).metrics.push(req.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

impl OtlpReceiver {
    pub async fn start() -> std::io::Result<OtlpReceiver> {
        let state = Arc::new(Mutex::new(Received::default()));
        let http_l = TcpListener::bind("127.0.0.1:0").await?;
        let grpc_l = TcpListener::bind("127.0.0.1:0").await?;
        let (http, grpc) = (http_l.local_addr()?, grpc_l.local_addr()?);
        let s = Arc::clone(&state);
        let http_task = tokio::spawn(async move {
            while let Ok((stream, _)) = http_l.accept().await {
                let s = Arc::clone(&s);
                tokio::spawn(async move {
                    let svc =
                        hyper::service::service_fn(move |req| http_export(Arc::clone(&s), req));
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        let g = Grpc(Arc::clone(&state));
        let grpc_task = tokio::spawn(async move {
            let traces = TraceServiceServer::new(g.clone());
            let metrics = MetricsServiceServer::new(g);
            while let Ok((stream, _)) = grpc_l.accept().await {
                let (traces, metrics) = (traces.clone(), metrics.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                        let (mut traces, mut metrics) = (traces.clone(), metrics.clone());
                        async move {
                            use tower_service::Service;
                            let path = req.uri().path().to_owned();
                            if path.contains("MetricsService") {
                                metrics.call(req).await
                            } else {
                                traces.call(req).await
                            }
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .http2_only()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(OtlpReceiver {
            http,
            grpc,
            state,
            tasks: vec![http_task, grpc_task],
        })
    }

    /// Runs `f` on what has arrived.
    pub fn with<R>(&self, f: impl FnOnce(&Received) -> R) -> R {
        f(&lock(&self.state))
    }

    /// Waits up to `timeout` until `f` holds for what has arrived.
    pub async fn wait_for(&self, timeout: Duration, f: impl Fn(&Received) -> bool) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if self.with(&f) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn http_export(
    state: Arc<Mutex<Received>>,
    req: http::Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let headers: Vec<(String, String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                path.clone(),
                k.as_str().to_owned(),
                v.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let ok = {
        let mut s = lock(&state);
        s.headers.extend(headers);
        match path.as_str() {
            "/v1/traces" => ExportTraceServiceRequest::decode(body)
                .map(|r| s.traces.push(r))
                .is_ok(),
            "/v1/metrics" => ExportMetricsServiceRequest::decode(body)
                .map(|r| s.metrics.push(r))
                .is_ok(),
            _ => false,
        }
    };
    let mut res = http::Response::new(Full::new(Bytes::new()));
    if !ok {
        *res.status_mut() = http::StatusCode::BAD_REQUEST;
    }
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-protobuf"),
    );
    Ok(res)
}
