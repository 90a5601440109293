//! A streaming upstream response on its way to the caller, as two types: a [`Pending`] stream
//! before the commit point and a [`Committed`] one after it.
//!
//! [`Pending::commit`] (awaited inside the request future) reads and classifies events;
//! lifecycle frames are held back; an error event, a malformed event, a cut or a timeout is a
//! retryable failure and nothing has reached the caller. The first content event commits: the
//! pending stream becomes a [`Committed`] one that owns the attempt's breaker [`Ticket`] and
//! the request's in-flight slot ([`Owner`]), with the held frames and the committing event
//! queued. From there hyper polls it as the response body ([`Committed::poll_frame`]): events
//! pass through as the upstream's own bytes (or translated); a cut, an idle timeout or an
//! oversized event ends it with the caller protocol's terminal error frame. When the stream
//! ends — and only then — its one outcome goes to the breaker and the slot is freed. Dropping
//! it (the client left) drops the upstream body, which closes the upstream connection, and
//! records nothing. A committed stream the upstream leaves silent gets the caller protocol's
//! keep-alive every `KEEPALIVE` (none for Gemini).
//!
//! The committed stream also owns the request's [`Record`] (attached by the handler as the
//! response leaves): when the stream ends, the record is finished there, with the usage the
//! upstream's events reported (read from the few events that carry it), so a stream is
//! counted and logged once, at its real end; dropped (the caller left), the record counts a
//! cancelled request and carries the usage the upstream had reported by then (a Messages
//! upstream's `message_start` input tokens, say; none from a Chat upstream, whose usage chunk
//! comes last), so the ledger's `cancelled` row bills what was consumed as far as it is known.
//!
//! Two modes: passthrough (the caller speaks the upstream's protocol;
//! `translate::passthrough::Inspector` classifies the upstream's own frames) or translation
//! (a boxed `translate::stream::Translator` decodes the upstream's events and writes the
//! caller's; its first content event is the commit point).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use compiler::table::Protocol;
use http_body::Body as _;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use smallvec::SmallVec;
use tokio::time::Sleep;
use translate::ir::{ErrorKind, Usage};
use translate::passthrough::{Class, Ending, Inspector};
use translate::stream::{Step, Translator};

use crate::breaker::{Outcome, Ticket};
use crate::error::ProxyError;
use crate::json::PooledScratch;
use crate::metrics::{AttemptResult as R, Outcome as End};
use crate::record::Record;
use crate::screen::Screening;
use crate::shared::InFlight;
use crate::sse::{self, Splitter};

/// What a committed stream owns until it ends: the attempt's breaker ticket (its one outcome
/// is recorded at the end) and the request's in-flight slot.
#[derive(Debug)]
pub(crate) struct Owner {
    pub(crate) ticket: Ticket,
    pub(crate) slot: Option<InFlight>,
}

/// How upstream events become the caller's frames.
enum Mode {
    Passthrough(Inspector),
    /// Boxed: a translator is a few hundred bytes and the body enum stays small.
    Translate(Box<Translator>),
}

impl std::fmt::Debug for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mode::Passthrough(i) => i.fmt(f),
            Mode::Translate(t) => t.fmt(f),
        }
    }
}

/// What both states share: the upstream body cut into events, and the caller's frames.
#[derive(Debug)]
struct Events {
    upstream: Incoming,
    splitter: Splitter,
    mode: Mode,
    /// Frames for the caller, oldest first (a handful at most: the held lifecycle frames).
    out: SmallVec<[Bytes; 4]>,
    upstream_done: bool,
    /// The upstream's protocol, whose events report usage.
    protocol: Protocol,
    usage: Option<Usage>,
    /// The answer's content rules (the translator checks; their matches are counted here).
    screen: Option<Screening>,
}

impl Events {
    /// The next whole event, including an unterminated tail once the upstream has ended.
    fn next_event(&mut self) -> Result<Option<Bytes>, sse::TooLarge> {
        match self.splitter.next_event()? {
            Some(e) => Ok(Some(e)),
            None if self.upstream_done => Ok(self.splitter.finish()),
            None => Ok(None),
        }
    }

    /// Folds the usage `raw` reports, if it mentions any (checked without parsing).
    fn tap_usage(&mut self, raw: &[u8], scratch: &mut crate::json::Scratch) {
        if memchr::memmem::find(raw, b"sage").is_none() {
            return;
        }
        let f = sse::fields(raw);
        let mut join = Vec::new();
        if let Some(data) = f.data(&mut join) {
            let event = f.event.and_then(|e| std::str::from_utf8(e).ok());
            translate::wire::stream_usage(self.protocol, event, data, scratch, &mut self.usage);
        }
    }

    fn push_frame(&mut self, frame: Option<Bytes>) {
        if let Some(f) = frame {
            self.out.push(f);
        }
    }

    /// Queues the translator's output (and counts the content rules' matches).
    fn take_translated(&mut self) {
        if let Mode::Translate(t) = &mut self.mode {
            if let Some(s) = &self.screen {
                let hits = t.take_hits();
                if !hits.is_empty() {
                    s.count(&hits);
                }
            }
            if let Some(b) = t.take() {
                self.out.push(b);
            }
        }
    }

    /// The rule that blocked the answer, if one did.
    fn blocked(&self) -> Option<&str> {
        match &self.mode {
            Mode::Translate(t) => t.blocked(),
            Mode::Passthrough(_) => None,
        }
    }
}

/// A stream before its commit point: nothing of it has reached the caller.
#[derive(Debug)]
pub(crate) struct Pending {
    events: Events,
    idle: Duration,
    caller: Protocol,
}

impl Pending {
    /// A same-protocol stream. `strip_usage`: the router asked for Chat's usage chunk on the
    /// caller's behalf; `json_array`: a Gemini caller without `alt=sse`.
    pub(crate) fn passthrough(
        upstream: Incoming,
        protocol: Protocol,
        strip_usage: bool,
        json_array: bool,
        model: &str,
        idle: Duration,
    ) -> Pending {
        let inspector = Inspector::new(protocol, strip_usage, json_array, model);
        Pending::with_mode(
            upstream,
            Mode::Passthrough(inspector),
            protocol,
            protocol,
            idle,
            None,
        )
    }

    /// A stream translated into the caller's protocol (JSON-array framing for Gemini callers
    /// is the encoder's job in this mode), checked by `screen`'s rules when there are any.
    pub(crate) fn translating(
        upstream: Incoming,
        translator: Translator,
        from: Protocol,
        caller: Protocol,
        idle: Duration,
        screen: Option<&Screening>,
    ) -> Pending {
        Pending::with_mode(
            upstream,
            Mode::Translate(Box::new(translator)),
            from,
            caller,
            idle,
            screen.cloned(),
        )
    }

    fn with_mode(
        upstream: Incoming,
        mode: Mode,
        from: Protocol,
        caller: Protocol,
        idle: Duration,
        screen: Option<Screening>,
    ) -> Pending {
        Pending {
            events: Events {
                upstream,
                splitter: Splitter::default(),
                mode,
                out: SmallVec::new(),
                upstream_done: false,
                protocol: from,
                usage: None,
                screen,
            },
            idle,
            caller,
        }
    }

    /// Reads until the commit point (by `deadline`). On success the stream is committed and
    /// owns `owner`; on failure `owner` comes back with the (retryable) error.
    pub(crate) async fn commit(
        mut self,
        deadline: Instant,
        owner: Owner,
    ) -> Result<Committed, (ProxyError, Owner)> {
        match self.until_commit(deadline).await {
            Ok(()) => Ok(Committed::new(self, owner)),
            Err(e) => Err((e, owner)),
        }
    }

    async fn until_commit(&mut self, deadline: Instant) -> Result<(), ProxyError> {
        let ev = &mut self.events;
        loop {
            match ev.next_event() {
                Err(sse::TooLarge) => {
                    return Err(
                        cut("the upstream sent an oversized event").with_class(R::Malformed)
                    );
                }
                Ok(Some(raw)) => {
                    if pre_commit(ev, raw)? {
                        return Ok(());
                    }
                    continue;
                }
                Ok(None) if ev.upstream_done => {
                    if let Mode::Translate(t) = &mut ev.mode {
                        match t.eof() {
                            Step::Error(_) if t.blocked().is_some() => {
                                ev.take_translated();
                                return Err(blocked(ev));
                            }
                            Step::Error(e) => {
                                let e = ProxyError::upstream(e.kind, e.message);
                                return Err(e.with_class(R::StreamError));
                            }
                            _ if t.committed() => {
                                ev.take_translated();
                                return Ok(());
                            }
                            _ => {}
                        }
                    }
                    return Err(cut("the upstream stream ended before any content"));
                }
                Ok(None) => {}
            }
            match tokio::time::timeout_at(deadline.into(), ev.upstream.frame()).await {
                Err(_) => {
                    return Err(ProxyError::upstream(
                        ErrorKind::Timeout,
                        "no content from the upstream before the first-byte timeout",
                    )
                    .with_class(R::Timeout));
                }
                Ok(None) => ev.upstream_done = true,
                Ok(Some(Err(e))) => {
                    return Err(cut(format!("the upstream connection failed: {e}")));
                }
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        ev.splitter.push(data);
                    }
                }
            }
        }
    }
}

/// One event before the commit point: `Ok(true)` commits (its frames are queued), `Ok(false)`
/// reads on, `Err` fails the attempt.
fn pre_commit(ev: &mut Events, raw: Bytes) -> Result<bool, ProxyError> {
    let mut scratch = PooledScratch::take();
    ev.tap_usage(&raw, scratch.get());
    match &mut ev.mode {
        Mode::Passthrough(inspector) => match inspector.classify(&raw, scratch.get(), true) {
            Class::Lifecycle => {
                let f = inspector.forward(raw);
                ev.push_frame(f);
            }
            Class::Drop => {}
            Class::Content | Class::Terminal => {
                let f = inspector.forward(raw);
                ev.push_frame(f);
                return Ok(true);
            }
            Class::Error(e) => {
                let m = format!("error event before any content: {}", e.message);
                return Err(ProxyError::upstream(e.kind, m).with_class(R::StreamError));
            }
            Class::Malformed => {
                return Err(cut("the upstream sent a malformed event").with_class(R::Malformed));
            }
        },
        Mode::Translate(t) => match t.feed(&raw, scratch.get()) {
            Step::Error(_) if t.blocked().is_some() => {
                ev.take_translated();
                return Err(blocked(ev));
            }
            Step::Error(e) => {
                let m = format!("error event before any content: {}", e.message);
                return Err(ProxyError::upstream(e.kind, m).with_class(R::StreamError));
            }
            Step::Malformed => {
                return Err(cut("the upstream sent a malformed event").with_class(R::Malformed));
            }
            Step::Continue | Step::Done if t.committed() => {
                ev.take_translated();
                return Ok(true);
            }
            Step::Continue | Step::Done => {}
        },
    }
    Ok(false)
}

/// A content rule blocked the answer before anything reached the caller: the caller's 400,
/// which says nothing against the endpoint (`R::Blocked` records a success on its breaker).
fn blocked(ev: &Events) -> ProxyError {
    crate::screen::blocked(ev.blocked().unwrap_or("?"), false).with_class(R::Blocked)
}

/// A retryable failure of the upstream's stream.
fn cut(message: impl Into<std::borrow::Cow<'static, str>>) -> ProxyError {
    ProxyError::upstream(ErrorKind::BadGateway, message)
}

/// A stream past its commit point, polled by hyper as the response body.
#[derive(Debug)]
pub(crate) struct Committed {
    events: Events,
    idle: Duration,
    /// When the upstream last sent something: the idle timeout runs from here.
    heard: tokio::time::Instant,
    /// When the caller was last handed a frame: keep-alives run from here.
    spoke: tokio::time::Instant,
    /// The caller protocol's keep-alive frame, if it has one.
    ping: Option<&'static [u8]>,
    /// Fires at the idle deadline or when a keep-alive is due, whichever is first.
    sleep: Pin<Box<Sleep>>,
    /// Until the stream ends; taken, with the outcome recorded, exactly once.
    owner: Option<Owner>,
    /// The request's record, attached as the response leaves; finished when the stream ends.
    record: Option<Record>,
    /// The stream has ended (failed or not) before its record was attached.
    ended: Option<bool>,
}

impl Committed {
    fn new(p: Pending, owner: Owner) -> Committed {
        let now = tokio::time::Instant::now();
        let mut c = Committed {
            events: p.events,
            idle: p.idle,
            heard: now,
            spoke: now,
            ping: translate::wire::keepalive(p.caller),
            // One allocation per stream: hyper polls the body through `&mut`, and a `Sleep`
            // must stay pinned between polls.
            sleep: Box::pin(tokio::time::sleep(p.idle)),
            owner: Some(owner),
            record: None,
            ended: None,
        };
        c.rearm();
        // A translator may have finished inside the committing event (a one-event stream).
        c.settle_translated(R::StreamError);
        c
    }

    /// The stream ended: records its one outcome (with its class), frees the slot, and
    /// finishes the request's record.
    fn finish(&mut self, outcome: Outcome, class: R) {
        if let Some(o) = self.owner.take() {
            o.ticket.record(outcome, class);
        }
        let failed = outcome != Outcome::Success || class == R::Blocked;
        self.ended = Some(failed);
        if let Some(r) = self.record.take() {
            self.close(r, failed);
        }
    }

    fn close(&self, mut r: Record, failed: bool) {
        r.usage(self.events.usage);
        r.finish(200, if failed { End::Failed } else { End::Completed });
    }

    /// Hands the stream the request's record (the handler, as the response leaves).
    pub(crate) fn attach(&mut self, record: Record) {
        match self.ended {
            Some(failed) => self.close(record, failed),
            None => self.record = Some(record),
        }
    }

    fn finished(&self) -> bool {
        self.owner.is_none()
    }

    /// How long the caller may go without a frame.
    fn keepalive(&self) -> Duration {
        KEEPALIVE.min(self.idle / 2)
    }

    /// Sets the timer to the idle deadline or the next keep-alive, whichever is first.
    fn rearm(&mut self) {
        let mut at = self.heard + self.idle;
        if self.ping.is_some() {
            at = at.min(self.spoke + self.keepalive());
        }
        self.sleep.as_mut().reset(at);
    }

    /// The timer fired: the upstream went idle (the stream fails), or the caller is owed a
    /// keep-alive.
    fn on_timer(&mut self) {
        let now = tokio::time::Instant::now();
        if now >= self.heard + self.idle {
            self.fail(
                ErrorKind::Timeout,
                "the upstream went idle for too long",
                R::Timeout,
            );
            return;
        }
        if let Some(p) = self.ping
            && now >= self.spoke + self.keepalive()
        {
            self.events.out.push(Bytes::from_static(p));
            self.spoke = now;
        }
        self.rearm();
    }

    /// After the translator took an event: queue its output; when it is done, the stream is
    /// (a failure counts as `class`).
    fn settle_translated(&mut self, class: R) {
        self.events.take_translated();
        let done = match &self.events.mode {
            Mode::Translate(t) if t.done() => Some(t.failed()),
            _ => None,
        };
        match done {
            // A content rule ended it with the caller's error frame: not the endpoint's fault.
            Some(true) if self.events.blocked().is_some() => {
                self.finish(Outcome::Success, R::Blocked)
            }
            Some(true) => self.finish(Outcome::Failure { retry_after: None }, class),
            Some(false) => self.finish(Outcome::Success, R::Ok),
            None => {}
        }
    }

    /// Ends the stream with the caller protocol's terminal error frame.
    fn fail(&mut self, kind: ErrorKind, message: &str, class: R) {
        match &mut self.events.mode {
            Mode::Passthrough(inspector) => {
                let frame = inspector.terminal_error(kind, message);
                self.events.out.push(frame);
            }
            Mode::Translate(t) => {
                t.fail(kind, message);
                self.events.take_translated();
            }
        }
        tracing::warn!(message, "stream failed after commit");
        self.finish(Outcome::Failure { retry_after: None }, class);
    }

    /// One event after the commit point.
    fn event(&mut self, raw: Bytes) {
        // Parse buffers come from the thread's pool per event, so an open stream holds none
        // while it waits.
        let mut scratch = PooledScratch::take();
        self.events.tap_usage(&raw, scratch.get());
        match &mut self.events.mode {
            Mode::Passthrough(inspector) => {
                if inspector.classify(&raw, scratch.get(), false) != Class::Drop {
                    let f = inspector.forward(raw);
                    self.events.push_frame(f);
                }
            }
            Mode::Translate(t) => {
                t.feed(&raw, scratch.get());
                drop(scratch);
                self.settle_translated(R::StreamError);
            }
        }
    }

    /// The upstream ended after the commit point.
    fn eof(&mut self) {
        match &mut self.events.mode {
            Mode::Passthrough(inspector) => match inspector.ending() {
                Ending::Open => {
                    self.fail(
                        ErrorKind::BadGateway,
                        "the upstream stream ended before it completed",
                        R::Cut,
                    );
                }
                ending => {
                    let f = inspector.finish();
                    self.events.push_frame(f);
                    if ending == Ending::Clean {
                        self.finish(Outcome::Success, R::Ok);
                    } else {
                        // The upstream's own error frame ended it (already forwarded).
                        self.finish(Outcome::Failure { retry_after: None }, R::StreamError);
                    }
                }
            },
            Mode::Translate(t) => {
                t.eof();
                // A translator always finishes at end of input (cleanly or with an error frame).
                self.settle_translated(R::Cut);
            }
        }
    }

    /// The committed stream, polled by hyper.
    pub(crate) fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        loop {
            if !self.events.out.is_empty() {
                self.spoke = tokio::time::Instant::now();
                return Poll::Ready(Some(self.events.out.remove(0)));
            }
            if self.finished() {
                return Poll::Ready(None);
            }
            match self.events.next_event() {
                Err(sse::TooLarge) => {
                    self.fail(
                        ErrorKind::BadGateway,
                        "the upstream sent an oversized event",
                        R::Malformed,
                    );
                    continue;
                }
                Ok(Some(ev)) => {
                    self.event(ev);
                    continue;
                }
                Ok(None) if self.events.upstream_done => {
                    self.eof();
                    continue;
                }
                Ok(None) => {}
            }
            match Pin::new(&mut self.events.upstream).poll_frame(cx) {
                Poll::Ready(None) => self.events.upstream_done = true,
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.events.splitter.push(data);
                    }
                    self.heard = tokio::time::Instant::now();
                    self.rearm();
                }
                Poll::Ready(Some(Err(e))) => {
                    self.fail(
                        ErrorKind::BadGateway,
                        &format!("the upstream connection failed: {e}"),
                        R::Cut,
                    );
                }
                Poll::Pending => {
                    if self.sleep.as_mut().poll(cx).is_ready() {
                        self.on_timer();
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl Drop for Committed {
    /// The caller left before the stream ended: its record (finished as `cancelled` by its
    /// own drop) keeps the usage seen so far.
    fn drop(&mut self) {
        if let Some(mut r) = self.record.take() {
            r.usage(self.events.usage);
        }
    }
}

/// The longest a committed stream stays silent towards the caller (half the idle timeout when
/// that is shorter): proxies such as Cloudflare close streams quiet for ~100 s, e.g. through
/// a long reasoning phase (docs/translation-cases.md E31).
const KEEPALIVE: Duration = Duration::from_secs(15);
