//! The span pipeline: a bounded queue the data plane fills without blocking, and one task that
//! batches and exports. What cannot be queued or exported is counted as dropped, never retried
//! past the exporter's own attempt.

use std::borrow::Cow;
use std::sync::{Arc, Weak};
use std::time::Duration;

use dataplane::trace::{RequestTrace, Value};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::SpanExporter;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter as _, SpanLinks};
use tokio::sync::mpsc;

/// Requests whose spans may wait for export.
const QUEUE: usize = 2048;
/// Spans per export.
const BATCH: usize = 512;

#[derive(Clone, Debug)]
pub(super) struct Sender(mpsc::Sender<RequestTrace>);

impl Sender {
    /// `false`: the queue is full (or the exporter stopped); the spans are dropped.
    pub(super) fn try_send(&self, t: RequestTrace) -> bool {
        self.0.try_send(t).is_ok()
    }
}

#[derive(Debug)]
pub(super) struct Traces {
    tx: Option<mpsc::Sender<RequestTrace>>,
    task: tokio::task::JoinHandle<()>,
}

impl Traces {
    pub(super) fn start(
        mut exporter: SpanExporter,
        resource: &Resource,
        server: &Arc<dataplane::Server>,
        delay: Duration,
    ) -> Traces {
        exporter.set_resource(resource);
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(exporter, rx, Arc::downgrade(server), delay));
        Traces { tx: Some(tx), task }
    }

    pub(super) fn sender(&self) -> Sender {
        Sender(self.tx.clone().unwrap_or_else(|| mpsc::channel(1).0))
    }

    /// Closes the queue and waits (up to 5 s) for the last batch.
    pub(super) async fn shutdown(mut self) {
        self.tx = None;
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.task).await;
        self.task.abort();
    }
}

async fn run(
    exporter: SpanExporter,
    mut rx: mpsc::Receiver<RequestTrace>,
    server: Weak<dataplane::Server>,
    delay: Duration,
) {
    let scope = InstrumentationScope::builder("bitrouter")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let mut batch: Vec<SpanData> = Vec::with_capacity(BATCH);
    loop {
        let closed = tokio::select! {
            t = rx.recv() => match t {
                Some(t) => {
                    convert(t, &scope, &mut batch);
                    false
                }
                None => true,
            },
            () = tokio::time::sleep(delay), if !batch.is_empty() => false,
        };
        // Take what else is queued without waiting, up to a batch.
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(t) => convert(t, &scope, &mut batch),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            let spans = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            let n = spans.len() as u64;
            if let Err(e) = exporter.export(spans).await {
                tracing::debug!(error = %e, spans = n, "OTLP span export failed; dropped");
                if let Some(s) = server.upgrade() {
                    s.metrics().spans_dropped(n);
                }
            }
        }
        if closed {
            break;
        }
    }
    let _ = exporter.shutdown();
}

fn convert(t: RequestTrace, scope: &InstrumentationScope, out: &mut Vec<SpanData>) {
    let trace_id = TraceId::from_bytes(t.trace_id);
    for s in t.spans {
        let attributes = s
            .attributes
            .into_iter()
            .map(|(k, v)| match v {
                Value::Str(v) => KeyValue::new(k, v),
                Value::Int(v) => KeyValue::new(k, v),
                Value::Bool(v) => KeyValue::new(k, v),
            })
            .collect();
        out.push(SpanData {
            span_context: SpanContext::new(
                trace_id,
                SpanId::from_bytes(s.span_id),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: s.parent.map_or(SpanId::INVALID, SpanId::from_bytes),
            parent_span_is_remote: s.server && t.remote_parent,
            span_kind: if s.server {
                SpanKind::Server
            } else {
                SpanKind::Client
            },
            name: Cow::Owned(s.name),
            start_time: s.start,
            end_time: s.end,
            attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: if s.error {
                Status::error("")
            } else {
                Status::Unset
            },
            instrumentation_scope: scope.clone(),
        });
    }
}
