//! The router's own metrics, one set per [`crate::Server`]: what `GET /metrics` renders and
//! `status` reads. Recording a request is atomic adds on preallocated series (`series.rs`)
//! keyed by label ids that were resolved when the table was published (`names.rs`): no lock,
//! no allocation. Rendering (`encode.rs`, prometheus-client's Prometheus text encoder) happens
//! only at scrape.
//!
//! Names follow the OpenTelemetry GenAI semantic conventions where they define one
//! (`gen_ai_*`, their buckets), rendered Prometheus-style; the rest are `bitrouter_*`.

mod encode;
mod names;
mod process;
mod rules;
mod series;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use compiler::table::Protocol;

pub(crate) use names::{Id, TableLabels, UNKNOWN};
use names::{MAX_MODELS, MAX_PROVIDERS, Names};
use series::{Counters, Histograms, Series, pack};

pub(crate) use encode::{Live, render};

/// How a request ended, for `bitrouter_requests_total{outcome}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Answered 2xx, or a stream that ended cleanly.
    Completed,
    /// An upstream was tried and the request did not complete (an error answer, an exhausted
    /// chain, a stream that failed after its commit point).
    Failed,
    /// The caller left before the end.
    Cancelled,
    /// Answered by the router without any upstream attempt (auth, limits, a bad body, an
    /// unknown model, every endpoint cooling down).
    Refused,
}

impl Outcome {
    const ALL: [Outcome; 4] = [
        Outcome::Completed,
        Outcome::Failed,
        Outcome::Cancelled,
        Outcome::Refused,
    ];
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::Refused => "refused",
        }
    }
}

/// How one upstream attempt ended, for `bitrouter_upstream_attempts_total{result}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AttemptResult {
    Ok,
    /// The upstream refused the request (4xx other than 402, 408 and 429): the caller's answer.
    ClientError,
    RateLimited,
    /// 402: the account behind this endpoint is out of credit or quota (OpenRouter and
    /// others say so with 402; docs/reliability.md, error taxonomy): the next endpoint may
    /// serve.
    QuotaExceeded,
    /// No answer in time: first byte, total, idle, or a 408.
    Timeout,
    ConnectError,
    /// The connection failed otherwise.
    TransportError,
    ServerError,
    /// A 2xx body, event or stream that is not what the protocol allows.
    Malformed,
    /// An error event inside a 200 stream.
    StreamError,
    /// The stream ended before it completed.
    Cut,
    /// The caller left.
    Cancelled,
    /// A content rule blocked the answer (says nothing against the endpoint).
    Blocked,
}

impl AttemptResult {
    const ALL: [AttemptResult; 13] = [
        AttemptResult::Ok,
        AttemptResult::ClientError,
        AttemptResult::RateLimited,
        AttemptResult::QuotaExceeded,
        AttemptResult::Timeout,
        AttemptResult::ConnectError,
        AttemptResult::TransportError,
        AttemptResult::ServerError,
        AttemptResult::Malformed,
        AttemptResult::StreamError,
        AttemptResult::Cut,
        AttemptResult::Cancelled,
        AttemptResult::Blocked,
    ];
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AttemptResult::Ok => "ok",
            AttemptResult::ClientError => "client_error",
            AttemptResult::RateLimited => "rate_limited",
            AttemptResult::QuotaExceeded => "quota_exceeded",
            AttemptResult::Timeout => "timeout",
            AttemptResult::ConnectError => "connect_error",
            AttemptResult::TransportError => "transport_error",
            AttemptResult::ServerError => "server_error",
            AttemptResult::Malformed => "malformed",
            AttemptResult::StreamError => "stream_error",
            AttemptResult::Cut => "cut",
            AttemptResult::Cancelled => "cancelled",
            AttemptResult::Blocked => "blocked",
        }
    }

    /// The class of an upstream's error answer.
    pub(crate) fn of_status(status: u16) -> AttemptResult {
        match status {
            402 => AttemptResult::QuotaExceeded,
            408 => AttemptResult::Timeout,
            429 => AttemptResult::RateLimited,
            500.. => AttemptResult::ServerError,
            _ => AttemptResult::ClientError,
        }
    }
}

/// Why the failover loop moved past an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailoverReason {
    Attempt(AttemptResult),
    /// Its breaker was open (or cooling down after `Retry-After`).
    BreakerOpen,
    /// The request cannot be expressed in its protocol.
    Unsupported,
    /// No request could be built for it (a missing key, a bad header or URL).
    Unbuildable,
}

impl FailoverReason {
    fn index(self) -> u64 {
        match self {
            FailoverReason::Attempt(r) => r as u64,
            FailoverReason::BreakerOpen => 12,
            FailoverReason::Unsupported => 13,
            FailoverReason::Unbuildable => 14,
        }
    }
    fn name(i: u64) -> &'static str {
        match i {
            12 => "breaker_open",
            13 => "unsupported",
            14 => "unbuildable",
            i => AttemptResult::ALL
                .get(i as usize)
                .map_or("other", |r| r.as_str()),
        }
    }
}

/// Why a caller was not authenticated, for `bitrouter_auth_failures_total{reason}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Malformed,
    Expired,
    BadSignature,
    UntrustedIssuer,
    Revoked,
    /// The key lacks the scope the endpoint needs.
    Scope,
    /// The key may not use the model.
    Model,
    RateLimited,
    /// A key was presented and is not one this router accepts (for any other reason).
    Invalid,
}

impl AuthFailure {
    const ALL: [AuthFailure; 10] = [
        AuthFailure::Missing,
        AuthFailure::Malformed,
        AuthFailure::Expired,
        AuthFailure::BadSignature,
        AuthFailure::UntrustedIssuer,
        AuthFailure::Revoked,
        AuthFailure::Scope,
        AuthFailure::Model,
        AuthFailure::RateLimited,
        AuthFailure::Invalid,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Malformed => "malformed",
            AuthFailure::Expired => "expired",
            AuthFailure::BadSignature => "bad_signature",
            AuthFailure::UntrustedIssuer => "untrusted_issuer",
            AuthFailure::Revoked => "revoked",
            AuthFailure::Scope => "scope",
            AuthFailure::Model => "model",
            AuthFailure::RateLimited => "rate_limited",
            AuthFailure::Invalid => "invalid",
        }
    }
}

/// How a reload ended, for `bitrouter_reloads_total{result}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReloadResult {
    /// Published.
    Ok,
    /// The new configuration did not compile; the old table stays.
    Invalid,
    /// Compiled, but refused (a setting that needs a restart, the exposure policy).
    Refused,
}

impl ReloadResult {
    const ALL: [ReloadResult; 3] = [
        ReloadResult::Ok,
        ReloadResult::Invalid,
        ReloadResult::Refused,
    ];
    fn as_str(self) -> &'static str {
        match self {
            ReloadResult::Ok => "ok",
            ReloadResult::Invalid => "invalid",
            ReloadResult::Refused => "refused",
        }
    }
}

/// `gen_ai_token_type` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenType {
    Input,
    Output,
    CacheRead,
    CacheCreation,
    Reasoning,
}

impl TokenType {
    const NAMES: [&'static str; 5] = [
        "input",
        "output",
        "cache_read",
        "cache_creation",
        "reasoning",
    ];
}

/// A protocol as a label id (4: none, e.g. no upstream was called).
pub(crate) fn protocol_id(p: Option<Protocol>) -> u64 {
    p.map_or(4, |p| {
        Protocol::ALL.iter().position(|&q| q == p).unwrap_or(4) as u64
    })
}

fn protocol_name(i: u64) -> &'static str {
    Protocol::ALL.get(i as usize).map_or("none", |p| p.as_str())
}

/// `gen_ai_operation_name`: Gemini's own operation, `chat` for the others.
fn operation(inbound: Option<Protocol>) -> u64 {
    u64::from(inbound == Some(Protocol::GenerateContent))
}
const OPERATIONS: [&str; 2] = ["chat", "generate_content"];

// Key layouts (bit widths, in order).
const REQUEST: [u32; 6] = [10, 8, 3, 3, 10, 2]; // model, provider, inbound, outbound, status, outcome
const ATTEMPT: [u32; 2] = [8, 4]; // provider, result
const FAILOVER: [u32; 3] = [10, 8, 4]; // model, provider, reason
const TRANSLATION: [u32; 2] = [3, 3]; // from, to
const GENAI: [u32; 5] = [1, 8, 10, 10, 10]; // operation, provider, request model, response model, error status | token type

/// `gen_ai.server.request.duration` buckets (seconds), as the conventions give them.
pub const DURATION_BUCKETS: &[f64] = &[
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// `gen_ai.client.token.usage` buckets.
pub const TOKEN_BUCKETS: &[f64] = &[
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
/// `gen_ai.server.time_to_first_token` buckets.
pub const TTFT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// `gen_ai.server.time_per_output_token` buckets.
pub const TPOT_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
];
/// Time spent in the router itself: sub-millisecond is the norm.
pub const OVERHEAD_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
];

/// One server's metrics.
#[derive(Debug)]
pub struct Metrics {
    pub(crate) models: Names,
    pub(crate) providers: Names,
    requests: Counters,
    attempts: Counters,
    failovers: Counters,
    translations: Counters,
    auth_failures: Counters,
    reloads: Counters,
    duration: Histograms,
    tokens: Histograms,
    ttft: Histograms,
    tpot: Histograms,
    overhead: Histograms,
    /// Guardrail matches and webhook failures.
    pub(crate) rules: rules::Rules,
    in_flight_streams: AtomicI64,
    /// Spans the OTLP exporter could not deliver (queue full, collector down).
    pub(crate) dropped_spans: AtomicU64,
    /// Calls to the shared limit store that failed, by what was done (`StoreAction`).
    pub(crate) limit_store_errors: [AtomicU64; 3],
    started: SystemTime,
}

/// What a failed call to the shared limit store led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoreAction {
    /// `fail_closed`: the request was refused (503).
    Refused,
    /// `fail_open`: the request was admitted unchecked.
    Admitted,
    /// A settle or release did not reach the store (its lease frees it).
    Unsettled,
}

impl StoreAction {
    pub(crate) const ALL: [StoreAction; 3] = [
        StoreAction::Refused,
        StoreAction::Admitted,
        StoreAction::Unsettled,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StoreAction::Refused => "refused",
            StoreAction::Admitted => "admitted",
            StoreAction::Unsettled => "unsettled",
        }
    }
}

/// What one finished request recorded, label ids resolved.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Finished {
    pub(crate) model: Id,
    pub(crate) provider: Id,
    pub(crate) served: Id,
    pub(crate) inbound: Option<Protocol>,
    pub(crate) outbound: Option<Protocol>,
    pub(crate) status: u16,
    pub(crate) outcome: Outcome,
    pub(crate) duration: Duration,
    /// Until the first content reached the caller (streams).
    pub(crate) first_token: Option<Duration>,
    pub(crate) usage: Option<translate::ir::Usage>,
    /// In the router itself, upstream waits excluded.
    pub(crate) overhead: Duration,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            models: Names::new(MAX_MODELS),
            providers: Names::new(MAX_PROVIDERS),
            requests: Series::new(2048, &[]),
            attempts: Series::new(512, &[]),
            failovers: Series::new(512, &[]),
            translations: Series::new(32, &[]),
            auth_failures: Series::new(16, &[]),
            reloads: Series::new(16, &[]),
            duration: Series::new(512, DURATION_BUCKETS),
            tokens: Series::new(1024, TOKEN_BUCKETS),
            ttft: Series::new(256, TTFT_BUCKETS),
            tpot: Series::new(256, TPOT_BUCKETS),
            overhead: Series::new(16, OVERHEAD_BUCKETS),
            rules: rules::Rules::default(),
            in_flight_streams: AtomicI64::new(0),
            dropped_spans: AtomicU64::new(0),
            limit_store_errors: std::array::from_fn(|_| AtomicU64::new(0)),
            started: SystemTime::now(),
        }
    }
}

impl Metrics {
    pub(crate) fn limit_store_error(&self, a: StoreAction) {
        self.limit_store_errors[a as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Labels for a table about to be published.
    pub(crate) fn labels(&self, table: &compiler::table::RoutingTable) -> TableLabels {
        TableLabels::new(table, &self.models, &self.providers)
    }

    /// One finished request: its counter, its GenAI histograms, the router's overhead.
    pub(crate) fn request(&self, f: &Finished) {
        let (inb, outb) = (protocol_id(f.inbound), protocol_id(f.outbound));
        self.requests.add(
            pack(&[
                (f.model.into(), REQUEST[0]),
                (f.provider.into(), REQUEST[1]),
                (inb, REQUEST[2]),
                (outb, REQUEST[3]),
                (f.status.into(), REQUEST[4]),
                (f.outcome as u64, REQUEST[5]),
            ]),
            1,
        );
        self.overhead.get(0).observe(f.overhead.as_secs_f64());
        if f.outcome == Outcome::Refused || f.outbound.is_none() {
            return;
        }
        let base = |last: u64| {
            pack(&[
                (operation(f.inbound), GENAI[0]),
                (f.provider.into(), GENAI[1]),
                (f.model.into(), GENAI[2]),
                (f.served.into(), GENAI[3]),
                (last, GENAI[4]),
            ])
        };
        let error = if f.outcome == Outcome::Completed {
            0
        } else {
            u64::from(f.status)
        };
        self.duration
            .get(base(error))
            .observe(f.duration.as_secs_f64());
        if f.outcome != Outcome::Completed {
            return;
        }
        if let Some(t) = f.first_token {
            self.ttft.get(base(0)).observe(t.as_secs_f64());
            if let Some(u) = &f.usage
                && u.output > 1
            {
                let per = (f.duration.saturating_sub(t)).as_secs_f64() / (u.output - 1) as f64;
                self.tpot.get(base(0)).observe(per);
            }
        }
        if let Some(u) = &f.usage {
            for (ty, n) in [
                (TokenType::Input, u.input),
                (TokenType::Output, u.output),
                (TokenType::CacheRead, u.cache_read),
                (TokenType::CacheCreation, u.cache_write),
                (TokenType::Reasoning, u.reasoning),
            ] {
                // The conventions record input and output always; the details when reported.
                if n > 0 || matches!(ty, TokenType::Input | TokenType::Output) {
                    self.tokens.get(base(ty as u64)).observe(n as f64);
                }
            }
        }
    }

    /// One upstream attempt's end (from its breaker ticket).
    pub(crate) fn attempt(&self, provider: Id, result: AttemptResult) {
        self.attempts.add(
            pack(&[(provider.into(), ATTEMPT[0]), (result as u64, ATTEMPT[1])]),
            1,
        );
    }

    pub(crate) fn failover(&self, model: Id, from: Id, reason: FailoverReason) {
        self.failovers.add(
            pack(&[
                (model.into(), FAILOVER[0]),
                (from.into(), FAILOVER[1]),
                (reason.index(), FAILOVER[2]),
            ]),
            1,
        );
    }

    pub(crate) fn translation(&self, from: Protocol, to: Protocol) {
        self.translations.add(
            pack(&[
                (protocol_id(Some(from)), TRANSLATION[0]),
                (protocol_id(Some(to)), TRANSLATION[1]),
            ]),
            1,
        );
    }

    pub fn auth_failure(&self, reason: AuthFailure) {
        self.auth_failures.add(reason as u64, 1);
    }

    /// Spans the OTLP exporter could not deliver.
    pub fn spans_dropped(&self, n: u64) {
        self.dropped_spans.fetch_add(n, Ordering::Relaxed);
    }

    pub fn reload(&self, result: ReloadResult) {
        self.reloads.add(result as u64, 1);
    }

    pub(crate) fn stream_opened(&self) {
        self.in_flight_streams.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stream_closed(&self) {
        self.in_flight_streams.fetch_sub(1, Ordering::Relaxed);
    }

    /// Requests answered (every outcome), those that did not complete (failed, refused or
    /// cancelled), streams open now: what `status` shows, from the same counters.
    pub fn totals(&self) -> Totals {
        let outcome = |k: u64| series::field(k, &REQUEST, 5);
        Totals {
            served: self.requests.sum(|_| true),
            errors: self
                .requests
                .sum(|k| outcome(k) != Outcome::Completed as u64),
            streams: self.in_flight_streams.load(Ordering::Relaxed).max(0) as u64,
            dropped_spans: self.dropped_spans.load(Ordering::Relaxed),
        }
    }
}

/// Counts for `status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub served: u64,
    pub errors: u64,
    pub streams: u64,
    pub dropped_spans: u64,
}
