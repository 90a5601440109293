//! The exposition: every metric as Prometheus text (version 0.0.4, what `promtool check
//! metrics` reads and Prometheus scrapes), written by prometheus-client's encoder from a
//! collector that reads the series at scrape time. The live values that are not counters of
//! ours (in-flight requests, breakers, the config hash) come in a [`Live`] from the server.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

use super::series::{Histogram, field};
use super::{
    ATTEMPT, AttemptResult, AuthFailure, FAILOVER, FailoverReason, GENAI, Metrics, OPERATIONS,
    Outcome, REQUEST, ReloadResult, TRANSLATION, TokenType, process, protocol_name,
};

/// Values read from the server at scrape.
#[derive(Debug, Default)]
pub(crate) struct Live {
    pub(crate) in_flight: u64,
    pub(crate) config_hash: String,
    /// Provider, upstream model, open.
    pub(crate) breakers: Vec<(String, String, bool)>,
    /// The usage ledger's dropped rows and spooled bytes (0 without a ledger).
    pub(crate) ledger_dropped: u64,
    pub(crate) ledger_spool_bytes: u64,
    /// Live request events subscribers lost by lagging.
    pub(crate) events_dropped: u64,
}

/// The whole exposition.
pub(crate) fn render(metrics: &Arc<Metrics>, live: Live) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape {
        m: Arc::clone(metrics),
        live,
    }));
    let mut out = String::with_capacity(16 << 10);
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry);
    out
}

#[derive(Debug)]
struct Scrape {
    m: Arc<Metrics>,
    live: Live,
}

fn name(names: &[Arc<str>], id: u64) -> &str {
    names.get(id as usize).map_or("other", |n| n)
}

pub(super) fn counter(e: &mut MetricEncoder<'_>, labels: &[(&str, &str)], v: u64) -> fmt::Result {
    let mut f = e.encode_family(&labels)?;
    f.encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&v, None)
}

fn gauge(e: &mut MetricEncoder<'_>, labels: &[(&str, &str)], v: i64) -> fmt::Result {
    let mut f = e.encode_family(&labels)?;
    f.encode_gauge(&v)
}

fn histogram(e: &mut MetricEncoder<'_>, labels: &[(&str, &str)], h: &Histogram) -> fmt::Result {
    let (sum, count, buckets) = h.read();
    let mut f = e.encode_family(&labels)?;
    f.encode_histogram::<prometheus_client::encoding::NoLabelSet>(sum, count, &buckets, None)
}

impl Collector for Scrape {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> fmt::Result {
        let m = &*self.m;
        let models = m.models.snapshot();
        let providers = m.providers.snapshot();

        let mut e = enc.encode_descriptor(
            "bitrouter_requests",
            "Requests answered, by the model asked for, the provider that answered last, the caller's and the upstream's protocol, the HTTP status and the outcome",
            None,
            MetricType::Counter,
        )?;
        let mut err = Ok(());
        m.requests.each(|k, v| {
            let v = v.load(Ordering::Relaxed);
            if err.is_err() || (k.is_some() && v == 0) {
                return;
            }
            let (model, provider, inb, outb, status, outcome) = match k {
                Some(k) => {
                    let f = |i| field(k, &REQUEST, i);
                    (
                        name(&models, f(0)),
                        name(&providers, f(1)),
                        protocol_name(f(2)),
                        protocol_name(f(3)),
                        f(4).to_string(),
                        Outcome::ALL
                            .get(f(5) as usize)
                            .map_or("other", |o| o.as_str()),
                    )
                }
                None if v == 0 => return,
                None => ("other", "other", "other", "other", "other".into(), "other"),
            };
            err = counter(
                &mut e,
                &[
                    ("model", model),
                    ("provider", provider),
                    ("inbound", inb),
                    ("outbound", outb),
                    ("status", &status),
                    ("outcome", outcome),
                ],
                v,
            );
        });
        err?;

        let mut e = enc.encode_descriptor(
            "bitrouter_upstream_attempts",
            "Upstream attempts, by provider and how they ended",
            None,
            MetricType::Counter,
        )?;
        let mut err = Ok(());
        m.attempts.each(|k, v| {
            let v = v.load(Ordering::Relaxed);
            if err.is_err() || v == 0 {
                return;
            }
            let (p, r) = k.map_or(("other", "other"), |k| {
                (
                    name(&providers, field(k, &ATTEMPT, 0)),
                    AttemptResult::ALL
                        .get(field(k, &ATTEMPT, 1) as usize)
                        .map_or("other", |r| r.as_str()),
                )
            });
            err = counter(&mut e, &[("provider", p), ("result", r)], v);
        });
        err?;

        let mut e = enc.encode_descriptor(
            "bitrouter_failovers",
            "Endpoints the failover loop moved past, by the model asked for, the endpoint's provider and why",
            None,
            MetricType::Counter,
        )?;
        let mut err = Ok(());
        m.failovers.each(|k, v| {
            let v = v.load(Ordering::Relaxed);
            if err.is_err() || v == 0 {
                return;
            }
            let (model, p, r) = k.map_or(("other", "other", "other"), |k| {
                (
                    name(&models, field(k, &FAILOVER, 0)),
                    name(&providers, field(k, &FAILOVER, 1)),
                    FailoverReason::name(field(k, &FAILOVER, 2)),
                )
            });
            err = counter(
                &mut e,
                &[("model", model), ("from_provider", p), ("reason", r)],
                v,
            );
        });
        err?;

        let mut e = enc.encode_descriptor(
            "bitrouter_breaker_open",
            "Whether an endpoint's circuit breaker is open (1) or closed (0)",
            None,
            MetricType::Gauge,
        )?;
        for (p, model, open) in &self.live.breakers {
            gauge(
                &mut e,
                &[("provider", p), ("upstream_model", model)],
                i64::from(*open),
            )?;
        }

        let e = enc.encode_descriptor(
            "bitrouter_in_flight_requests",
            "Requests being served now",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(self.live.in_flight as i64).encode(e)?;
        let e = enc.encode_descriptor(
            "bitrouter_in_flight_streams",
            "Streams past their commit point, open now",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(m.in_flight_streams.load(Ordering::Relaxed).max(0)).encode(e)?;

        let mut e = enc.encode_descriptor(
            "bitrouter_translations",
            "Upstream attempts translated from the caller's protocol to another",
            None,
            MetricType::Counter,
        )?;
        let mut err = Ok(());
        m.translations.each(|k, v| {
            let v = v.load(Ordering::Relaxed);
            if err.is_err() || v == 0 {
                return;
            }
            let (from, to) = k.map_or(("other", "other"), |k| {
                (
                    protocol_name(field(k, &TRANSLATION, 0)),
                    protocol_name(field(k, &TRANSLATION, 1)),
                )
            });
            err = counter(&mut e, &[("from", from), ("to", to)], v);
        });
        err?;

        let e = enc.encode_descriptor(
            "bitrouter_overhead",
            "Time spent in the router for a request, upstream waits excluded",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        let mut e = e;
        histogram(&mut e, &[], m.overhead.get(0))?;

        let mut e = enc.encode_descriptor(
            "bitrouter_auth_failures",
            "Callers refused by authentication, by reason",
            None,
            MetricType::Counter,
        )?;
        for r in AuthFailure::ALL {
            counter(
                &mut e,
                &[("reason", r.as_str())],
                m.auth_failures.value(r as u64),
            )?;
        }
        let mut e = enc.encode_descriptor(
            "bitrouter_reloads",
            "Configuration reloads, by result",
            None,
            MetricType::Counter,
        )?;
        for r in ReloadResult::ALL {
            counter(&mut e, &[("result", r.as_str())], m.reloads.value(r as u64))?;
        }
        let e = enc.encode_descriptor(
            "bitrouter_otel_dropped_spans",
            "Spans the OTLP exporter dropped (queue full or the collector unreachable)",
            None,
            MetricType::Counter,
        )?;
        let mut e = e;
        counter(&mut e, &[], m.dropped_spans.load(Ordering::Relaxed))?;
        let mut e = enc.encode_descriptor(
            "bitrouter_limit_store_errors",
            "Calls to the shared limit store (server.limits.store) that failed or timed out, by what followed: refused (fail_closed), admitted (fail_open), unsettled (a settle its lease will free)",
            None,
            MetricType::Counter,
        )?;
        for a in super::StoreAction::ALL {
            counter(
                &mut e,
                &[("action", a.as_str())],
                m.limit_store_errors[a as usize].load(Ordering::Relaxed),
            )?;
        }
        let mut e = enc.encode_descriptor(
            "bitrouter_ledger_dropped",
            "Usage ledger rows dropped because its spool was full (the database down or slow for long) or could not be written",
            None,
            MetricType::Counter,
        )?;
        counter(&mut e, &[], self.live.ledger_dropped)?;
        let mut e = enc.encode_descriptor(
            "bitrouter_ledger_spool_bytes",
            "Bytes of usage ledger rows spooled and not yet committed to its database",
            None,
            MetricType::Gauge,
        )?;
        gauge(
            &mut e,
            &[],
            i64::try_from(self.live.ledger_spool_bytes).unwrap_or(i64::MAX),
        )?;
        let mut e = enc.encode_descriptor(
            "bitrouter_events_dropped",
            "Live request events a subscriber (the TUI) lost because it fell behind",
            None,
            MetricType::Counter,
        )?;
        counter(&mut e, &[], self.live.events_dropped)?;

        m.rules.encode(&mut enc)?;

        let mut e = enc.encode_descriptor(
            "bitrouter_config",
            "The content hash of the routing table being served",
            None,
            MetricType::Info,
        )?;
        e.encode_info(&[("hash", self.live.config_hash.as_str())])?;
        let mut e = enc.encode_descriptor(
            "bitrouter_build",
            "The router's version",
            None,
            MetricType::Info,
        )?;
        e.encode_info(&[("version", env!("CARGO_PKG_VERSION"))])?;

        self.genai(&mut enc, &models, &providers)?;
        self.process(&mut enc)
    }
}

impl Scrape {
    fn genai(
        &self,
        enc: &mut DescriptorEncoder<'_>,
        models: &[Arc<str>],
        providers: &[Arc<str>],
    ) -> fmt::Result {
        let m = &*self.m;
        let families = [
            (
                "gen_ai_client_token_usage",
                "Tokens used per request, by token type (input, output, cache_read, cache_creation, reasoning)",
                None,
                &m.tokens,
                true,
            ),
            (
                "gen_ai_server_request_duration",
                "Duration of a request, to the end of its answer or stream",
                Some(Unit::Seconds),
                &m.duration,
                false,
            ),
            (
                "gen_ai_server_time_to_first_token",
                "Time to the first content of a streamed answer",
                Some(Unit::Seconds),
                &m.ttft,
                false,
            ),
            (
                "gen_ai_server_time_per_output_token",
                "Time per output token after the first, for streamed answers",
                Some(Unit::Seconds),
                &m.tpot,
                false,
            ),
        ];
        for (metric, help, unit, series, tokens) in families {
            let mut e =
                enc.encode_descriptor(metric, help, unit.as_ref(), MetricType::Histogram)?;
            let mut err = Ok(());
            series.each(|k, h| {
                if err.is_err() || h.count() == 0 {
                    return;
                }
                let Some(k) = k else {
                    err = histogram(&mut e, &[("gen_ai_request_model", "other")], h);
                    return;
                };
                let f = |i| field(k, &GENAI, i);
                let status;
                let mut labels = vec![
                    ("gen_ai_operation_name", OPERATIONS[f(0) as usize]),
                    ("gen_ai_provider_name", name(providers, f(1))),
                    ("gen_ai_request_model", name(models, f(2))),
                    ("gen_ai_response_model", name(models, f(3))),
                ];
                if tokens {
                    let ty = TokenType::NAMES
                        .get(f(4) as usize)
                        .copied()
                        .unwrap_or("other");
                    labels.push(("gen_ai_token_type", ty));
                } else if f(4) != 0 {
                    status = f(4).to_string();
                    labels.push(("error_type", &status));
                }
                err = histogram(&mut e, &labels, h);
            });
            err?;
        }
        Ok(())
    }

    fn process(&self, enc: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let p = process::read();
        if let Some(v) = p.rss_bytes {
            let e = enc.encode_descriptor(
                "process_resident_memory",
                "Resident memory size",
                Some(&Unit::Bytes),
                MetricType::Gauge,
            )?;
            ConstGauge::new(v as i64).encode(e)?;
        }
        if let Some(v) = p.cpu_seconds {
            let mut e = enc.encode_descriptor(
                "process_cpu",
                "User and system CPU time spent",
                Some(&Unit::Seconds),
                MetricType::Counter,
            )?;
            e.encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&v, None)?;
        }
        if let Some(v) = p.open_fds {
            let e = enc.encode_descriptor(
                "process_open_fds",
                "Open file descriptors",
                None,
                MetricType::Gauge,
            )?;
            ConstGauge::new(v as i64).encode(e)?;
        }
        if let Some(v) = p.max_fds {
            let e = enc.encode_descriptor(
                "process_max_fds",
                "Most file descriptors the process may open",
                None,
                MetricType::Gauge,
            )?;
            ConstGauge::new(v as i64).encode(e)?;
        }
        let start = self
            .m
            .started
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let e = enc.encode_descriptor(
            "process_start_time",
            "When the process started, in seconds since the Unix epoch",
            Some(&Unit::Seconds),
            MetricType::Gauge,
        )?;
        ConstGauge::new(start).encode(e)
    }
}
