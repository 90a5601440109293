//! The failover loop: try a route's endpoints in order until one answers.
//!
//! Each endpoint is one attempt (`attempt.rs`); the loop reads only whether its error is
//! retryable. Retryable: connect errors, no response before `first_byte`, 408, 429 (its
//! `Retry-After` cools that endpoint down), 5xx, a malformed 2xx body, and — for streams — an
//! error event, a malformed event or a cut before the first content event; also an endpoint
//! the request cannot be built or translated for. Anything else is the answer. Attempts are
//! bounded by `failover.max_attempts` and by the process-wide retry budget (`budget.rs`);
//! endpoints whose breaker is open are skipped. The final error is returned, not rendered:
//! the handler renders it once, in the caller's shape.
//!
//! The loop also keeps the request's record current (which endpoint is being tried, the
//! upstream waits) and counts what only it sees: each endpoint it moves past
//! (`bitrouter_failovers_total`, with why) and each translated attempt.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use compiler::table::{HopRef, Protocol, Route, Strategy, TranslationMode};
use http::{HeaderMap, Response};
use smallvec::SmallVec;
use translate::ir::{self, ErrorKind};
use translate::request;

use crate::attempt::{self, Plan, Translation};
use crate::body::Body;
use crate::breaker::{EndpointKey, Ticket};
use crate::endpoint;
use crate::error::{ProxyError, Source};
use crate::metrics::{AttemptResult, FailoverReason};
use crate::prepared::LoadedTable;
use crate::record::Record;
use crate::request::{RequestInfo, passthrough_body};
use crate::respond::{dropped, served_by};
use crate::screen::Screening;
use crate::shared::{InFlight, Shared};
use crate::upstream::{self, BuildError, Forward};

pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Arc<Shared>,
    pub(crate) table: &'a LoadedTable,
    pub(crate) route: Route<'a>,
    pub(crate) call: &'a endpoint::Call<'a>,
    pub(crate) info: &'a RequestInfo<'a>,
    pub(crate) body: &'a Bytes,
    /// The caller's headers; the map is reused for the first upstream request.
    pub(crate) caller: HeaderMap,
    pub(crate) slot: Option<InFlight>,
    pub(crate) rec: &'a mut Record,
    /// Sent upstream on every attempt.
    pub(crate) request_id: &'a http::HeaderValue,
    /// The answer's content rules, when any applies to this request.
    pub(crate) screen: Option<Screening>,
}

/// The last reason the chain did not answer.
enum Last {
    Error(ProxyError),
    /// Every endpoint tried so far was cooling down; the shortest wait.
    Cooling(Duration),
}

pub(crate) async fn run(mut ctx: Ctx<'_>) -> Result<Response<Body>, ProxyError> {
    let hops: SmallVec<[HopRef<'_>; 8]> = ctx.route.hops().collect();
    let start = first_hop(&ctx, &hops);
    let prepared = &ctx.table.prepared;
    let max_attempts = ctx.table.server().max_attempts.max(1);
    let mut attempts = 0;
    let mut last: Option<Last> = None;
    let mut slot = ctx.slot.take();
    let mut forward = Forward::from_caller(&ctx.caller);
    forward.request_id = Some(ctx.request_id.clone());
    let metrics = &ctx.shared.metrics;
    let labels = &prepared.labels;
    let model = ctx.rec.model();
    // Counts `hop` as passed over, when the chain goes on past it.
    let passed = |hop: &HopRef<'_>, k: usize, reason: FailoverReason| {
        if k + 1 < hops.len() {
            metrics.failover(model, labels.provider(hop), reason);
        }
    };
    let mut spare_headers = Some(std::mem::take(&mut ctx.caller));
    let inbound = ctx.call.protocol;
    // The caller's request in the IR, decoded the first time an endpoint needs a translation.
    let mut ir: Option<Result<ir::Request, request::Error>> = None;
    let (created, seed) = stamp();
    let policy = match ctx.table.server().translation {
        TranslationMode::Lenient => request::Policy::Lenient,
        TranslationMode::Strict => request::Policy::Strict,
    };
    ctx.shared.retry_budget.deposit();
    for k in 0..hops.len() {
        if attempts >= max_attempts {
            break;
        }
        let hop = hops[(start + k) % hops.len()];
        let (upstream_proto, _) = hop.protocols().0.choose(Some(inbound));
        let translating = upstream_proto != inbound;
        let undeclared;
        let breaker = match prepared.target(&hop) {
            Some(t) => Some(&t.breaker),
            None => {
                let key = EndpointKey::new(&hop.provider.name, hop.upstream_model);
                undeclared = ctx.shared.breakers.undeclared(key);
                undeclared.as_ref()
            }
        };
        let ticket = match Ticket::admit(breaker, prepared.policy, Instant::now()) {
            Ok(t) => t,
            Err(wait) => {
                passed(&hop, k, FailoverReason::BreakerOpen);
                last = Some(match last {
                    Some(Last::Cooling(w)) => Last::Cooling(wait.min(w)),
                    _ => Last::Cooling(wait),
                });
                continue;
            }
        };
        let ask_usage = !translating && inbound == Protocol::ChatCompletions && ctx.info.stream;
        let (body, translation) = if translating {
            let req = ir.get_or_insert_with(|| request::decode(inbound, ctx.body, ctx.info.stream));
            match translated_body(req, upstream_proto, &hop, ctx.info.stream, policy) {
                Ok(enc) => (
                    Bytes::from(enc.body),
                    Some(Translation {
                        upstream: upstream_proto,
                        model: hop.upstream_model,
                        created,
                        seed,
                        names: enc.names,
                        dropped: enc.dropped,
                    }),
                ),
                Err(e) if e.retryable => {
                    passed(&hop, k, FailoverReason::Unsupported);
                    last = Some(Last::Error(e));
                    continue;
                }
                Err(e) => return Err(e),
            }
        } else {
            (
                passthrough_body(ctx.body, ctx.info, hop.upstream_model, ask_usage),
                None,
            )
        };
        let headers = spare_headers.take().unwrap_or_default();
        let mut req = match upstream::build(
            &hop,
            prepared,
            upstream_proto,
            ctx.info.stream,
            body,
            &forward,
            headers,
        ) {
            Ok(r) => r,
            Err(e) => {
                passed(&hop, k, FailoverReason::Unbuildable);
                last = Some(Last::Error(build_error(&hop, e)));
                continue;
            }
        };
        if attempts > 0 && !ctx.shared.retry_budget.withdraw(Instant::now()) {
            tracing::warn!("retry budget exhausted; not failing over");
            break;
        }
        attempts += 1;
        let provider_label = labels.provider(&hop);
        let ticket = ticket.counted(metrics, provider_label);
        ctx.rec.attempt(
            (provider_label, &hop.provider.name),
            (labels.served(&hop), hop.upstream_model),
            upstream_proto,
            hop.target.map(|t| t.pricing),
        );
        if let Some(tp) = ctx.rec.traceparent() {
            // Our attempt span is the upstream's parent (a header the build below reads).
            req.headers_mut().insert(crate::trace::TRACEPARENT, tp);
        }
        if translating {
            metrics.translation(inbound, upstream_proto);
        }
        let plan = Plan {
            caller: inbound,
            stream: ctx.info.stream,
            json_array: ctx.call.json_array,
            include_usage: ctx.info.include_usage,
            ask_usage,
            translation,
            screen: ctx.screen.as_ref(),
            stamp: (created, seed),
        };
        let provider = prepared.provider(&hop);
        let started = Instant::now();
        let mut usage = None;
        let result = attempt::run(&plan, &hop, provider, req, ticket, &mut slot, &mut usage).await;
        ctx.rec.waited(started.elapsed());
        ctx.rec.usage(usage);
        match &result {
            Ok(r) if !matches!(r.body(), Body::Stream(_)) => {
                ctx.rec
                    .attempt_ended(AttemptResult::Ok, Some(r.status().as_u16()));
            }
            Ok(_) => {}
            Err(e) => ctx.rec.attempt_ended(
                e.class.unwrap_or(AttemptResult::ServerError),
                e.upstream_status.map(|s| s.as_u16()),
            ),
        }
        match result {
            Ok(mut res) => {
                served_by(res.headers_mut(), ctx.table, &hop);
                if let Some(tr) = plan.translation.as_ref().filter(|t| !t.dropped.is_empty()) {
                    tracing::info!(
                        provider = &*hop.provider.name,
                        model = hop.upstream_model,
                        upstream = tr.upstream.as_str(),
                        dropped = %tr.dropped.join(", "),
                        "translation dropped request fields the upstream cannot express"
                    );
                    dropped(&mut res, &tr.dropped);
                }
                return Ok(res);
            }
            Err(e) if e.retryable => {
                let class = e.class.unwrap_or(AttemptResult::ServerError);
                passed(&hop, k, FailoverReason::Attempt(class));
                tracing::info!(
                    provider = &*hop.provider.name,
                    model = hop.upstream_model,
                    failure = %e,
                    "endpoint failed; trying the next one"
                );
                last = Some(Last::Error(e));
            }
            Err(mut e) => {
                // The upstream's own answer (a 400, 401, …): it says which endpoint gave it.
                if let Some(a) = &mut e.answer {
                    served_by(&mut a.head.headers, ctx.table, &hop);
                }
                return Err(e);
            }
        }
    }
    Err(exhausted(last))
}

/// Where the chain starts: the head for `priority`, rotating for `round_robin`, drawn by
/// weight for `weighted`.
fn first_hop(ctx: &Ctx<'_>, hops: &[HopRef<'_>]) -> usize {
    if hops.len() < 2 {
        return 0;
    }
    let n = ctx.shared.rotation.fetch_add(1, Ordering::Relaxed);
    match ctx.route.strategy {
        Strategy::Priority => 0,
        Strategy::RoundRobin => (n % hops.len() as u64) as usize,
        Strategy::Weighted => {
            let total: u64 = hops.iter().map(|h| u64::from(h.weight.max(1))).sum();
            // A fixed odd multiplier spreads consecutive counters over the weight range.
            let mut pick = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) % total;
            for (i, h) in hops.iter().enumerate() {
                let w = u64::from(h.weight.max(1));
                if pick < w {
                    return i;
                }
                pick -= w;
            }
            0
        }
    }
}

/// The chain's final error: the last endpoint's, worded for the whole chain.
fn exhausted(last: Option<Last>) -> ProxyError {
    match last {
        None => ProxyError::internal(ErrorKind::BadGateway, "the model has no endpoint to try"),
        Some(Last::Cooling(wait)) => ProxyError::internal(
            ErrorKind::Overloaded,
            "every endpoint for this model is cooling down after failures",
        )
        .with_retry_after(wait),
        Some(Last::Error(mut e)) => {
            if e.answer.is_none() && e.source == Source::Upstream {
                e.message = match e.kind {
                    ErrorKind::Timeout => {
                        format!("no endpoint answered in time; last: {}", e.message).into()
                    }
                    _ => format!("no endpoint answered; last: {}", e.message).into(),
                };
            }
            e
        }
    }
}

/// The caller's request rendered in the endpoint's protocol. An invalid request is the
/// caller's error whatever the endpoint; a feature this endpoint's protocol cannot express is
/// retryable (another endpoint may take it).
fn translated_body(
    req: &Result<ir::Request, request::Error>,
    upstream: Protocol,
    hop: &HopRef<'_>,
    stream: bool,
    policy: request::Policy,
) -> Result<request::Encoded, ProxyError> {
    let unsupported = |m: &str| {
        ProxyError::client(
            ErrorKind::InvalidRequest,
            format!(
                "{m} cannot be expressed in `{}`, the protocol provider `{}` speaks for this model",
                upstream.as_str(),
                hop.provider.name
            ),
        )
        .retryable(true)
    };
    let invalid = |m: String| ProxyError::client(ErrorKind::InvalidRequest, m);
    match req {
        Err(request::Error::Invalid(m)) => Err(invalid(m.clone())),
        Err(request::Error::Unsupported(m)) => Err(unsupported(m)),
        Ok(r) => match request::encode_for(upstream, r, hop.upstream_model, stream, policy) {
            Ok(enc) => Ok(enc),
            Err(request::Error::Invalid(m)) => Err(invalid(m)),
            Err(request::Error::Unsupported(m)) => Err(unsupported(&m)),
        },
    }
}

/// The time for `created` fields and a seed for ids the router makes up, once per request.
fn stamp() -> (u64, u64) {
    use std::hash::{BuildHasher, Hasher};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(now.as_nanos());
    (now.as_secs(), h.finish())
}

/// An endpoint the router cannot build a request for: try the next one.
fn build_error(hop: &HopRef<'_>, e: BuildError) -> ProxyError {
    let p = &hop.provider.name;
    let m = match e {
        BuildError::MissingKey(var) => {
            format!("provider `{p}` has no API key: set `{var}` and reload")
        }
        BuildError::BadUrl => format!("provider `{p}` has an upstream URL that is not valid"),
        BuildError::BadHeader(h) => format!("provider `{p}` has a header `{h}` that is not valid"),
    };
    ProxyError::internal(ErrorKind::BadGateway, m).retryable(true)
}
