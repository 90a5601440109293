//! A streaming upstream response on its way to the caller, before and after the commit point.
//!
//! Before commit ([`Relay::until_commit`], awaited inside the request future): events are read
//! and classified; lifecycle frames are held back; an error event, a malformed event, a cut or
//! a timeout is returned as a retryable failure and nothing has reached the caller. The first
//! content event commits: the held frames and it are released together. After commit
//! ([`Relay::poll_frame`], driven by hyper as the response body): events pass through as the
//! upstream's own bytes; a cut, an idle timeout or an oversized event ends the stream with the
//! caller protocol's terminal error frame. Dropping the relay drops the upstream body, which
//! closes the upstream connection: client disconnect cancels the upstream call.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use compiler::table::Protocol;
use http_body::Body as _;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::time::Sleep;

use crate::breaker::{Breakers, EndpointKey};
use crate::inspect::{Class, Inspector};
use crate::json::PooledScratch;
use crate::server::InFlight;
use crate::sse::{self, Splitter};
use smallvec::SmallVec;

/// Why an attempt failed before commit.
#[derive(Debug)]
pub(crate) struct PreCommitFailure {
    pub(crate) message: String,
    pub(crate) timeout: bool,
}

/// Reports a committed stream's outcome to the endpoint's breaker.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) breakers: Arc<Breakers>,
    pub(crate) key: EndpointKey,
    pub(crate) threshold: u32,
    pub(crate) cooldown: Duration,
}

pub(crate) struct Relay {
    upstream: Incoming,
    splitter: Splitter,
    inspector: Inspector,
    /// Frames for the caller, oldest first (a handful at most: the held lifecycle frames).
    out: SmallVec<[Bytes; 4]>,
    json_array: bool,
    array_open: bool,
    upstream_done: bool,
    finished: bool,
    idle: Duration,
    sleep: Pin<Box<Sleep>>,
    outcome: Option<Outcome>,
    /// The in-flight slot, released when the stream ends or the caller goes away.
    _slot: Option<InFlight>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("inspector", &self.inspector)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Relay {
    pub(crate) fn new(
        upstream: Incoming,
        protocol: Protocol,
        strip_usage: bool,
        json_array: bool,
        model: &str,
        idle: Duration,
    ) -> Relay {
        Relay {
            upstream,
            splitter: Splitter::default(),
            inspector: Inspector::new(protocol, strip_usage, model),
            out: SmallVec::new(),
            json_array,
            array_open: false,
            upstream_done: false,
            finished: false,
            idle,
            sleep: Box::pin(tokio::time::sleep(idle)),
            outcome: None,
            _slot: None,
        }
    }

    pub(crate) fn set_outcome(&mut self, outcome: Outcome) {
        self.outcome = Some(outcome);
    }

    pub(crate) fn hold_slot(&mut self, slot: InFlight) {
        self._slot = Some(slot);
    }

    /// The next whole event, including an unterminated tail once the upstream has ended.
    fn next_event(&mut self) -> Result<Option<Bytes>, sse::TooLarge> {
        match self.splitter.next_event()? {
            Some(e) => Ok(Some(e)),
            None if self.upstream_done => Ok(self.splitter.finish()),
            None => Ok(None),
        }
    }

    fn emit(&mut self, raw: Bytes) {
        if !self.json_array {
            self.out.push(raw);
            return;
        }
        let f = sse::fields(&raw);
        let mut join = Vec::new();
        if let Some(data) = f.data(&mut join) {
            let sep: &[u8] = if self.array_open { b",\r\n" } else { b"[" };
            self.array_open = true;
            let mut v = Vec::with_capacity(sep.len() + data.len());
            v.extend_from_slice(sep);
            v.extend_from_slice(data);
            self.out.push(Bytes::from(v));
        }
    }

    /// Reads until the commit point. On `Ok` the held frames are queued for the caller.
    pub(crate) async fn until_commit(&mut self, deadline: Instant) -> Result<(), PreCommitFailure> {
        let fail = |m: &str| PreCommitFailure {
            message: m.to_owned(),
            timeout: false,
        };
        loop {
            match self.next_event() {
                Err(sse::TooLarge) => return Err(fail("the upstream sent an oversized event")),
                Ok(Some(ev)) => {
                    let class = self
                        .inspector
                        .classify(&ev, PooledScratch::take().get(), true);
                    match class {
                        Class::Lifecycle => self.emit(ev),
                        Class::Drop => {}
                        Class::Content | Class::Terminal => {
                            self.emit(ev);
                            let next = tokio::time::Instant::now() + self.idle;
                            self.sleep.as_mut().reset(next);
                            return Ok(());
                        }
                        Class::Error(m) => {
                            return Err(fail(&format!("error event before any content: {m}")));
                        }
                        Class::Malformed => {
                            return Err(fail("the upstream sent a malformed event"));
                        }
                    }
                    continue;
                }
                Ok(None) if self.upstream_done => {
                    return Err(fail("the upstream stream ended before any content"));
                }
                Ok(None) => {}
            }
            match tokio::time::timeout_at(deadline.into(), self.upstream.frame()).await {
                Err(_) => {
                    return Err(PreCommitFailure {
                        message: "no content from the upstream before the first-byte timeout"
                            .into(),
                        timeout: true,
                    });
                }
                Ok(None) => self.upstream_done = true,
                Ok(Some(Err(e))) => return Err(fail(&format!("upstream connection failed: {e}"))),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.splitter.push(data);
                    }
                }
            }
        }
    }

    fn fail_committed(&mut self, message: &str) {
        let frame = self.inspector.terminal_error(message, self.json_array);
        if self.json_array && !self.array_open {
            self.out.push(Bytes::from_static(b"["));
            self.out.push(frame.slice(1..));
        } else {
            self.out.push(frame);
        }
        self.finished = true;
        if let Some(o) = self.outcome.take() {
            o.breakers
                .failure(o.key, Instant::now(), o.threshold, o.cooldown, None);
        }
        tracing::warn!(message, "stream failed after commit");
    }

    fn end_cleanly(&mut self) {
        if self.json_array {
            self.out.push(Bytes::from_static(if self.array_open {
                b"]"
            } else {
                b"[]"
            }));
        }
        self.finished = true;
        if let Some(o) = self.outcome.take() {
            o.breakers.success(o.key);
        }
    }

    /// The committed stream, polled by hyper.
    pub(crate) fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        loop {
            if !self.out.is_empty() {
                return Poll::Ready(Some(self.out.remove(0)));
            }
            if self.finished {
                return Poll::Ready(None);
            }
            match self.next_event() {
                Err(sse::TooLarge) => {
                    self.fail_committed("the upstream sent an oversized event");
                    continue;
                }
                Ok(Some(ev)) => {
                    // Parse buffers come from the thread's pool per event, so an open stream
                    // holds none while it waits.
                    let class = self
                        .inspector
                        .classify(&ev, PooledScratch::take().get(), false);
                    match class {
                        Class::Drop => {}
                        Class::Error(_) => {
                            // The upstream's own error frame is already in the caller's shape.
                            self.emit(ev);
                            self.inspector.ended = true;
                        }
                        _ => self.emit(ev),
                    }
                    continue;
                }
                Ok(None) if self.upstream_done => {
                    if self.inspector.ended {
                        self.end_cleanly();
                    } else {
                        self.fail_committed("the upstream stream was cut before it completed");
                    }
                    continue;
                }
                Ok(None) => {}
            }
            match Pin::new(&mut self.upstream).poll_frame(cx) {
                Poll::Ready(None) => self.upstream_done = true,
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.splitter.push(data);
                    }
                    let next = tokio::time::Instant::now() + self.idle;
                    self.sleep.as_mut().reset(next);
                }
                Poll::Ready(Some(Err(e))) => {
                    self.fail_committed(&format!("the upstream connection failed: {e}"));
                }
                Poll::Pending => {
                    if self.sleep.as_mut().poll(cx).is_ready() {
                        self.fail_committed("the upstream went idle for too long");
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}
