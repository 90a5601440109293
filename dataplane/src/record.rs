//! One request's record: what the router learns about a call as it goes (the model asked
//! for, the endpoint tried last, protocols, attempts, upstream waits, first token, usage) and,
//! when it ends, the one place it is counted ([`crate::metrics::Metrics::request`]) and logged
//! (`request finished`). A whole answer's record ends in the handler; a stream's moves into
//! its committed body (`relay.rs`) and ends with it; a record dropped unfinished is a
//! request the caller left (`cancelled`). Also the request id: the caller's `x-request-id`
//! when it is short and printable, else one made here.
//!
//! When OTLP export is on and the request is sampled, the record also keeps its trace (one
//! boxed allocation): the server span and one span per attempt, handed to the exporter's sink
//! when the request ends.
//!
//! A request held to a spend budget carries its reservation here; finishing settles it to
//! the same cost the ledger gets (`crate::spend`). Likewise its key's concurrency slot and
//! `tpm` tokens (`crate::limits::Admission`): finishing gives the slot back and settles the
//! tokens to the usage reported.
//!
//! When the runtime installs a ledger ([`crate::usage::UsageSink`]), the finished record is
//! also handed over as one [`crate::usage::Entry`] (borrowed; the caller's key id, what the
//! name routed to, the answering target's prices and so the cost). The same entry is
//! published as a live event when anyone subscribes (`crate::events`).
//!
//! Nothing else here allocates: names for the log line are copied into fixed inline buffers, and a
//! made-up request id is cut from a per-thread block shared by many ids.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::BytesMut;
use compiler::table::{Pricing, Protocol};
use http::{HeaderMap, HeaderName, HeaderValue};
use translate::ir::Usage;

use crate::gate::Caller;
use crate::metrics::{AttemptResult, Finished, Id, Outcome, UNKNOWN};
use crate::shared::Shared;
use crate::trace::{self, Parent, RequestSummary, RequestTrace, SpanRecord, Value};

pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Longest caller request id kept.
const MAX_REQUEST_ID: usize = 128;

/// A name copied for the log line, cut at 64 bytes (on a character boundary).
#[derive(Clone, Copy)]
pub(crate) struct Inline {
    len: u8,
    buf: [u8; 64],
}

impl Inline {
    pub(crate) const EMPTY: Inline = Inline {
        len: 0,
        buf: [0; 64],
    };

    pub(crate) fn new(s: &str) -> Inline {
        let mut end = s.len().min(64);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut i = Inline::EMPTY;
        i.buf[..end].copy_from_slice(&s.as_bytes()[..end]);
        i.len = end as u8;
        i
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }
}

impl fmt::Debug for Inline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_str().fmt(f)
    }
}

/// The caller's `x-request-id` when it is at most 128 printable ASCII bytes, else a new one.
pub(crate) fn request_id(headers: &HeaderMap) -> HeaderValue {
    match headers.get(&X_REQUEST_ID) {
        Some(v)
            if !v.is_empty()
                && v.len() <= MAX_REQUEST_ID
                && v.as_bytes().iter().all(|b| (0x21..=0x7e).contains(b)) =>
        {
            v.clone()
        }
        _ => new_request_id(),
    }
}

/// 32 hex digits: a per-process random prefix and a counter, so ids never repeat within a
/// process and rarely across processes.
fn new_request_id() -> HeaderValue {
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        /// Ids are cut from one block (one allocation per 128 ids).
        static BLOCK: RefCell<BytesMut> = RefCell::new(BytesMut::new());
    }
    let prefix = *PREFIX.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        h.finish()
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut text = [0u8; 32];
    for (i, b) in prefix
        .to_be_bytes()
        .iter()
        .chain(&n.to_be_bytes())
        .enumerate()
    {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        text[2 * i] = HEX[usize::from(b >> 4)];
        text[2 * i + 1] = HEX[usize::from(b & 15)];
    }
    let bytes = BLOCK.with(|b| {
        let mut b = b.borrow_mut();
        if b.capacity() < text.len() {
            *b = BytesMut::with_capacity(text.len() * 128);
        }
        b.extend_from_slice(&text);
        b.split().freeze()
    });
    HeaderValue::from_maybe_shared(bytes).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// One call's record; see the module docs.
#[derive(Debug)]
pub(crate) struct Record {
    shared: Arc<Shared>,
    pub(crate) id: HeaderValue,
    start: Instant,
    model: Id,
    model_name: Inline,
    provider: Id,
    provider_name: Inline,
    served: Id,
    served_name: Inline,
    inbound: Option<Protocol>,
    outbound: Option<Protocol>,
    stream: bool,
    attempts: u32,
    upstream_wait: Duration,
    /// When the response head left (whole answers: the answer itself).
    head: Option<Duration>,
    first_token: Option<Duration>,
    usage: Option<Usage>,
    done: bool,
    trace: Option<Box<Trace>>,
    /// The verified caller (an `Arc` clone of the gate's cached entry; no allocation).
    caller: Option<Arc<Caller>>,
    /// What the model name routed to.
    route_name: Inline,
    /// The prices of the target tried last (`None`: undeclared, so unknown).
    pricing: Option<Pricing>,
    /// The request's hold on its budgets, settled to its cost when it finishes.
    reservation: Option<crate::spend::Reservation>,
    /// Its slot under the key's `concurrency` and tokens under its `tpm`, ended with it.
    admission: Option<crate::limits::Admission>,
}

/// A sampled request's trace, kept until it ends.
#[derive(Debug)]
struct Trace {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent: Option<Parent>,
    start: SystemTime,
    attempts: Vec<AttemptSpan>,
}

#[derive(Debug)]
struct AttemptSpan {
    span_id: [u8; 8],
    provider: Inline,
    model: Inline,
    protocol: Protocol,
    start: SystemTime,
    end: Option<SystemTime>,
    result: Option<AttemptResult>,
    status: Option<u16>,
}

impl Record {
    pub(crate) fn new(shared: &Arc<Shared>, id: HeaderValue, inbound: Protocol) -> Record {
        Record {
            shared: Arc::clone(shared),
            id,
            start: Instant::now(),
            model: UNKNOWN,
            model_name: Inline::EMPTY,
            provider: UNKNOWN,
            provider_name: Inline::EMPTY,
            served: UNKNOWN,
            served_name: Inline::EMPTY,
            inbound: Some(inbound),
            outbound: None,
            stream: false,
            attempts: 0,
            upstream_wait: Duration::ZERO,
            head: None,
            first_token: None,
            usage: None,
            done: false,
            trace: None,
            caller: None,
            route_name: Inline::EMPTY,
            pricing: None,
            reservation: None,
            admission: None,
        }
    }

    /// What the request holds of its key's limits: it ends when the record does.
    pub(crate) fn admitted(&mut self, a: crate::limits::Admission) {
        self.admission = Some(a);
    }

    /// The tokens a `tpm` limit is charged: input + output as reported; without a report,
    /// the reservation stays if an answer was streaming (tokens were spent that nobody
    /// counted), else nothing (`Some(0)`: released).
    fn tokens_used(&self) -> Option<u64> {
        match self.usage {
            Some(u) => Some(u.total()),
            None if self.first_token.is_some() => None,
            None => Some(0),
        }
    }

    /// The request's budget reservation: it moves with the record and is settled where the
    /// record is finished (dropped unsettled, it releases itself).
    pub(crate) fn reserve(&mut self, r: crate::spend::Reservation) {
        self.reservation = Some(r);
    }

    /// The cost the ledger records and a budget is charged (`None`: unknown).
    fn cost(&self) -> Option<f64> {
        match (self.pricing, self.usage) {
            (Some(p), Some(u)) => crate::usage::cost_micro_usd(&p, &u),
            _ => None,
        }
    }

    /// Starts the request's trace when OTLP export is on and the sampler keeps it (the
    /// caller's `traceparent` is the parent).
    pub(crate) fn start_trace(
        &mut self,
        otel: Option<&compiler::table::Otel>,
        headers: &HeaderMap,
    ) {
        let (Some(otel), Some(_)) = (otel, self.shared.sink.get()) else {
            return;
        };
        let parent = Parent::from_headers(headers);
        let trace_id = parent.map_or_else(
            || {
                let (a, b) = (trace::random_u64(), trace::random_u64());
                let mut id = [0u8; 16];
                id[..8].copy_from_slice(&a.to_be_bytes());
                id[8..].copy_from_slice(&b.to_be_bytes());
                id
            },
            |p| p.trace_id,
        );
        if trace::sampled(otel, parent.as_ref(), &trace_id) {
            self.trace = Some(Box::new(Trace {
                trace_id,
                span_id: trace::random_u64().to_be_bytes(),
                parent,
                start: SystemTime::now() - self.start.elapsed(),
                attempts: Vec::new(),
            }));
        }
    }

    /// The `traceparent` to send on the attempt just begun, when the request is traced.
    pub(crate) fn traceparent(&self) -> Option<HeaderValue> {
        let t = self.trace.as_ref()?;
        trace::traceparent(&t.trace_id, &t.attempts.last()?.span_id)
    }

    /// The attempt just made ended (a stream's ends with the stream).
    pub(crate) fn attempt_ended(&mut self, result: AttemptResult, status: Option<u16>) {
        if let Some(a) = self.trace.as_mut().and_then(|t| t.attempts.last_mut()) {
            a.end = Some(SystemTime::now());
            a.result = Some(result);
            a.status = status;
        }
    }

    /// The model the caller asked for (its label id; the name as written, for the log).
    pub(crate) fn asked(&mut self, model: Id, name: &str, stream: bool) {
        self.model = model;
        self.model_name = Inline::new(name);
        self.stream = stream;
    }

    /// The verified caller, for the ledger's key id.
    pub(crate) fn caller(&mut self, caller: &Arc<Caller>) {
        self.caller = Some(Arc::clone(caller));
    }

    /// What the model name resolved to (without `@preset` and `:variant`).
    pub(crate) fn routed(&mut self, name: &str) {
        self.route_name = Inline::new(name);
    }

    pub(crate) fn model(&self) -> Id {
        self.model
    }

    /// An attempt starts on an endpoint: it is the one that answers unless another follows.
    pub(crate) fn attempt(
        &mut self,
        provider: (Id, &str),
        served: (Id, &str),
        outbound: Protocol,
        pricing: Option<Pricing>,
    ) {
        self.attempts += 1;
        self.pricing = pricing;
        (self.provider, self.provider_name) = (provider.0, Inline::new(provider.1));
        (self.served, self.served_name) = (served.0, Inline::new(served.1));
        self.outbound = Some(outbound);
        if let Some(t) = &mut self.trace {
            t.attempts.push(AttemptSpan {
                span_id: trace::random_u64().to_be_bytes(),
                provider: self.provider_name,
                model: self.served_name,
                protocol: outbound,
                start: SystemTime::now(),
                end: None,
                result: None,
                status: None,
            });
        }
    }

    /// Time spent waiting on an upstream (to its answer, or a stream's commit point).
    pub(crate) fn waited(&mut self, d: Duration) {
        self.upstream_wait += d;
    }

    pub(crate) fn usage(&mut self, u: Option<Usage>) {
        if u.is_some() {
            self.usage = u;
        }
    }

    /// The response head is on its way (for a stream, its first content too).
    pub(crate) fn head_sent(&mut self, streaming: bool) {
        let now = self.start.elapsed();
        self.head = Some(now);
        if streaming {
            self.first_token = Some(now);
            self.shared.metrics.stream_opened();
        }
    }

    /// The request ended with `status`.
    pub(crate) fn finish(&mut self, status: u16, outcome: Outcome) {
        if self.done {
            return;
        }
        self.done = true;
        if self.first_token.is_some() {
            self.shared.metrics.stream_closed();
        }
        let duration = self.start.elapsed();
        let head = self.head.unwrap_or(duration);
        let f = Finished {
            model: self.model,
            provider: self.provider,
            served: self.served,
            inbound: self.inbound,
            outbound: self.outbound,
            status,
            outcome,
            duration,
            first_token: self.first_token,
            usage: self.usage,
            overhead: head.saturating_sub(self.upstream_wait),
        };
        self.shared.metrics.request(&f);
        if let Some(mut r) = self.reservation.take() {
            r.settle(self.cost());
        }
        if let Some(a) = self.admission.take() {
            a.end(self.tokens_used());
        }
        self.log(&f);
        if let Some(sink) = self.shared.sink.get().map(Arc::clone) {
            self.export(&*sink, &f);
        }
        let ledger = self.shared.usage.get();
        if ledger.is_some() || self.shared.events.wanted() {
            let entry = self.entry(&f);
            if let Some(ledger) = ledger {
                ledger.finished(&entry);
            }
            self.shared.events.publish(&entry);
        }
    }

    /// The ledger's row, which is also the live event's source.
    fn entry(&self, f: &Finished) -> crate::usage::Entry<'_> {
        fn some(i: &Inline) -> Option<&str> {
            Some(i.as_str()).filter(|s| !s.is_empty())
        }
        let tried = self.attempts > 0;
        crate::usage::Entry {
            time: SystemTime::now()
                .checked_sub(f.duration)
                .unwrap_or(SystemTime::UNIX_EPOCH),
            request_id: self.id.to_str().unwrap_or("-"),
            key_id: self.caller.as_ref().map(|c| c.token.key_id()),
            model: self.model_name.as_str(),
            route: some(&self.route_name),
            provider: some(&self.provider_name).filter(|_| tried),
            upstream_model: some(&self.served_name).filter(|_| tried),
            inbound: self.inbound.unwrap_or(Protocol::ChatCompletions),
            outbound: self.outbound,
            stream: self.stream,
            status: f.status,
            outcome: f.outcome.as_str(),
            attempts: self.attempts,
            duration: f.duration,
            time_to_first_byte: self.head,
            usage: self.usage,
            cost_micro_usd: self.cost(),
        }
    }

    /// The label value of a model name: the name when the table declares it.
    fn bounded(id: Id, name: &Inline) -> &str {
        if id == UNKNOWN {
            "_unknown"
        } else {
            name.as_str()
        }
    }

    /// OTLP: the request's observations, and its spans when it is traced.
    fn export(&mut self, sink: &dyn trace::Sink, f: &Finished) {
        let operation = if self.inbound == Some(Protocol::GenerateContent) {
            "generate_content"
        } else {
            "chat"
        };
        let u = f.usage.unwrap_or_default();
        let tokens: &[(&'static str, u64)] = &[
            ("input", u.input),
            ("output", u.output),
            ("cache_read", u.cache_read),
            ("cache_creation", u.cache_write),
            ("reasoning", u.reasoning),
        ];
        let completed = f.outcome == Outcome::Completed;
        let tpot = match (f.first_token, f.usage) {
            (Some(t), Some(u)) if completed && u.output > 1 => {
                Some(f.duration.saturating_sub(t).as_secs_f64() / (u.output - 1) as f64)
            }
            _ => None,
        };
        let reached = f.outcome != Outcome::Refused && f.outbound.is_some();
        if reached {
            sink.finished(&RequestSummary {
                operation,
                provider: self.provider_name.as_str(),
                request_model: Self::bounded(self.model, &self.model_name),
                response_model: Self::bounded(self.served, &self.served_name),
                error_type: (!completed).then_some(f.status),
                duration_secs: f.duration.as_secs_f64(),
                time_to_first_token_secs: f
                    .first_token
                    .filter(|_| completed)
                    .map(|d| d.as_secs_f64()),
                time_per_output_token_secs: tpot,
                tokens: if completed && f.usage.is_some() {
                    tokens
                } else {
                    &[]
                },
                overhead_secs: f.overhead.as_secs_f64(),
            });
        }
        let Some(t) = self.trace.take() else { return };
        let now = SystemTime::now();
        let s = |v: &str| Value::Str(v.to_owned());
        let mut server_attrs = vec![
            ("gen_ai.operation.name", s(operation)),
            ("gen_ai.request.model", s(self.model_name.as_str())),
            ("http.response.status_code", Value::Int(i64::from(f.status))),
            ("bitrouter.request_id", s(self.id.to_str().unwrap_or("-"))),
            ("bitrouter.outcome", s(f.outcome.as_str())),
            ("bitrouter.attempts", Value::Int(i64::from(self.attempts))),
            ("bitrouter.stream", Value::Bool(self.stream)),
        ];
        if let Some(p) = self.inbound {
            server_attrs.push(("bitrouter.inbound_protocol", s(p.as_str())));
        }
        if self.attempts > 0 {
            server_attrs.push(("gen_ai.provider.name", s(self.provider_name.as_str())));
            server_attrs.push(("gen_ai.response.model", s(self.served_name.as_str())));
        }
        if let Some(u) = f.usage {
            server_attrs.push(("gen_ai.usage.input_tokens", Value::Int(u.input as i64)));
            server_attrs.push(("gen_ai.usage.output_tokens", Value::Int(u.output as i64)));
        }
        if !completed {
            server_attrs.push(("error.type", s(&f.status.to_string())));
        }
        let mut spans = Vec::with_capacity(1 + t.attempts.len());
        spans.push(SpanRecord {
            span_id: t.span_id,
            parent: t.parent.map(|p| p.span_id),
            server: true,
            name: format!("{operation} {}", self.model_name.as_str()),
            start: t.start,
            end: now,
            attributes: server_attrs,
            error: !completed,
        });
        let n = t.attempts.len();
        for (i, a) in t.attempts.iter().enumerate() {
            // The last attempt of a stream ends with it, as the request does.
            let (result, status) = match a.result {
                Some(r) => (r, a.status),
                None if completed => (AttemptResult::Ok, Some(f.status)),
                None if f.outcome == Outcome::Cancelled => (AttemptResult::Cancelled, None),
                None => (AttemptResult::StreamError, Some(f.status)),
            };
            let mut attrs = vec![
                ("gen_ai.operation.name", s(operation)),
                ("gen_ai.provider.name", s(a.provider.as_str())),
                ("gen_ai.request.model", s(a.model.as_str())),
                ("bitrouter.upstream_protocol", s(a.protocol.as_str())),
                ("bitrouter.attempt.result", s(result.as_str())),
            ];
            if let Some(st) = status {
                attrs.push(("http.response.status_code", Value::Int(i64::from(st))));
            }
            if i + 1 < n {
                // The loop moved on from this endpoint.
                attrs.push(("bitrouter.failover_reason", s(result.as_str())));
            }
            spans.push(SpanRecord {
                span_id: a.span_id,
                parent: Some(t.span_id),
                server: false,
                name: format!("{operation} {}", a.model.as_str()),
                start: a.start,
                end: a.end.unwrap_or(now),
                attributes: attrs,
                error: result != AttemptResult::Ok,
            });
        }
        sink.spans(RequestTrace {
            trace_id: t.trace_id,
            remote_parent: t.parent.is_some(),
            spans,
        });
    }

    fn log(&self, f: &Finished) {
        let u = self.usage.unwrap_or_default();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        tracing::info!(
            target: "bitrouter::request",
            request_id = self.id.to_str().unwrap_or("-"),
            key = "-",
            model = self.model_name.as_str(),
            served_model = self.served_name.as_str(),
            provider = self.provider_name.as_str(),
            inbound = self.inbound.map_or("-", Protocol::as_str),
            outbound = self.outbound.map_or("-", Protocol::as_str),
            stream = self.stream,
            status = f.status,
            outcome = f.outcome.as_str(),
            attempts = self.attempts,
            duration_ms = ms(f.duration),
            ttfb_ms = self.head.map(ms),
            input_tokens = self.usage.map(|_| u.input),
            output_tokens = self.usage.map(|_| u.output),
            "request finished"
        );
    }

    /// Whether any upstream was tried.
    pub(crate) fn tried(&self) -> bool {
        self.attempts > 0
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        // 499: nginx's "client closed request", the usual label for a caller that left.
        self.finish(499, Outcome::Cancelled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_ids_are_kept_when_short_and_printable() {
        let mut h = HeaderMap::new();
        h.insert(X_REQUEST_ID, HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&h), "abc-123");
        for bad in ["has space", &"x".repeat(129)] {
            h.insert(X_REQUEST_ID, HeaderValue::from_str(bad).unwrap());
            let id = request_id(&h);
            assert_eq!(id.len(), 32, "{bad:?} → {id:?}");
        }
        let (a, b) = (new_request_id(), new_request_id());
        assert_ne!(a, b);
        assert!(a.as_bytes().iter().all(u8::is_ascii_hexdigit));
    }

    #[test]
    fn inline_names_cut_on_a_character_boundary() {
        assert_eq!(Inline::new("gpt-4o").as_str(), "gpt-4o");
        let long = "é".repeat(40); // 80 bytes
        assert_eq!(Inline::new(&long).as_str(), "é".repeat(32));
    }
}
