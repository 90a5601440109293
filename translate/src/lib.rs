//! Any-to-any translation between the four LLM wire protocols through one internal
//! representation ([`ir`]): 2×4 codecs, not 12 pairwise translators.
//!
//! Protocol first: each wire protocol has one home, and everything it spells its own way —
//! request fields, whole answers, stream events, finish reasons, usage, error names and
//! envelopes, the router's own stream frames, passthrough classification — lives there:
//! `chat/`, `responses/`, `messages/`, `gemini/` (each with `request`, `response`, `decode`,
//! `encode`, `classify`, `wire` and, where the router writes stream frames, `frames`; `openai`
//! holds what Chat and Responses share). Above them, the protocol-dispatched entry points:
//!
//! - [`request`]: caller body → [`ir::Request`] → upstream body.
//! - [`response`]: upstream whole answer / error body → IR → caller's.
//! - [`stream`]: upstream SSE events → IR [`stream::Event`]s → caller frames, as per-protocol
//!   state machines joined by a [`stream::Translator`] that also marks the commit point.
//! - [`passthrough`]: a same-protocol stream's commit point, end, and terminal error frame.
//! - [`wire`]: error bodies, keep-alives and model lists in each caller's own shape.
//!
//! At the bottom: [`Protocol`] (from the compiler's table), [`json`] and [`sse`].
//!
//! Pure: no I/O and no async. The data plane decides when to translate (the endpoint's
//! protocol set lacks the caller's protocol) and drives these functions.

mod chat;
mod gemini;
mod messages;
mod openai;
mod responses;

pub mod ids;
pub mod ir;
pub mod json;
pub mod names;
pub mod passthrough;
pub mod request;
pub mod response;
pub mod screen;
pub mod sse;
pub mod stream;
pub mod tokens;
pub mod wire;

pub use compiler::table::Protocol;
