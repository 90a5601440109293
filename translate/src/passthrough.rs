//! What a same-protocol relay needs to know about the upstream's own stream events without
//! translating them: which event is the commit point, whether the stream ended properly, and
//! the caller's frames — the upstream's bytes as they came (re-framed only for a Gemini
//! JSON-array caller) and, after a failure, the protocol's terminal error frame. Each
//! protocol's rules live in its home (`<protocol>/classify.rs`); the terminal frames are the
//! same functions the translating encoders use (`<protocol>/frames.rs`), so a passthrough and
//! a translated route end a failed stream identically.

use bytes::{Bytes, BytesMut};
use compiler::table::Protocol;

use crate::gemini::frames::Framing;
use crate::ir::{ErrorInfo, ErrorKind};
use crate::json::Scratch;
use crate::{chat, gemini, messages, responses, sse};

/// What an upstream event means for the attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Class {
    /// Before any content (`message_start`, role chunk, `response.created`, usage-only chunk).
    Lifecycle,
    /// Content, tool calls, reasoning or a stop reason: commits the attempt.
    Content,
    /// The protocol's normal end (`[DONE]`, `message_stop`, `response.completed`, a Gemini
    /// chunk with a finish reason).
    Terminal,
    /// An error inside the 200 stream.
    Error(ErrorInfo),
    /// Not parseable as this protocol's event.
    Malformed,
    /// Not for the caller (the usage chunk the router asked for on its behalf).
    Drop,
}

impl Class {
    /// An error event; an empty message gets a generic one.
    pub(crate) fn error(kind: ErrorKind, message: &str) -> Class {
        let message = if message.is_empty() {
            "the upstream stream failed"
        } else {
            message
        };
        Class::Error(ErrorInfo {
            kind,
            message: message.to_owned(),
        })
    }
}

/// How an upstream stream has ended, as far as its events tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// No end yet: end of body now would be a cut.
    Open,
    /// The protocol's normal end.
    Clean,
    /// An error frame ended it (the upstream's own, forwarded, or the router's).
    Failed,
}

/// Per-stream state for one protocol.
#[derive(Debug)]
pub struct Inspector {
    protocol: Protocol,
    /// Chat: the router added `include_usage`; the usage chunk is not forwarded.
    strip_usage: bool,
    ending: Ending,
    /// Responses: what `response.failed` must continue.
    responses: responses::classify::State,
    /// Gemini: SSE, or one JSON array for a caller without `alt=sse`.
    framing: Framing,
    join: Vec<u8>,
}

impl Inspector {
    /// `model` is what a Responses failure frame names; `json_array` is a Gemini caller
    /// without `alt=sse`.
    pub fn new(protocol: Protocol, strip_usage: bool, json_array: bool, model: &str) -> Inspector {
        Inspector {
            protocol,
            strip_usage,
            ending: Ending::Open,
            responses: responses::classify::State::new(if protocol == Protocol::Responses {
                model
            } else {
                ""
            }),
            framing: Framing::new(json_array && protocol == Protocol::GenerateContent),
            join: Vec::new(),
        }
    }

    /// How the upstream's stream has ended so far.
    pub fn ending(&self) -> Ending {
        self.ending
    }

    /// Classifies one raw event. `deep` parses the JSON (always before the commit point);
    /// without it only the cheap checks a committed passthrough needs are made.
    pub fn classify(&mut self, raw: &[u8], scratch: &mut Scratch, deep: bool) -> Class {
        let f = sse::fields(raw);
        let name = f.event;
        let mut join = std::mem::take(&mut self.join);
        let class = match f.data(&mut join) {
            None if name.is_none() => Class::Lifecycle, // comments, blank keep-alives
            data => {
                let data = data.unwrap_or_default();
                match self.protocol {
                    Protocol::ChatCompletions => {
                        chat::classify::classify(data, self.strip_usage, scratch, deep)
                    }
                    Protocol::Responses => responses::classify::classify(
                        &mut self.responses,
                        name,
                        data,
                        scratch,
                        deep,
                    ),
                    Protocol::Messages => messages::classify::classify(name, data, scratch, deep),
                    Protocol::GenerateContent => gemini::classify::classify(data, scratch, deep),
                }
            }
        };
        self.join = join;
        match &class {
            Class::Terminal if self.ending == Ending::Open => self.ending = Ending::Clean,
            // After commit the upstream's own error frame is forwarded: the stream has ended,
            // and failed.
            Class::Error(_) if !deep => self.ending = Ending::Failed,
            _ => {}
        }
        class
    }

    /// The caller's frame for an event that is forwarded: the upstream's own bytes, or for a
    /// Gemini JSON-array caller the event's data as the array's next element.
    pub fn forward(&mut self, raw: Bytes) -> Option<Bytes> {
        if !self.framing.json_array() {
            return Some(raw);
        }
        let f = sse::fields(&raw);
        let mut join = Vec::new();
        let data = f.data(&mut join)?;
        let mut out = BytesMut::with_capacity(data.len() + 3);
        self.framing.element(&mut out, data);
        Some(out.freeze())
    }

    /// What closes a stream that ended cleanly (the JSON array's `]`), if anything.
    pub fn finish(&mut self) -> Option<Bytes> {
        let mut out = BytesMut::new();
        self.framing.finish(&mut out);
        (!out.is_empty()).then(|| out.freeze())
    }

    /// The frame that ends a committed stream after a failure, in the caller's protocol.
    pub fn terminal_error(&mut self, kind: ErrorKind, message: &str) -> Bytes {
        let mut out = BytesMut::with_capacity(256 + message.len());
        match self.protocol {
            Protocol::ChatCompletions => chat::frames::stream_error(&mut out, kind, message),
            Protocol::Responses => self.responses.failed(&mut out, kind, message),
            Protocol::Messages => messages::frames::stream_error(&mut out, kind, message),
            Protocol::GenerateContent => {
                gemini::frames::stream_error(&mut out, &mut self.framing, kind, message);
            }
        }
        self.ending = Ending::Failed;
        out.freeze()
    }
}

#[cfg(test)]
mod tests;
