//! A streaming upstream response on its way to the caller, before and after the commit point.
//!
//! Before commit ([`Relay::until_commit`], awaited inside the request future): events are read
//! and classified; lifecycle frames are held back; an error event, a malformed event, a cut or
//! a timeout is returned as a retryable failure and nothing has reached the caller. The first
//! content event commits: the held frames and it are released together. After commit
//! ([`Relay::poll_frame`], driven by hyper as the response body): events pass through as the
//! upstream's own bytes; a cut, an idle timeout or an oversized event ends the stream with the
//! caller protocol's terminal error frame. Dropping the relay drops the upstream body, which
//! closes the upstream connection: client disconnect cancels the upstream call. A committed
//! stream the upstream leaves silent gets the caller protocol's keep-alive frame every
//! `KEEPALIVE` (none for Gemini).
//!
//! A relay runs in one of two modes: passthrough (the caller speaks the upstream's protocol;
//! `inspect` classifies the upstream's own frames) or translation (a boxed
//! `translate::stream::Translator` decodes the upstream's events and writes the caller's; its
//! first content event is the commit point).

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
use translate::stream::{Step, Translator};

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

/// How upstream events become the caller's frames.
enum Mode {
    Passthrough(Inspector),
    /// Boxed: a translator is a few hundred bytes and the body enum stays small.
    Translate(Box<Translator>),
}

pub(crate) struct Relay {
    upstream: Incoming,
    splitter: Splitter,
    mode: Mode,
    /// Frames for the caller, oldest first (a handful at most: the held lifecycle frames).
    out: SmallVec<[Bytes; 4]>,
    json_array: bool,
    array_open: bool,
    upstream_done: bool,
    finished: bool,
    idle: Duration,
    /// When the upstream last sent something: the idle timeout runs from here.
    heard: tokio::time::Instant,
    /// When the caller was last handed a frame: keep-alives run from here.
    spoke: tokio::time::Instant,
    /// The caller protocol's keep-alive frame, if it has one.
    ping: Option<&'static [u8]>,
    /// Fires at the idle deadline or when a keep-alive is due, whichever is first.
    sleep: Pin<Box<Sleep>>,
    outcome: Option<Outcome>,
    /// The in-flight slot, released when the stream ends or the caller goes away.
    _slot: Option<InFlight>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match &self.mode {
            Mode::Passthrough(i) => format!("{i:?}"),
            Mode::Translate(t) => format!("{t:?}"),
        };
        f.debug_struct("Relay")
            .field("mode", &mode)
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
        let inspector = Inspector::new(protocol, strip_usage, model);
        let mode = Mode::Passthrough(inspector);
        Relay::with_mode(upstream, mode, protocol, json_array, idle)
    }

    /// A relay that translates the upstream's stream into the caller's protocol.
    pub(crate) fn translating(
        upstream: Incoming,
        translator: Translator,
        caller: Protocol,
        idle: Duration,
    ) -> Relay {
        // JSON-array framing for Gemini callers is the encoder's job in this mode.
        let mode = Mode::Translate(Box::new(translator));
        Relay::with_mode(upstream, mode, caller, false, idle)
    }

    fn with_mode(
        upstream: Incoming,
        mode: Mode,
        caller: Protocol,
        json_array: bool,
        idle: Duration,
    ) -> Relay {
        let now = tokio::time::Instant::now();
        Relay {
            upstream,
            splitter: Splitter::default(),
            mode,
            out: SmallVec::new(),
            json_array,
            array_open: false,
            upstream_done: false,
            finished: false,
            idle,
            heard: now,
            spoke: now,
            ping: ping_frame(caller),
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
        loop {
            match self.next_event() {
                Err(sse::TooLarge) => return Err(fail("the upstream sent an oversized event")),
                Ok(Some(ev)) => match self.pre_commit(&ev) {
                    Some(Ok(())) => {
                        let now = tokio::time::Instant::now();
                        (self.heard, self.spoke) = (now, now);
                        self.rearm();
                        return Ok(());
                    }
                    Some(Err(f)) => return Err(f),
                    None => continue,
                },
                Ok(None) if self.upstream_done => {
                    if let Mode::Translate(t) = &mut self.mode {
                        match t.eof() {
                            Step::Error(e) => return Err(fail(&e.message)),
                            _ if t.committed() => {
                                self.take_translated();
                                return Ok(());
                            }
                            _ => {}
                        }
                    }
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

    /// One event before the commit point: `Some(Ok)` commits, `Some(Err)` fails the attempt,
    /// `None` reads on.
    fn pre_commit(&mut self, ev: &Bytes) -> Option<Result<(), PreCommitFailure>> {
        let mut scratch = PooledScratch::take();
        match &mut self.mode {
            Mode::Passthrough(inspector) => match inspector.classify(ev, scratch.get(), true) {
                Class::Lifecycle => self.emit(ev.clone()),
                Class::Drop => {}
                Class::Content | Class::Terminal => {
                    self.emit(ev.clone());
                    return Some(Ok(()));
                }
                Class::Error(m) => {
                    return Some(Err(fail(&format!("error event before any content: {m}"))));
                }
                Class::Malformed => return Some(Err(fail("the upstream sent a malformed event"))),
            },
            Mode::Translate(t) => match t.feed(ev, scratch.get()) {
                Step::Error(e) => {
                    let m = format!("error event before any content: {}", e.message);
                    return Some(Err(fail(&m)));
                }
                Step::Malformed => return Some(Err(fail("the upstream sent a malformed event"))),
                Step::Continue | Step::Done if t.committed() => {
                    self.take_translated();
                    return Some(Ok(()));
                }
                Step::Continue | Step::Done => {}
            },
        }
        None
    }

    /// How long the caller may go without a frame after the commit point.
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
            self.fail_committed("the upstream went idle for too long");
            return;
        }
        if let Some(p) = self.ping {
            if now >= self.spoke + self.keepalive() {
                self.out.push(Bytes::from_static(p));
                self.spoke = now;
            }
        }
        self.rearm();
    }

    /// Queues the translator's output; marks the stream finished when the translator is done.
    fn take_translated(&mut self) {
        let Mode::Translate(t) = &mut self.mode else {
            return;
        };
        if let Some(b) = t.take() {
            self.out.push(b);
        }
        if t.done() && !self.finished {
            let failed = t.failed();
            self.finished = true;
            self.report(!failed);
        }
    }

    fn report(&mut self, success: bool) {
        if let Some(o) = self.outcome.take() {
            if success {
                o.breakers.success(o.key);
            } else {
                o.breakers
                    .failure(o.key, Instant::now(), o.threshold, o.cooldown, None);
            }
        }
    }

    fn fail_committed(&mut self, message: &str) {
        match &mut self.mode {
            Mode::Passthrough(inspector) => {
                let frame = inspector.terminal_error(message, self.json_array);
                if self.json_array && !self.array_open {
                    self.out.push(Bytes::from_static(b"["));
                    self.out.push(frame.slice(1..));
                } else {
                    self.out.push(frame);
                }
            }
            Mode::Translate(t) => {
                t.fail(message);
                if let Some(b) = t.take() {
                    self.out.push(b);
                }
            }
        }
        self.finished = true;
        self.report(false);
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
        self.report(true);
    }

    /// One event after the commit point.
    fn committed_event(&mut self, ev: Bytes) {
        // Parse buffers come from the thread's pool per event, so an open stream holds none
        // while it waits.
        let mut scratch = PooledScratch::take();
        match &mut self.mode {
            Mode::Passthrough(inspector) => match inspector.classify(&ev, scratch.get(), false) {
                Class::Drop => {}
                Class::Error(_) => {
                    // The upstream's own error frame is already in the caller's shape.
                    inspector.ended = true;
                    self.emit(ev);
                }
                _ => self.emit(ev),
            },
            Mode::Translate(t) => {
                t.feed(&ev, scratch.get());
                self.take_translated();
            }
        }
    }

    /// The upstream ended after the commit point.
    fn committed_eof(&mut self) {
        match &mut self.mode {
            Mode::Passthrough(inspector) => {
                if inspector.ended {
                    self.end_cleanly();
                } else {
                    self.fail_committed("the upstream stream was cut before it completed");
                }
            }
            Mode::Translate(t) => {
                t.eof();
                self.take_translated();
                // A translator always finishes at end of input (cleanly or with an error frame).
                self.finished = true;
            }
        }
    }

    /// The committed stream, polled by hyper.
    pub(crate) fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        loop {
            if !self.out.is_empty() {
                self.spoke = tokio::time::Instant::now();
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
                    self.committed_event(ev);
                    continue;
                }
                Ok(None) if self.upstream_done => {
                    self.committed_eof();
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
                    self.heard = tokio::time::Instant::now();
                    self.rearm();
                }
                Poll::Ready(Some(Err(e))) => {
                    self.fail_committed(&format!("the upstream connection failed: {e}"));
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

/// The longest a committed stream stays silent towards the caller (half the idle timeout when
/// that is shorter): proxies such as Cloudflare close streams quiet for ~100 s, e.g. through
/// a long reasoning phase (protocols.md E31).
const KEEPALIVE: Duration = Duration::from_secs(15);

/// The caller protocol's keep-alive: an SSE comment for the OpenAI wires, `event: ping` for
/// Anthropic, and nothing for Gemini, whose SDK rejects anything but `data: ` lines (E30).
fn ping_frame(caller: Protocol) -> Option<&'static [u8]> {
    match caller {
        Protocol::ChatCompletions | Protocol::Responses => Some(b": ping\n\n"),
        Protocol::Messages => Some(b"event: ping\ndata: {\"type\":\"ping\"}\n\n"),
        Protocol::GenerateContent => None,
    }
}

fn fail(m: &str) -> PreCommitFailure {
    PreCommitFailure {
        message: m.to_owned(),
        timeout: false,
    }
}
