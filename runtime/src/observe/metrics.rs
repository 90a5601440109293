//! The metric pipeline: an SDK meter provider with a periodic OTLP reader. Counters and gauges
//! are observable instruments read, once per export, from the exposition `/metrics` serves (so
//! the two never disagree); the GenAI histograms (and the router's overhead) are SDK
//! histograms recorded for every finished request, with the buckets `/metrics` uses.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use dataplane::buckets;
use dataplane::trace::RequestSummary;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Histogram, MeterProvider as _};
use opentelemetry_otlp::MetricExporter;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};

/// One sample of the exposition: its labels and value.
type Samples = Vec<(Vec<KeyValue>, f64)>;

#[derive(Clone, Debug)]
pub(super) struct Histograms {
    duration: Histogram<f64>,
    tokens: Histogram<u64>,
    ttft: Histogram<f64>,
    tpot: Histogram<f64>,
    overhead: Histogram<f64>,
}

impl Histograms {
    pub(super) fn record(&self, s: &RequestSummary<'_>) {
        let mut attrs = vec![
            KeyValue::new("gen_ai.operation.name", s.operation),
            KeyValue::new("gen_ai.provider.name", s.provider.to_owned()),
            KeyValue::new("gen_ai.request.model", s.request_model.to_owned()),
            KeyValue::new("gen_ai.response.model", s.response_model.to_owned()),
        ];
        self.overhead.record(s.overhead_secs, &[]);
        if let Some(e) = s.error_type {
            let mut with_error = attrs.clone();
            with_error.push(KeyValue::new("error.type", e.to_string()));
            self.duration.record(s.duration_secs, &with_error);
            return;
        }
        self.duration.record(s.duration_secs, &attrs);
        if let Some(t) = s.time_to_first_token_secs {
            self.ttft.record(t, &attrs);
        }
        if let Some(t) = s.time_per_output_token_secs {
            self.tpot.record(t, &attrs);
        }
        for &(ty, n) in s.tokens {
            attrs.push(KeyValue::new("gen_ai.token.type", ty));
            self.tokens.record(n, &attrs);
            attrs.pop();
        }
    }
}

#[derive(Debug)]
pub(super) struct Metrics {
    provider: SdkMeterProvider,
    histograms: Histograms,
}

/// The exposition parsed once per export (every observable callback of one collection reads
/// the same snapshot).
#[derive(Debug, Default)]
struct Snapshot {
    at: Option<Instant>,
    families: BTreeMap<String, Samples>,
}

impl Metrics {
    pub(super) fn start(
        exporter: MetricExporter,
        resource: Resource,
        server: &Arc<dataplane::Server>,
        interval: Option<Duration>,
    ) -> Metrics {
        let mut reader = PeriodicReader::builder(exporter);
        if let Some(i) = interval {
            reader = reader.with_interval(i);
        }
        let provider = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(reader.build())
            .build();
        let meter = provider.meter("bitrouter");
        let h = |name: &'static str, unit: &'static str, bounds: &[f64]| {
            meter
                .f64_histogram(name)
                .with_unit(unit)
                .with_boundaries(bounds.to_vec())
                .build()
        };
        let histograms = Histograms {
            duration: h(
                "gen_ai.server.request.duration",
                "s",
                buckets::DURATION_BUCKETS,
            ),
            tokens: meter
                .u64_histogram("gen_ai.client.token.usage")
                .with_unit("{token}")
                .with_boundaries(buckets::TOKEN_BUCKETS.to_vec())
                .build(),
            ttft: h(
                "gen_ai.server.time_to_first_token",
                "s",
                buckets::TTFT_BUCKETS,
            ),
            tpot: h(
                "gen_ai.server.time_per_output_token",
                "s",
                buckets::TPOT_BUCKETS,
            ),
            overhead: h("bitrouter.overhead", "s", buckets::OVERHEAD_BUCKETS),
        };
        let snapshot = Arc::new(Mutex::new(Snapshot::default()));
        let weak = Arc::downgrade(server);
        for (name, kind) in families(&server.scrape()) {
            let read = reader_for(Arc::clone(&snapshot), Weak::clone(&weak), name.clone());
            let otel_name = name.trim_end_matches("_total").to_owned();
            if kind == "counter" {
                let _ = meter
                    .f64_observable_counter(otel_name)
                    .with_callback(move |o| {
                        for (attrs, v) in read() {
                            o.observe(v, &attrs);
                        }
                    })
                    .build();
            } else {
                let _ = meter
                    .f64_observable_gauge(otel_name)
                    .with_callback(move |o| {
                        for (attrs, v) in read() {
                            o.observe(v, &attrs);
                        }
                    })
                    .build();
            }
        }
        Metrics {
            provider,
            histograms,
        }
    }

    pub(super) fn histograms(&self) -> Histograms {
        self.histograms.clone()
    }

    /// A last export, then stop (on a blocking thread: the SDK's shutdown waits for it).
    pub(super) async fn shutdown(self) {
        let p = self.provider;
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::task::spawn_blocking(move || {
                let _ = p.shutdown();
            }),
        )
        .await;
    }
}

/// A callback's view of family `name`: the snapshot, refreshed when older than a second.
fn reader_for(
    snapshot: Arc<Mutex<Snapshot>>,
    server: Weak<dataplane::Server>,
    name: String,
) -> impl Fn() -> Samples + Send + Sync + 'static {
    move || {
        let mut s = snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        if s.at.is_none_or(|t| t.elapsed() > Duration::from_secs(1)) {
            if let Some(server) = server.upgrade() {
                s.families = samples(&server.scrape());
            }
            s.at = Some(Instant::now());
        }
        s.families.get(&name).cloned().unwrap_or_default()
    }
}

/// The counter and gauge families of an exposition (`# TYPE name kind`); histograms are
/// exported from their own instruments.
fn families(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.strip_prefix("# TYPE ")?.split_whitespace();
            let (name, kind) = (w.next()?, w.next()?);
            matches!(kind, "counter" | "gauge").then(|| (name.to_owned(), kind.to_owned()))
        })
        .collect()
}

/// Every sample line, by metric name (histogram series left out).
fn samples(text: &str) -> BTreeMap<String, Samples> {
    let mut out: BTreeMap<String, Samples> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, labels, value)) = parse_line(line) else {
            continue;
        };
        if name.ends_with("_bucket") || name.ends_with("_sum") || name.ends_with("_count") {
            continue;
        }
        out.entry(name).or_default().push((labels, value));
    }
    out
}

/// `name{k="v",...} value`, with the text format's escapes (`\\`, `\"`, `\n`) undone.
fn parse_line(line: &str) -> Option<(String, Vec<KeyValue>, f64)> {
    let (head, value) = line.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let Some((name, rest)) = head.split_once('{') else {
        return Some((head.to_owned(), Vec::new(), value));
    };
    let mut labels = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        if key.is_empty() || chars.next() != Some('"') {
            break;
        }
        let mut v = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => v.push('\n'),
                    Some(o) => v.push(o),
                    None => break,
                },
                '"' => break,
                c => v.push(c),
            }
        }
        labels.push(KeyValue::new(key.trim_start_matches(',').to_owned(), v));
        if chars.peek() == Some(&'}') {
            break;
        }
    }
    Some((name.to_owned(), labels, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_lines_parse_with_escapes() {
        let (n, l, v) = parse_line(r#"m_total{a="x",b="q\"uote\\d"} 3"#).unwrap();
        assert_eq!((n.as_str(), v), ("m_total", 3.0));
        assert_eq!(l[0], KeyValue::new("a", "x"));
        assert_eq!(l[1], KeyValue::new("b", "q\"uote\\d"));
        assert_eq!(parse_line("up 1").unwrap().1, vec![]);
        let f = families("# TYPE a_total counter\n# TYPE h histogram\n# TYPE g gauge\n");
        assert_eq!(
            f,
            [
                ("a_total".into(), "counter".into()),
                ("g".into(), "gauge".into())
            ]
        );
    }
}
