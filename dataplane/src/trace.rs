//! Tracing a request for OTLP export: the W3C `traceparent` taken from the caller and passed
//! upstream, the sampling decision (made once, at the start), and the spans a finished request
//! produces — one server span and one client span per upstream attempt — as plain data handed
//! to a [`Sink`] the runtime installs (it owns the OpenTelemetry exporter, its batching and
//! its queue). Without a sink, or for a request that is not sampled, nothing here runs beyond
//! forwarding the caller's own `traceparent` unchanged.

use std::fmt;
use std::time::SystemTime;

use compiler::table::{Otel, Sampler};
use http::{HeaderMap, HeaderName, HeaderValue};

pub(crate) const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
pub(crate) const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// A span attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
}

/// One finished span.
#[derive(Clone, Debug)]
pub struct SpanRecord {
    pub span_id: [u8; 8],
    /// The server span's parent is the caller's span (if it sent one); an attempt's parent is
    /// the server span.
    pub parent: Option<[u8; 8]>,
    /// Server span (`true`) or a client span for an upstream attempt.
    pub server: bool,
    pub name: String,
    pub start: SystemTime,
    pub end: SystemTime,
    pub attributes: Vec<(&'static str, Value)>,
    /// Failed (the span's status is an error).
    pub error: bool,
}

/// Every span of one request.
#[derive(Clone, Debug)]
pub struct RequestTrace {
    pub trace_id: [u8; 16],
    /// Whether the parent came from the caller's `traceparent`.
    pub remote_parent: bool,
    pub spans: Vec<SpanRecord>,
}

/// The observations of one finished request, with label values as names (for OTLP metrics).
#[derive(Clone, Debug)]
pub struct RequestSummary<'a> {
    pub operation: &'static str,
    pub provider: &'a str,
    pub request_model: &'a str,
    pub response_model: &'a str,
    /// The status, when the request did not complete.
    pub error_type: Option<u16>,
    pub duration_secs: f64,
    pub time_to_first_token_secs: Option<f64>,
    pub time_per_output_token_secs: Option<f64>,
    /// `(gen_ai_token_type, count)`.
    pub tokens: &'a [(&'static str, u64)],
    pub overhead_secs: f64,
}

/// Where traces and per-request observations go (installed once by the runtime).
pub trait Sink: Send + Sync + fmt::Debug {
    /// A sampled request's spans; must not block (queue, or drop and count).
    fn spans(&self, trace: RequestTrace);
    /// Every finished model call (for histograms exported over OTLP).
    fn finished(&self, summary: &RequestSummary<'_>);
}

/// The caller's `traceparent`, when it is a valid version-00 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Parent {
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
    pub(crate) sampled: bool,
}

fn hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl Parent {
    pub(crate) fn from_headers(h: &HeaderMap) -> Option<Parent> {
        let v = h.get(&TRACEPARENT)?.to_str().ok()?.trim();
        let mut parts = v.split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != "00" || parts.next().is_some() {
            return None;
        }
        let trace_id = hex::<16>(trace).filter(|t| t != &[0; 16])?;
        let span_id = hex::<8>(span).filter(|s| s != &[0; 8])?;
        let flags = hex::<1>(flags)?;
        Some(Parent {
            trace_id,
            span_id,
            sampled: flags[0] & 1 == 1,
        })
    }
}

/// A fresh random id (no allocation; `RandomState` is seeded per process and per call).
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(N.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish().max(1)
}

/// Whether a request is sampled, by the configured sampler (the OpenTelemetry rules: the
/// ratio samplers keep a trace when the low 64 bits of its id fall under `ratio × 2^64`).
pub(crate) fn sampled(otel: &Otel, parent: Option<&Parent>, trace_id: &[u8; 16]) -> bool {
    let ratio = || {
        let low = u64::from_be_bytes(trace_id[8..].try_into().unwrap_or([0; 8]));
        (low as f64) < otel.sampler_arg * (u64::MAX as f64)
    };
    match (otel.sampler, parent) {
        (Sampler::AlwaysOn, _) => true,
        (Sampler::AlwaysOff, _) => false,
        (Sampler::Traceidratio, _) => ratio(),
        (_, Some(p)) => p.sampled,
        (Sampler::ParentbasedAlwaysOn, None) => true,
        (Sampler::ParentbasedAlwaysOff, None) => false,
        (Sampler::ParentbasedTraceidratio, None) => ratio(),
    }
}

/// `00-<trace>-<span>-01`.
pub(crate) fn traceparent(trace_id: &[u8; 16], span_id: &[u8; 8]) -> Option<HeaderValue> {
    let mut s = String::with_capacity(55);
    s.push_str("00-");
    for b in trace_id.iter().chain(span_id.iter()) {
        s.push_str(&format!("{b:02x}"));
        if std::ptr::eq(b, &trace_id[15]) {
            s.push('-');
        }
    }
    s.push_str("-01");
    HeaderValue::from_str(&s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_and_rejects_bad_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            TRACEPARENT,
            HeaderValue::from_static("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        );
        let p = Parent::from_headers(&h).unwrap();
        assert!(p.sampled);
        assert_eq!(
            traceparent(&p.trace_id, &p.span_id).unwrap(),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        );
        for bad in [
            "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        ] {
            h.insert(TRACEPARENT, HeaderValue::from_static(bad));
            assert_eq!(Parent::from_headers(&h), None, "{bad}");
        }
    }
}
