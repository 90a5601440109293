//! One attempt: one upstream call for one endpoint of the chain, classified once, at its end.
//!
//! A whole answer ends when it has been read and checked; a stream ends when the committed
//! stream does (`relay.rs`), so its outcome is recorded there. Every path consumes the
//! attempt's breaker [`Ticket`] exactly once — or drops it unrecorded when the caller leaves.
//! Failures come back as a [`ProxyError`]; the failover loop reads only whether it is
//! retryable.

use std::time::{Duration, Instant};

use bytes::Bytes;
use compiler::table::{HopRef, Protocol};
use http::{HeaderMap, HeaderValue, Response, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use translate::ir::{ErrorKind, Usage};
use translate::names::NameMap;
use translate::stream::{self, Translator};

use crate::body::{Body, Gather};
use crate::breaker::{Outcome, Ticket};
use crate::error::{ProxyError, error_chain};
use crate::json::PooledScratch;
use crate::metrics::AttemptResult as R;
use crate::prepared::PreparedProvider;
use crate::relay::{Owner, Pending};
use crate::respond::{json_content_type, reset_head, with_head};
use crate::screen::Screening;
use crate::shared::InFlight;
use translate::response as answer;

/// Largest upstream body read whole (non-streaming answers, error bodies).
const MAX_UPSTREAM_BODY: usize = 64 << 20;
/// Longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// What the attempt needs to know about the caller's request.
#[derive(Debug)]
pub(crate) struct Plan<'a> {
    pub(crate) caller: Protocol,
    pub(crate) stream: bool,
    /// Gemini callers without `alt=sse`.
    pub(crate) json_array: bool,
    /// Chat: the caller asked for the usage chunk.
    pub(crate) include_usage: bool,
    /// Chat passthrough streams: the router asked for usage on the caller's behalf.
    pub(crate) ask_usage: bool,
    /// Set when the endpoint speaks another protocol.
    pub(crate) translation: Option<Translation<'a>>,
    /// The answer's content rules: a whole answer is checked in the caller's protocol; a
    /// stream goes through a translator (the caller's own protocol on both sides when the
    /// endpoint speaks it) that checks its text and arguments.
    pub(crate) screen: Option<&'a Screening>,
    /// `created` and the id seed for a translator (`stream::Ctx`).
    pub(crate) stamp: (u64, u64),
}

/// A translated call: which protocols, and what the caller is told.
#[derive(Debug)]
pub(crate) struct Translation<'a> {
    pub(crate) upstream: Protocol,
    pub(crate) model: &'a str,
    pub(crate) created: u64,
    pub(crate) seed: u64,
    /// Tool names renamed for the upstream, restored in the answer.
    pub(crate) names: NameMap,
    /// Request fields left out for this upstream (`x-bitrouter-dropped`).
    pub(crate) dropped: Vec<String>,
}

impl<'a> Plan<'a> {
    fn ctx(&self, tr: &Translation<'a>) -> stream::Ctx<'a> {
        stream::Ctx {
            model: tr.model,
            include_usage: self.include_usage,
            json_array: self.json_array,
            created: tr.created,
            seed: tr.seed,
        }
    }
}

/// Records the attempt's end on its ticket and tags the error with the same class.
fn failed(ticket: Ticket, class: R, err: ProxyError) -> ProxyError {
    ticket.record(Outcome::Failure { retry_after: None }, class);
    err.with_class(class)
}

/// A content rule blocked the endpoint's answer: nothing against the endpoint.
fn blocked(ticket: Ticket, err: ProxyError) -> ProxyError {
    ticket.record(Outcome::Success, R::Blocked);
    err.with_class(R::Blocked)
}

/// A whole answer in the caller's protocol, checked by the answer's rules (when any).
fn screened(call: &Plan<'_>, body: Bytes) -> Result<Bytes, ProxyError> {
    match call.screen {
        None => Ok(body),
        Some(s) => Ok(s.answer(call.caller, &body)?.unwrap_or(body)),
    }
}

/// Sends `req` to `hop` and classifies the answer. `slot` moves into a committed stream;
/// `usage` gets what a whole answer reports.
pub(crate) async fn run(
    call: &Plan<'_>,
    hop: &HopRef<'_>,
    provider: &PreparedProvider,
    req: http::Request<http_body_util::Full<Bytes>>,
    ticket: Ticket,
    slot: &mut Option<InFlight>,
    usage: &mut Option<Usage>,
) -> Result<Response<Body>, ProxyError> {
    let t = hop.provider.timeouts;
    let started = Instant::now();
    let first_byte = started + t.first_byte;
    let res = match tokio::time::timeout_at(first_byte.into(), provider.client.request(req)).await {
        Err(_) => {
            let e = ProxyError::upstream(
                ErrorKind::Timeout,
                format!("no response within {}s", t.first_byte.as_secs()),
            );
            return Err(failed(ticket, R::Timeout, e));
        }
        Ok(Err(e)) => {
            let (what, class) = if e.is_connect() {
                ("could not connect", R::ConnectError)
            } else {
                ("the request failed", R::TransportError)
            };
            let e = ProxyError::upstream(
                ErrorKind::BadGateway,
                format!("{what}: {}", error_chain(&e)),
            );
            return Err(failed(ticket, class, e));
        }
        Ok(Ok(r)) => r,
    };
    let (mut head, body) = res.into_parts();
    if !head.status.is_success() {
        let retry_after = retry_after(&head.headers);
        let mut body = read_all(body, started + t.total).await.unwrap_or_default();
        let status = head.status.as_u16();
        let info = answer::decode_error(status, &body);
        // A translated upstream's envelope, or a same-protocol answer that is not the caller's
        // envelope (plain text or HTML from a proxy, another protocol's JSON): the caller gets
        // its own envelope, with the upstream's status and message.
        if call.translation.is_some() || !answer::is_error_envelope(call.caller, &body) {
            body = Bytes::from(answer::encode_error(call.caller, status, &info));
            head.headers
                .insert(header::CONTENT_TYPE, json_content_type());
        }
        let err = ProxyError::answered(head, body, info.kind);
        let err = match retry_after {
            Some(ra) => err.with_retry_after(ra),
            None => err,
        };
        // A refused request says nothing against the endpoint; 402, 408, 429 and 5xx do.
        let class = R::of_status(status);
        let outcome = if err.retryable {
            Outcome::Failure { retry_after }
        } else {
            Outcome::Success
        };
        ticket.record(outcome, class);
        return Err(err.with_class(class));
    }
    if call.stream {
        return stream(call, hop, head, body, first_byte, ticket, slot).await;
    }
    let Some(body) = read_all(body, started + t.total).await else {
        let e = ProxyError::upstream(
            ErrorKind::Timeout,
            "the upstream answer did not complete in time",
        );
        return Err(failed(ticket, R::Timeout, e));
    };
    let upstream = call
        .translation
        .as_ref()
        .map_or(call.caller, |t| t.upstream);
    let Some(reported) = well_formed(&body, upstream) else {
        let e = ProxyError::upstream(
            ErrorKind::BadGateway,
            "the upstream answered 2xx with a malformed body",
        );
        return Err(failed(ticket, R::Malformed, e));
    };
    *usage = reported;
    let Some(tr) = &call.translation else {
        let body = match screened(call, body) {
            Ok(b) => b,
            Err(e) => return Err(blocked(ticket, e)),
        };
        ticket.record(Outcome::Success, R::Ok);
        return Ok(with_head(head, body, None));
    };
    let tctx = call.ctx(tr);
    match answer::decode(tr.upstream, &body, &tctx) {
        Ok(mut r) => {
            tr.names.restore_response(&mut r);
            head.headers
                .insert(header::CONTENT_TYPE, json_content_type());
            let out = answer::encode(call.caller, &r, &tctx);
            let out = match screened(call, Bytes::from(out)) {
                Ok(b) => b,
                Err(e) => return Err(blocked(ticket, e)),
            };
            ticket.record(Outcome::Success, R::Ok);
            Ok(with_head(head, out, None))
        }
        Err(m) => {
            let e = ProxyError::upstream(
                ErrorKind::BadGateway,
                format!(
                    "the upstream's answer is not a valid `{}` response: {m}",
                    tr.upstream.as_str()
                ),
            );
            Err(failed(ticket, R::Malformed, e))
        }
    }
}

/// A 2xx stream: wait for the commit point, then hand the committed stream to hyper.
async fn stream(
    call: &Plan<'_>,
    hop: &HopRef<'_>,
    mut head: http::response::Parts,
    body: Incoming,
    first_byte: Instant,
    ticket: Ticket,
    slot: &mut Option<InFlight>,
) -> Result<Response<Body>, ProxyError> {
    let idle = hop.provider.timeouts.idle;
    let is_sse = head
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !is_sse {
        let e = ProxyError::upstream(
            ErrorKind::BadGateway,
            "the upstream answered a stream request without an event stream",
        );
        return Err(failed(ticket, R::Malformed, e));
    }
    let pending = match (&call.translation, call.screen) {
        (Some(tr), screen) => {
            let tctx = call.ctx(tr);
            let mut translator = Translator::new(tr.upstream, call.caller, &tctx);
            translator.restore_names(tr.names.clone());
            if let Some(s) = screen {
                translator.screen(s.stream());
            }
            Pending::translating(body, translator, tr.upstream, call.caller, idle, screen)
        }
        // Checked on the way: the caller's protocol decoded and written again.
        (None, Some(s)) => {
            let tctx = stream::Ctx {
                model: hop.upstream_model,
                include_usage: call.include_usage,
                json_array: call.json_array,
                created: call.stamp.0,
                seed: call.stamp.1,
            };
            let mut translator = Translator::new(call.caller, call.caller, &tctx);
            translator.screen(s.stream());
            Pending::translating(body, translator, call.caller, call.caller, idle, Some(s))
        }
        (None, None) => Pending::passthrough(
            body,
            call.caller,
            call.ask_usage && !call.include_usage,
            call.json_array,
            hop.upstream_model,
            idle,
        ),
    };
    let owner = Owner {
        ticket,
        slot: slot.take(),
    };
    let committed = match pending.commit(first_byte, owner).await {
        Ok(c) => c,
        Err((e, owner)) => {
            let class = e.class.unwrap_or(R::Cut);
            let outcome = if class == R::Blocked {
                Outcome::Success
            } else {
                Outcome::Failure { retry_after: None }
            };
            owner.ticket.record(outcome, class);
            *slot = owner.slot;
            return Err(e);
        }
    };
    let ct = if call.json_array {
        json_content_type()
    } else {
        HeaderValue::from_static("text/event-stream")
    };
    reset_head(&mut head);
    head.headers.insert(header::CONTENT_TYPE, ct);
    head.headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(Response::from_parts(head, Body::Stream(committed)))
}

/// A 2xx answer must be a JSON object without an `error` member: `None` when it is not,
/// else the usage it reports (read in the same parse).
fn well_formed(body: &[u8], protocol: Protocol) -> Option<Option<Usage>> {
    let mut s = PooledScratch::take();
    s.get()
        .parse(body, |v| {
            use simd_json::prelude::*;
            (v.is_object() && v.get("error").is_none_or(|e| e.is_null()))
                .then(|| translate::wire::answer_usage(protocol, v))
        })
        .ok()
        .flatten()
}

fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = h.get(header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = v.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs).min(MAX_RETRY_AFTER))
}

/// Reads a whole upstream body, bounded in size and time; one buffer copy only when it came in
/// several frames.
pub(crate) async fn read_all(mut body: Incoming, deadline: Instant) -> Option<Bytes> {
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
