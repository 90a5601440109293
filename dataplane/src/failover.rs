//! The failover loop: try a route's endpoints in order until one commits.
//!
//! Retryable (next endpoint): connect errors, no response before `first_byte`, 408, 429 (its
//! `Retry-After` cools that endpoint down), 5xx, a malformed 2xx body, and — for streams —
//! an error event, a malformed event or a cut before the first content event. Other upstream
//! statuses are the answer and go back to the caller as they are. Attempts are bounded by
//! `failover.max_attempts` and by the process-wide retry budget (`budget.rs`); endpoints whose
//! breaker is open are skipped.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use compiler::table::{HopRef, Protocol, Route, Strategy};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, header, response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use smallvec::SmallVec;

use crate::body::{Body, Gather};
use crate::breaker::{Admission, EndpointKey, Probe};
use crate::endpoint::Call;
use crate::error::{ApiError, Kind, Shape, json_content_type};
use crate::json::PooledScratch;
use crate::prepared::LoadedTable;
use crate::relay::{Outcome, Relay};
use crate::request::{RequestInfo, passthrough_body};
use crate::server::{InFlight, Shared};
use crate::upstream::{self, BuildError, Forward};
use translate::names::NameMap;
use translate::stream::{self, Translator};
use translate::{ir, request, response as answer};

/// Largest upstream body read whole (non-streaming answers, error bodies).
const MAX_UPSTREAM_BODY: usize = 64 << 20;
/// Longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Arc<Shared>,
    pub(crate) table: &'a LoadedTable,
    pub(crate) route: Route<'a>,
    pub(crate) call: &'a Call<'a>,
    pub(crate) info: &'a RequestInfo<'a>,
    pub(crate) body: &'a Bytes,
    /// The caller's headers; the map is reused for the first upstream request.
    pub(crate) caller: HeaderMap,
    pub(crate) slot: Option<InFlight>,
}

/// Why the last endpoint tried did not answer.
#[derive(Debug)]
enum Failure {
    /// An upstream status worth retrying; its body is already in the caller's shape.
    Status {
        head: response::Parts,
        body: Bytes,
        retry_after: Option<Duration>,
    },
    Timeout(String),
    Upstream(String),
    /// Every endpoint is cooling down; the shortest wait.
    Open(Duration),
    Config(String),
    /// The request uses a feature the endpoint's protocol cannot express.
    Unsupported(String),
}

impl std::fmt::Display for Failure {
    /// One line for logs: a status and no body (bodies can be large).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Status { head, .. } => write!(f, "upstream answered {}", head.status),
            Failure::Timeout(m)
            | Failure::Upstream(m)
            | Failure::Config(m)
            | Failure::Unsupported(m) => f.write_str(m),
            Failure::Open(w) => write!(f, "cooling down for {}s", w.as_secs()),
        }
    }
}

#[allow(
    clippy::large_enum_variant,
    reason = "returned once per attempt; boxing would cost an allocation per request"
)]
enum Attempt {
    Done(Response<Body>),
    Retry(Failure),
}

pub(crate) async fn run(mut ctx: Ctx<'_>) -> Response<Body> {
    let shape = Shape::from(ctx.call.protocol);
    let hops: SmallVec<[HopRef<'_>; 8]> = ctx.route.hops().collect();
    let start = first_hop(&ctx, &hops);
    let settings = ctx.table.server();
    let max_attempts = settings.max_attempts.max(1);
    let mut attempts = 0;
    let mut last: Option<Failure> = None;
    let mut slot = ctx.slot.take();
    let forward = Forward::from_caller(&ctx.caller);
    let mut spare_headers = Some(std::mem::take(&mut ctx.caller));
    // The caller's request in the IR, decoded the first time an endpoint needs a translation.
    let mut ir: Option<Result<ir::Request, request::Error>> = None;
    let (created, seed) = stamp();
    ctx.shared.retry_budget.deposit();
    for k in 0..hops.len() {
        if attempts >= max_attempts {
            break;
        }
        let hop = hops[(start + k) % hops.len()];
        let inbound = ctx.call.protocol;
        let (upstream_proto, _) = hop.protocols().0.choose(Some(inbound));
        let translating = upstream_proto != inbound;
        let key = EndpointKey::new(&hop.provider.name, hop.upstream_model);
        let breakers = &ctx.shared.breakers;
        // Only the half-open probe needs a guard (it releases the slot if the caller leaves).
        let mut probe = match breakers.admit(key, Instant::now()) {
            Admission::Yes => None,
            Admission::Probe => Some(Probe::new(breakers, key)),
            Admission::No(wait) => {
                let wait = match &last {
                    Some(Failure::Open(w)) => wait.min(*w),
                    _ => wait,
                };
                last = Some(Failure::Open(wait));
                continue;
            }
        };
        let ask_usage = !translating && inbound == Protocol::ChatCompletions && ctx.info.stream;
        let mut names = NameMap::default();
        let body = if translating {
            let req = ir.get_or_insert_with(|| request::decode(inbound, ctx.body, ctx.info.stream));
            match translated_body(req, upstream_proto, &hop, ctx.info.stream) {
                Ok((b, n)) => {
                    names = n;
                    b
                }
                Err(Untranslated::Invalid(m)) => {
                    return ApiError::new(Kind::InvalidRequest, m).into_response(shape);
                }
                Err(Untranslated::Unsupported(m)) => {
                    last = Some(Failure::Unsupported(m));
                    continue;
                }
            }
        } else {
            passthrough_body(ctx.body, ctx.info, hop.upstream_model, ask_usage)
        };
        let tr = translating.then_some(Translation {
            upstream: upstream_proto,
            caller: inbound,
            model: hop.upstream_model,
            created,
            seed,
            names,
        });
        let headers = spare_headers.take().unwrap_or_default();
        let prepared = &ctx.table.prepared;
        let req = match upstream::build(
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
                last = Some(Failure::Config(build_error(&hop, e)));
                continue;
            }
        };
        if attempts > 0 && !ctx.shared.retry_budget.withdraw(Instant::now()) {
            tracing::warn!("retry budget exhausted; not failing over");
            break;
        }
        attempts += 1;
        let outcome = attempt(&ctx, &hop, req, ask_usage, tr, key, &mut slot).await;
        if let Some(p) = &mut probe {
            p.disarm();
        }
        match outcome {
            Attempt::Done(mut res) => {
                breakers.success(key);
                served_by(res.headers_mut(), ctx.table, &hop);
                return res;
            }
            Attempt::Retry(f) => {
                let retry_after = match &f {
                    Failure::Status { retry_after, .. } => *retry_after,
                    _ => None,
                };
                breakers.failure(
                    key,
                    Instant::now(),
                    settings.breaker_failures,
                    settings.breaker_cooldown,
                    retry_after,
                );
                tracing::info!(
                    provider = &*hop.provider.name,
                    model = hop.upstream_model,
                    failure = %f,
                    "endpoint failed; trying the next one"
                );
                last = Some(f);
            }
        }
    }
    exhausted(last, shape)
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

async fn attempt(
    ctx: &Ctx<'_>,
    hop: &HopRef<'_>,
    req: http::Request<http_body_util::Full<Bytes>>,
    ask_usage: bool,
    tr: Option<Translation<'_>>,
    key: EndpointKey,
    slot: &mut Option<InFlight>,
) -> Attempt {
    let t = hop.provider.timeouts;
    let started = Instant::now();
    let first_byte = started + t.first_byte;
    let client = ctx
        .shared
        .clients
        .get(t.connect, hop.provider.allow_private);
    let res = match tokio::time::timeout_at(first_byte.into(), client.request(req)).await {
        Err(_) => {
            return Attempt::Retry(Failure::Timeout(format!(
                "no response within {}s",
                t.first_byte.as_secs()
            )));
        }
        Ok(Err(e)) => {
            let what = if e.is_connect() {
                "could not connect"
            } else {
                "the request failed"
            };
            return Attempt::Retry(Failure::Upstream(format!("{what}: {}", error_chain(&e))));
        }
        Ok(Ok(r)) => r,
    };
    let (mut head, body) = res.into_parts();
    if !head.status.is_success() {
        let retry_after = retry_after(&head.headers);
        let mut body = read_all(body, started + t.total).await.unwrap_or_default();
        if let Some(tr) = &tr {
            // The upstream's error envelope, in the caller's.
            let status = head.status.as_u16();
            let err = answer::decode_error(status, &body);
            body = Bytes::from(answer::encode_error(tr.caller, status, &err));
            head.headers
                .insert(header::CONTENT_TYPE, json_content_type());
        }
        if retryable(head.status) {
            return Attempt::Retry(Failure::Status {
                head,
                body,
                retry_after,
            });
        }
        return Attempt::Done(respond_with(head, body, None));
    }
    if ctx.info.stream {
        let is_sse = head
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !is_sse {
            return Attempt::Retry(Failure::Upstream(
                "the upstream answered a stream request without an event stream".into(),
            ));
        }
        let mut relay = match &tr {
            Some(tr) => {
                let tctx = tr.ctx(ctx);
                let mut translator = Translator::new(tr.upstream, tr.caller, &tctx);
                translator.restore_names(tr.names.clone());
                Relay::translating(body, translator, tr.caller, t.idle)
            }
            None => Relay::new(
                body,
                ctx.call.protocol,
                ask_usage && !ctx.info.include_usage,
                ctx.call.json_array,
                hop.upstream_model,
                t.idle,
            ),
        };
        if let Err(f) = relay.until_commit(first_byte).await {
            return Attempt::Retry(if f.timeout {
                Failure::Timeout(f.message)
            } else {
                Failure::Upstream(f.message)
            });
        }
        let settings = ctx.table.server();
        relay.set_outcome(Outcome {
            breakers: Arc::clone(&ctx.shared.breakers),
            key,
            threshold: settings.breaker_failures,
            cooldown: settings.breaker_cooldown,
        });
        if let Some(s) = slot.take() {
            relay.hold_slot(s);
        }
        let ct = if ctx.call.json_array {
            json_content_type()
        } else {
            HeaderValue::from_static("text/event-stream")
        };
        reset_head(&mut head);
        head.headers.insert(header::CONTENT_TYPE, ct);
        head.headers
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return Attempt::Done(Response::from_parts(head, Body::Relay(relay)));
    }
    let Some(body) = read_all(body, started + t.total).await else {
        return Attempt::Retry(Failure::Timeout(
            "the upstream answer did not complete in time".into(),
        ));
    };
    if !well_formed(&body) {
        return Attempt::Retry(Failure::Upstream(
            "the upstream answered 2xx with a malformed body".into(),
        ));
    }
    if let Some(tr) = &tr {
        let tctx = tr.ctx(ctx);
        match answer::decode(tr.upstream, &body, &tctx) {
            Ok(mut r) => {
                tr.names.restore_response(&mut r);
                head.headers
                    .insert(header::CONTENT_TYPE, json_content_type());
                let out = answer::encode(tr.caller, &r, &tctx);
                return Attempt::Done(respond_with(head, Bytes::from(out), None));
            }
            Err(m) => {
                return Attempt::Retry(Failure::Upstream(format!(
                    "the upstream's answer is not a valid `{}` response: {m}",
                    tr.upstream.as_str()
                )));
            }
        }
    }
    Attempt::Done(respond_with(head, body, None))
}

/// The upstream's response head, emptied for reuse: its header map keeps its allocation.
fn reset_head(head: &mut response::Parts) {
    head.headers.clear();
    head.extensions.clear();
    head.version = http::Version::HTTP_11;
}

/// The caller's answer built on the upstream's head: its status and content type, nothing else.
fn respond_with(
    mut head: response::Parts,
    body: Bytes,
    retry_after: Option<Duration>,
) -> Response<Body> {
    let content_type = head.headers.remove(header::CONTENT_TYPE);
    reset_head(&mut head);
    head.headers.insert(
        header::CONTENT_TYPE,
        content_type.unwrap_or_else(json_content_type),
    );
    if let Some(ra) = retry_after {
        head.headers
            .insert(header::RETRY_AFTER, HeaderValue::from(ra.as_secs().max(1)));
    }
    Response::from_parts(head, Body::full(body))
}

const X_PROVIDER: HeaderName = HeaderName::from_static("x-bitrouter-provider");
const X_MODEL: HeaderName = HeaderName::from_static("x-bitrouter-model");

/// Adds the headers naming what served the request.
fn served_by(h: &mut HeaderMap, table: &LoadedTable, hop: &HopRef<'_>) {
    if let Some(v) = &table.prepared.provider(hop).name {
        h.insert(X_PROVIDER, v.clone());
    }
    let model = table
        .prepared
        .target(hop)
        .and_then(|t| t.model.clone())
        .or_else(|| HeaderValue::from_str(hop.upstream_model).ok());
    if let Some(v) = model {
        h.insert(X_MODEL, v);
    }
}

fn retryable(s: StatusCode) -> bool {
    s == StatusCode::REQUEST_TIMEOUT || s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error()
}

/// A 2xx answer must be a JSON object without an `error` member.
fn well_formed(body: &[u8]) -> bool {
    let mut s = PooledScratch::take();
    s.get()
        .parse(body, |v| {
            use simd_json::prelude::*;
            v.is_object() && v.get("error").is_none_or(|e| e.is_null())
        })
        .unwrap_or(false)
}

fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = h.get(header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = v.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs).min(MAX_RETRY_AFTER))
}

/// Reads a whole upstream body, bounded in size and time; one buffer copy only when it came in
/// several frames.
async fn read_all(mut body: Incoming, deadline: Instant) -> Option<Bytes> {
    let read = async {
        let mut gathered = Gather::default();
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.ok()?.into_data() else {
                continue;
            };
            if gathered.len() + data.len() > MAX_UPSTREAM_BODY {
                return None;
            }
            gathered.push(data, 0);
        }
        Some(gathered.finish())
    };
    tokio::time::timeout_at(deadline.into(), read)
        .await
        .ok()
        .flatten()
}

fn exhausted(last: Option<Failure>, shape: Shape) -> Response<Body> {
    let err = match last {
        Some(Failure::Status {
            head,
            body,
            retry_after,
        }) => return respond_with(head, body, retry_after),
        Some(Failure::Timeout(m)) => ApiError::new(
            Kind::GatewayTimeout,
            format!("no endpoint answered in time; last: {m}"),
        ),
        Some(Failure::Upstream(m)) => {
            ApiError::new(Kind::BadGateway, format!("no endpoint answered; last: {m}"))
        }
        Some(Failure::Open(wait)) => ApiError::new(
            Kind::Overloaded,
            "every endpoint for this model is cooling down after failures",
        )
        .with_retry_after(wait.as_secs().max(1)),
        Some(Failure::Config(m)) => ApiError::new(Kind::BadGateway, m),
        Some(Failure::Unsupported(m)) => ApiError::new(Kind::InvalidRequest, m),
        None => ApiError::new(Kind::BadGateway, "the model has no endpoint to try"),
    };
    err.into_response(shape)
}

/// A translated call: which protocols, and what the caller is told.
#[derive(Debug)]
struct Translation<'a> {
    upstream: Protocol,
    caller: Protocol,
    model: &'a str,
    created: u64,
    seed: u64,
    /// Tool names renamed for the upstream, restored in the answer.
    names: NameMap,
}

impl<'a> Translation<'a> {
    fn ctx(&self, ctx: &Ctx<'_>) -> stream::Ctx<'a> {
        stream::Ctx {
            model: self.model,
            include_usage: ctx.info.include_usage,
            json_array: ctx.call.json_array,
            created: self.created,
            seed: self.seed,
        }
    }
}

enum Untranslated {
    /// Not a valid request of the caller's protocol: a 400 whatever the endpoint.
    Invalid(String),
    /// This endpoint's protocol cannot carry the request; another endpoint may.
    Unsupported(String),
}

/// The caller's request rendered in the endpoint's protocol.
fn translated_body(
    req: &Result<ir::Request, request::Error>,
    upstream: Protocol,
    hop: &HopRef<'_>,
    stream: bool,
) -> Result<(Bytes, NameMap), Untranslated> {
    let unsupported = |m: &str| {
        Untranslated::Unsupported(format!(
            "{m} cannot be expressed in `{}`, the protocol provider `{}` speaks for this model",
            upstream.as_str(),
            hop.provider.name
        ))
    };
    match req {
        Err(request::Error::Invalid(m)) => Err(Untranslated::Invalid(m.clone())),
        Err(request::Error::Unsupported(m)) => Err(unsupported(m)),
        Ok(r) => match request::encode_named(upstream, r, hop.upstream_model, stream) {
            Ok((b, names)) => Ok((Bytes::from(b), names)),
            Err(request::Error::Invalid(m)) => Err(Untranslated::Invalid(m)),
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

fn build_error(hop: &HopRef<'_>, e: BuildError) -> String {
    let p = &hop.provider.name;
    match e {
        BuildError::MissingKey(var) => {
            format!("provider `{p}` has no API key: set `{var}` and reload")
        }
        BuildError::BadUrl => format!("provider `{p}` has an upstream URL that is not valid"),
        BuildError::BadHeader(h) => format!("provider `{p}` has a header `{h}` that is not valid"),
    }
}

/// An error and its sources on one line (hyper-util's top-level message is generic).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
