//! Any-to-any translation between the four LLM wire protocols through one internal
//! representation ([`ir`]): 2×4 codecs, not 12 pairwise translators.
//!
//! - [`request`]: caller body → [`ir::Request`] → upstream body.
//! - [`response`]: upstream whole answer / error body → IR → caller's.
//! - [`stream`]: upstream SSE events → IR [`stream::Event`]s → caller frames, as per-protocol
//!   state machines joined by a [`stream::Translator`] that also marks the commit point.
//!
//! Pure: no I/O and no async. The data plane decides when to translate (the endpoint's
//! protocol set lacks the caller's protocol) and drives these functions.

mod chat;
mod gemini;
pub mod ids;
pub mod ir;
pub mod json;
mod messages;
pub mod names;
pub mod request;
pub mod response;
mod openai;
mod responses;
pub mod sse;
pub mod stream;
pub mod wire;

pub use compiler::table::Protocol;
