//! The reference stream vectors and the mock upstream's parallel-call streams, read from
//! `testkit::vectors` (plain text only: testkit links its own copy of translate, so nothing
//! typed crosses over), in the shapes the decoder tests use.

#![allow(dead_code, reason = "not every vector has a decoder test yet")]

use std::sync::LazyLock;

use testkit::vectors::{chat, gemini, messages, payloads, responses};

pub(super) const CHAT_TEXT: &str = chat::STREAM_TEXT;
pub(super) const CHAT_TOOL: &str = chat::STREAM_TOOL;
pub(super) const RESPONSES_TEXT: &str = responses::STREAM_TEXT;
pub(super) const RESPONSES_TOOL: &str = responses::STREAM_TOOL;
pub(super) const RESPONSES_STREAM_ERROR: &str = responses::STREAM_ERROR;
pub(super) const MESSAGES_TEXT: &str = messages::STREAM_TEXT;
pub(super) const MESSAGES_TOOL: &str = messages::STREAM_TOOL;
pub(super) const MESSAGES_STREAM_ERROR: &str = messages::STREAM_ERROR;
pub(super) const GEMINI_TEXT: &str = gemini::STREAM_TEXT;
pub(super) const GEMINI_TOOL: &str = gemini::STREAM_TOOL;
pub(super) const GEMINI_3: &str = gemini::STREAM_GEMINI3;
pub(super) const GEMINI_STREAM_ERROR: &str = gemini::STREAM_ERROR;

/// The mock's parallel Chat stream, one payload per event (`[DONE]` last).
pub(super) static CHAT_PARALLEL: LazyLock<Vec<&str>> =
    LazyLock::new(|| payloads(chat::STREAM_PARALLEL).collect());

/// The text stream's role chunk.
pub(super) static CHAT_TEXT_ROLE: LazyLock<&str> =
    LazyLock::new(|| payloads(chat::STREAM_TEXT).next().unwrap_or_default());

/// The in-stream error payload.
pub(super) static CHAT_STREAM_ERROR: LazyLock<&str> =
    LazyLock::new(|| payloads(chat::STREAM_ERROR).next().unwrap_or_default());

pub(super) static MESSAGES_PARALLEL: LazyLock<Vec<&str>> =
    LazyLock::new(|| payloads(messages::STREAM_PARALLEL).collect());

pub(super) static GEMINI_PARALLEL: LazyLock<Vec<&str>> =
    LazyLock::new(|| payloads(gemini::STREAM_PARALLEL).collect());

/// The mock's parallel-call Responses items (between `response.in_progress` and the terminal).
pub(super) static RESPONSES_PARALLEL_ITEMS: LazyLock<Vec<&str>> = LazyLock::new(|| {
    let all: Vec<&str> = payloads(responses::STREAM_PARALLEL).collect();
    all[2..all.len() - 1].to_vec()
});
