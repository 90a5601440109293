//! Drives a [`Translator`] over raw upstream SSE bytes the way the data plane's relay does:
//! chunks through [`sse::Splitter`], one `feed` per event, output taken only once committed,
//! failover (stop) on a pre-commit error, `eof` at the end.
//!
//! Used by translate's golden, resplit and well-formedness tests and the `translate` fuzz
//! property ([`crate::translate_fuzz`]).

use bytes::Bytes;
use translate::Protocol;
use translate::ir::ErrorInfo;
use translate::json::Scratch;
use translate::sse;
use translate::stream::{Ctx, Step, Translator};

/// The four protocols with their fixture-file names.
pub const PROTOCOLS: [(Protocol, &str); 4] = [
    (Protocol::ChatCompletions, "chat"),
    (Protocol::Responses, "responses"),
    (Protocol::Messages, "messages"),
    (Protocol::GenerateContent, "gemini"),
];

pub fn name(p: Protocol) -> &'static str {
    PROTOCOLS
        .iter()
        .find(|(q, _)| *q == p)
        .map_or("?", |(_, n)| n)
}

pub fn protocol(name: &str) -> Option<Protocol> {
    PROTOCOLS.iter().find(|(_, n)| *n == name).map(|(p, _)| *p)
}

/// How a translated stream ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The caller's stream is complete; `failed` when it ends with a terminal error frame.
    Done { failed: bool },
    /// The upstream failed before the commit point: the caller gets an HTTP error instead.
    ErrorBeforeCommit(ErrorInfo),
    /// The upstream sent a malformed event before the commit point (failover).
    MalformedBeforeCommit,
    /// The event splitter refused an oversized event.
    TooLarge,
    /// The translator neither finished nor failed after `eof` (a contract breach).
    Unfinished,
}

/// What the caller received.
#[derive(Clone, Debug)]
pub struct Run {
    pub out: Vec<u8>,
    pub outcome: Outcome,
    pub committed: bool,
    /// Contract breaches seen while driving (output after done, a step after done …).
    pub problems: Vec<String>,
}

pub fn ctx(include_usage: bool, json_array: bool) -> Ctx<'static> {
    Ctx {
        model: "test-model",
        include_usage,
        json_array,
        created: 1_700_000_000,
        seed: 42,
    }
}

/// Runs `chunks` (the upstream body, cut anywhere) through a fresh translator.
pub fn run(upstream: Protocol, caller: Protocol, ctx: &Ctx<'_>, chunks: &[&[u8]]) -> Run {
    let mut d = Driver::new(upstream, caller, ctx);
    for c in chunks {
        if d.stopped() {
            break;
        }
        d.push(Bytes::copy_from_slice(c));
    }
    d.finish()
}

/// A relay in miniature, fed chunk by chunk.
#[derive(Debug)]
pub struct Driver {
    t: Translator,
    splitter: sse::Splitter,
    scratch: Scratch,
    out: Vec<u8>,
    outcome: Option<Outcome>,
    problems: Vec<String>,
}

impl Driver {
    pub fn new(upstream: Protocol, caller: Protocol, ctx: &Ctx<'_>) -> Driver {
        Driver {
            t: Translator::new(upstream, caller, ctx),
            splitter: sse::Splitter::default(),
            scratch: Scratch::new(),
            out: Vec::new(),
            outcome: None,
            problems: Vec::new(),
        }
    }

    pub fn translator(&self) -> &Translator {
        &self.t
    }

    /// Checks the answer against content rules on the way (see `Translator::screen`).
    pub fn screen(mut self, screen: translate::screen::StreamScreen) -> Driver {
        self.t.screen(screen);
        self
    }

    /// The content rules' matches so far (see `Translator::take_hits`).
    pub fn take_hits(&mut self) -> Vec<(usize, guardrails::Action)> {
        self.t.take_hits()
    }

    /// Whether the relay would stop reading (done, or failed over).
    pub fn stopped(&self) -> bool {
        self.outcome.is_some()
    }

    pub fn push(&mut self, chunk: Bytes) {
        self.splitter.push(chunk);
        loop {
            if self.stopped() {
                return;
            }
            match self.splitter.next_event() {
                Ok(Some(ev)) => self.feed(&ev),
                Ok(None) => return,
                Err(sse::TooLarge) => {
                    self.outcome = Some(Outcome::TooLarge);
                    return;
                }
            }
        }
    }

    /// One whole event.
    pub fn feed(&mut self, ev: &[u8]) {
        let step = self.t.feed(ev, &mut self.scratch);
        self.after(step);
    }

    fn after(&mut self, step: Step) {
        match step {
            Step::Error(e) => {
                if self.t.committed() {
                    self.problems
                        .push(format!("Step::Error after the commit point: {e:?}"));
                }
                self.outcome = Some(Outcome::ErrorBeforeCommit(e));
            }
            Step::Malformed => {
                if self.t.committed() {
                    self.problems
                        .push("Step::Malformed after the commit point".to_owned());
                }
                self.outcome = Some(Outcome::MalformedBeforeCommit);
            }
            Step::Done => {
                self.take();
                if !self.t.done() {
                    self.problems
                        .push("Step::Done but done() is false".to_owned());
                }
                self.outcome = Some(Outcome::Done {
                    failed: self.t.failed(),
                });
            }
            Step::Continue => {
                if self.t.done() {
                    self.problems
                        .push("Step::Continue but done() is true".to_owned());
                }
                if self.t.committed() {
                    self.take();
                }
            }
        }
    }

    fn take(&mut self) {
        if let Some(b) = self.t.take() {
            if b.is_empty() {
                self.problems.push("take() gave an empty frame".to_owned());
            }
            self.out.extend_from_slice(&b);
        }
    }

    /// After commit: the relay gives up (cut, idle timeout) and fails the caller's stream.
    pub fn fail(&mut self, message: &str) {
        if self.stopped() || !self.t.committed() {
            return;
        }
        self.t.fail(translate::ir::ErrorKind::BadGateway, message);
        self.take();
        if !self.t.done() || !self.t.failed() {
            self.problems
                .push("after fail(): done() or failed() is false".to_owned());
        }
        self.outcome = Some(Outcome::Done { failed: true });
    }

    /// The upstream body ended.
    pub fn finish(mut self) -> Run {
        if !self.stopped() {
            if let Some(rest) = self.splitter.finish() {
                self.feed(&rest);
            }
        }
        if !self.stopped() {
            let step = self.t.eof();
            if step == Step::Continue {
                self.problems.push("eof() returned Continue".to_owned());
                self.take();
                self.outcome = Some(Outcome::Unfinished);
            } else {
                self.after(step);
            }
        }
        if let Some(Outcome::Done { .. }) = self.outcome {
            // Nothing may be written once the stream is complete.
            let before = self.out.len();
            let step = self.t.feed(b"data: {}\n\n", &mut self.scratch);
            if step != Step::Done {
                self.problems
                    .push(format!("feed after done returned {step:?}, not Done"));
            }
            if self.t.eof() != Step::Done {
                self.problems
                    .push("eof after done did not return Done".to_owned());
            }
            self.t
                .fail(translate::ir::ErrorKind::BadGateway, "late failure");
            if let Some(b) = self.t.take() {
                self.problems.push(format!(
                    "output after done: {:?}",
                    String::from_utf8_lossy(&b)
                ));
            }
            debug_assert_eq!(before, self.out.len());
        }
        Run {
            committed: self.t.committed(),
            out: self.out,
            outcome: self.outcome.unwrap_or(Outcome::Unfinished),
            problems: self.problems,
        }
    }
}
