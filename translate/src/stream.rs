//! Streaming translation: an upstream protocol's SSE events are decoded into IR [`Event`]s and
//! encoded as the caller protocol's frames, event by event, by two state machines joined in a
//! [`Translator`].
//!
//! Contract between the halves (docs/protocols.md#the-ir, #stream-encoders, #stream-decoders):
//! - A decoder emits [`Event::Start`] once, before anything else, then content events, then
//!   at most one [`Event::Finish`], any number of [`Event::Usage`] (each the cumulative total so
//!   far; the last wins), and ends with exactly one [`Event::End`] — only at the upstream's real
//!   end (`[DONE]`, `message_stop`, `response.completed|incomplete`, Gemini end of body after a
//!   `finishReason`) — or an [`Event::Error`].
//! - Tool calls are sequential: [`Event::ToolArgs`] always continues the most recent
//!   [`Event::ToolStart`], whose id is never empty (decoders synthesize one when the upstream
//!   has none). Text and reasoning deltas are never empty.
//! - An encoder writes the caller's opening frames on `Start`, holds its terminal frames until
//!   `End` (Chat usage trails the finish chunk), applies the tool-call latch to the finish
//!   reason ([`crate::ir::Finish::settle`]), and on [`Encoder::fail`] writes the protocol's
//!   terminal error frame. After `End` or `fail` it writes nothing more.
//!
//! Neither half allocates per event once warmed up: strings are borrowed from the parse
//! buffer, state lives in reused buffers, output goes into one `BytesMut` that is split off
//! as frames.

pub mod decode;
pub mod encode;

use bytes::{Bytes, BytesMut};
use compiler::table::Protocol;

use crate::ir::{ErrorInfo, ErrorKind, Finish, Usage};
use crate::json::Scratch;
use crate::names::NameMap;
use crate::screen::StreamScreen;
use crate::sse;

pub use decode::Decoder;
pub use encode::Encoder;

/// One step of a response, independent of protocol. Strings borrow the upstream event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The upstream response began. `id`/`model` may be empty when the upstream has none.
    Start {
        id: &'a str,
        model: &'a str,
    },
    Text(&'a str),
    /// Visible reasoning (thinking summary) text.
    Reasoning(&'a str),
    /// The Anthropic signature closing the current reasoning block.
    ReasoningSignature(&'a str),
    Refusal(&'a str),
    /// A new tool call; later `ToolArgs` belong to it. `namespace` is set only for a
    /// Responses caller whose tool was in a `namespace` group (restored by the translator).
    ToolStart {
        id: &'a str,
        name: &'a str,
        namespace: Option<&'a str>,
    },
    /// A fragment of the current call's JSON arguments.
    ToolArgs(&'a str),
    Usage(Usage),
    Finish(Finish),
    /// The upstream finished normally.
    End,
    /// The upstream reported an error in the stream.
    Error {
        kind: ErrorKind,
        message: &'a str,
    },
}

impl Event<'_> {
    /// Whether this event commits an attempt (content, a tool call, reasoning or an end).
    pub fn commits(&self) -> bool {
        !matches!(
            self,
            Event::Start { .. } | Event::Usage(_) | Event::Error { .. }
        )
    }
}

/// What both halves need to know about the call.
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a> {
    /// The model name to report to the caller.
    pub model: &'a str,
    /// Chat callers: whether they asked for the usage chunk (`stream_options.include_usage`).
    pub include_usage: bool,
    /// Gemini callers without `alt=sse`: a JSON array instead of SSE.
    pub json_array: bool,
    /// Unix seconds for `created` fields.
    pub created: u64,
    /// Seed for ids the router has to make up (response ids, Gemini call ids); fixed in tests.
    pub seed: u64,
}

/// The upstream sent something its protocol does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

/// What feeding one upstream event did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Keep reading (output may be waiting in [`Translator::take`]).
    Continue,
    /// Before commit: the upstream failed; nothing has been written for the caller. Retryable.
    Error(ErrorInfo),
    /// Before commit: the upstream sent an event its protocol does not allow. Retryable.
    Malformed,
    /// The caller's stream is complete (clean end, or a terminal error frame after commit).
    Done,
}

/// Decoder + encoder for one (upstream, caller) pair, with the commit-point bookkeeping.
#[derive(Debug)]
pub struct Translator {
    decoder: Decoder,
    encoder: Encoder,
    out: BytesMut,
    join: Vec<u8>,
    committed: bool,
    done: bool,
    /// The stream ended with an error frame rather than the upstream's clean end.
    failed: bool,
    /// Tool names the request renamed for the upstream (restored for the caller).
    names: NameMap,
    /// The first error seen while decoding one event.
    error: Option<(ErrorKind, String)>,
    /// Guardrails on the answer, when a rule applies to this call.
    screen: Option<Box<StreamScreen>>,
}

impl Translator {
    pub fn new(upstream: Protocol, caller: Protocol, ctx: &Ctx<'_>) -> Translator {
        Translator {
            decoder: Decoder::new(upstream, ctx),
            encoder: Encoder::new(caller, ctx),
            out: BytesMut::with_capacity(4096),
            join: Vec::new(),
            committed: false,
            done: false,
            failed: false,
            names: NameMap::default(),
            error: None,
            screen: None,
        }
    }

    /// Checks the answer's text and tool-call arguments against content rules on the way
    /// through. A block before the commit point is a [`Step::Error`] (see [`Self::blocked`]);
    /// after it, the caller's terminal error frame. Held text does not commit.
    pub fn screen(&mut self, screen: StreamScreen) {
        self.screen = Some(Box::new(screen));
    }

    /// The rule that blocked the answer, if one did.
    pub fn blocked(&self) -> Option<&str> {
        self.screen.as_ref().and_then(|s| s.blocked.as_deref())
    }

    /// The rules that matched since the last call, with their actions.
    pub fn take_hits(&mut self) -> Vec<(usize, guardrails::Action)> {
        self.screen
            .as_mut()
            .map(|s| std::mem::take(&mut s.hits))
            .unwrap_or_default()
    }

    /// Tool names to restore in the caller's stream (see [`NameMap::for_request`]).
    pub fn restore_names(&mut self, names: NameMap) {
        self.names = names;
    }

    /// Whether the caller has been sent (or may be sent) content: failover is over.
    pub fn committed(&self) -> bool {
        self.committed
    }

    /// Whether the caller's stream is complete.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Whether the caller's stream ended with an error frame.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Feeds one whole SSE event (raw bytes as [`sse::Splitter`] cut them).
    pub fn feed(&mut self, raw: &[u8], scratch: &mut Scratch) -> Step {
        if self.done {
            return Step::Done;
        }
        let f = sse::fields(raw);
        let mut join = std::mem::take(&mut self.join);
        let result = match f.data(&mut join) {
            // Comments and keep-alives carry nothing.
            None => Ok(()),
            Some(data) => {
                let Translator {
                    decoder,
                    encoder,
                    out,
                    committed,
                    error,
                    names,
                    screen,
                    ..
                } = self;
                decoder.event(f.event, data, scratch, &mut |ev| {
                    route(ev, encoder, out, committed, error, names, screen)
                })
            }
        };
        self.join = join;
        self.settle(result)
    }

    /// The upstream body ended.
    pub fn eof(&mut self) -> Step {
        if self.done {
            return Step::Done;
        }
        let Translator {
            decoder,
            encoder,
            out,
            committed,
            error,
            names,
            screen,
            ..
        } = self;
        decoder.eof(&mut |ev| route(ev, encoder, out, committed, error, names, screen));
        let step = self.settle(Ok(()));
        if step == Step::Continue {
            // A decoder that neither ended nor failed at end of input was cut.
            return self.settle_error(
                ErrorKind::BadGateway,
                "the upstream stream ended before it completed".into(),
            );
        }
        step
    }

    /// After commit: ends the caller's stream with its protocol's terminal error frame (a cut,
    /// an idle timeout, an I/O error), the same frame a passthrough stream gets for `kind`.
    pub fn fail(&mut self, kind: ErrorKind, message: &str) {
        if !self.done {
            self.encoder.fail(kind, message, &mut self.out);
            self.done = true;
            self.failed = true;
        }
    }

    /// Output waiting for the caller, as one frame.
    pub fn take(&mut self) -> Option<Bytes> {
        (!self.out.is_empty()).then(|| self.out.split().freeze())
    }

    fn settle(&mut self, result: Result<(), Malformed>) -> Step {
        if let Some((kind, message)) = self.error.take() {
            return self.settle_error(kind, message);
        }
        if result.is_err() {
            if !self.committed {
                return Step::Malformed;
            }
            self.fail(ErrorKind::BadGateway, "the upstream sent a malformed event");
            return Step::Done;
        }
        if self.encoder.ended() {
            self.done = true;
            self.failed |= self.encoder.failed();
            return Step::Done;
        }
        Step::Continue
    }

    fn settle_error(&mut self, kind: ErrorKind, message: String) -> Step {
        if !self.committed {
            self.out.clear();
            return Step::Error(ErrorInfo { kind, message });
        }
        self.encoder.fail(kind, &message, &mut self.out);
        self.done = true;
        self.failed = true;
        Step::Done
    }
}

/// Hands one decoded event to the encoder, through the screen when there is one (errors and
/// blocks are held for [`Translator::settle`]).
fn route(
    ev: Event<'_>,
    encoder: &mut Encoder,
    out: &mut BytesMut,
    committed: &mut bool,
    error: &mut Option<(ErrorKind, String)>,
    names: &NameMap,
    screen: &mut Option<Box<StreamScreen>>,
) {
    if error.is_some() || encoder.ended() {
        return;
    }
    let ev = match ev {
        Event::ToolStart { id, name, .. } => {
            let (namespace, name) = names.restore_call(name);
            Event::ToolStart {
                id,
                name,
                namespace,
            }
        }
        ev => ev,
    };
    if let Event::Error { kind, message } = ev {
        *error = Some((kind, message.to_owned()));
        return;
    }
    let mut emit = |ev: Event<'_>| {
        *committed |= ev.commits();
        encoder.event(&ev, out);
    };
    match screen {
        None => emit(ev),
        Some(s) => {
            if let Err(rule) = s.route(ev, &mut emit) {
                *error = Some((
                    ErrorKind::InvalidRequest,
                    crate::screen::blocked_message(&rule, false),
                ));
            }
        }
    }
}
