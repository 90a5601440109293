//! OTLP export (`plugins.bitrouter-observe.otel`, `OTEL_*`): traces and metrics to any
//! OpenTelemetry backend over OTLP/HTTP (protobuf) or OTLP/gRPC, with opentelemetry-otlp's
//! exporters.
//!
//! - Traces (`trace.rs`): the data plane hands each sampled request's spans to a bounded
//!   queue ([`dataplane::trace::Sink`], never blocking); one task batches them (up to 512
//!   spans or 1 s) and exports. A full queue or a failed export drops the batch and counts it
//!   in `bitrouter_otel_dropped_spans_total`: a dead collector costs the hot path nothing.
//! - Metrics (`metrics.rs`): an SDK meter provider with a periodic reader. The counters and
//!   gauges are observed at each export from the same exposition `/metrics` renders, so both
//!   agree; the GenAI histograms are recorded per finished request with the same buckets.
//!
//! Started by [`crate::daemon::Running::serve`] when the table has OTLP settings.

mod http_client;
mod metrics;
mod trace;

use std::sync::Arc;
use std::time::Duration;

use compiler::table::{Otel, OtlpProtocol};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;

/// Knobs tests turn (the daemon uses the defaults).
#[derive(Clone, Copy, Debug)]
pub struct ObserveOptions {
    /// How often metrics are exported (default: `OTEL_METRIC_EXPORT_INTERVAL`, else 60 s, as
    /// the SDK reads it).
    pub metric_interval: Option<Duration>,
    /// Longest wait for a batch of spans.
    pub span_delay: Duration,
}

impl Default for ObserveOptions {
    fn default() -> ObserveOptions {
        ObserveOptions {
            metric_interval: None,
            span_delay: Duration::from_secs(1),
        }
    }
}

/// Why export could not start (the router serves anyway; this is logged).
#[derive(Debug, thiserror::Error)]
#[error("OTLP export could not start: {0}")]
pub struct ObserveError(String);

/// Running exporters; [`Observe::shutdown`] flushes them.
#[derive(Debug)]
pub struct Observe {
    traces: trace::Traces,
    metrics: metrics::Metrics,
}

const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

fn headers(otel: &Otel) -> std::collections::HashMap<String, String> {
    otel.headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.expose().to_owned()))
        .collect()
}

/// `/v1/<signal>` under the configured base URL (the exporter takes the full URL for HTTP).
fn signal_url(base: &str, signal: &str) -> String {
    format!("{}/v1/{signal}", base.trim_end_matches('/'))
}

fn tonic_metadata(otel: &Otel) -> tonic::metadata::MetadataMap {
    let mut m = tonic::metadata::MetadataMap::new();
    for (k, v) in otel.headers.iter() {
        if let (Ok(k), Ok(v)) = (
            tonic::metadata::MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes()),
            tonic::metadata::MetadataValue::try_from(v.expose()),
        ) {
            m.insert(k, v);
        }
    }
    m
}

/// Starts both exporters for `server` and installs the data plane's sink. Needs a tokio
/// runtime (the gRPC channel and the batching task live on it).
pub fn start(
    server: &Arc<dataplane::Server>,
    otel: &Otel,
    options: ObserveOptions,
) -> Result<Observe, ObserveError> {
    let resource = Resource::builder()
        .with_service_name(otel.service_name.to_string())
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    let err = |e: opentelemetry_otlp::ExporterBuildError| ObserveError(e.to_string());
    let (spans, metric_exporter) = match otel.protocol {
        OtlpProtocol::Http => {
            let client = Arc::new(http_client::HyperClient::new());
            let spans = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_shared_http_client(Arc::clone(&client) as _)
                .with_endpoint(signal_url(&otel.endpoint, "traces"))
                .with_headers(headers(otel))
                .with_timeout(EXPORT_TIMEOUT)
                .build()
                .map_err(err)?;
            let metrics = opentelemetry_otlp::MetricExporter::builder()
                .with_http()
                .with_shared_http_client(client as _)
                .with_endpoint(signal_url(&otel.endpoint, "metrics"))
                .with_headers(headers(otel))
                .with_timeout(EXPORT_TIMEOUT)
                .build()
                .map_err(err)?;
            (spans, metrics)
        }
        OtlpProtocol::Grpc => {
            let spans = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(otel.endpoint.to_string())
                .with_metadata(tonic_metadata(otel))
                .with_timeout(EXPORT_TIMEOUT)
                .build()
                .map_err(err)?;
            let metrics = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_endpoint(otel.endpoint.to_string())
                .with_metadata(tonic_metadata(otel))
                .with_timeout(EXPORT_TIMEOUT)
                .build()
                .map_err(err)?;
            (spans, metrics)
        }
    };
    let traces = trace::Traces::start(spans, &resource, server, options.span_delay);
    let metrics =
        metrics::Metrics::start(metric_exporter, resource, server, options.metric_interval);
    server.set_sink(Arc::new(Sink {
        traces: traces.sender(),
        histograms: metrics.histograms(),
        server: Arc::downgrade(server),
    }));
    tracing::info!(
        endpoint = &*otel.endpoint,
        protocol = ?otel.protocol,
        "exporting traces and metrics over OTLP"
    );
    Ok(Observe { traces, metrics })
}

impl Observe {
    /// Exports what is queued, then stops (bounded: a dead collector does not hold the exit).
    pub async fn shutdown(self) {
        self.traces.shutdown().await;
        self.metrics.shutdown().await;
    }
}

/// What the data plane calls: spans to the queue, observations to the histograms.
#[derive(Debug)]
struct Sink {
    traces: trace::Sender,
    histograms: metrics::Histograms,
    server: std::sync::Weak<dataplane::Server>,
}

impl dataplane::trace::Sink for Sink {
    fn spans(&self, t: dataplane::trace::RequestTrace) {
        let n = t.spans.len() as u64;
        if !self.traces.try_send(t)
            && let Some(s) = self.server.upgrade()
        {
            s.metrics().spans_dropped(n);
        }
    }

    fn finished(&self, s: &dataplane::trace::RequestSummary<'_>) {
        self.histograms.record(s);
    }
}
