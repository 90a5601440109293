//! Each protocol's own spelling of what the router says for itself, dispatched by protocol:
//! error answers, the keep-alive of a silent stream, the `GET /v1/models` list and one model,
//! and a token count. The data
//! plane's errors and the translators' use these same functions, so a passthrough route and a
//! translated route can never tell a caller the same thing in two ways.

use compiler::table::Protocol;

use crate::ir::ErrorKind;
use crate::{chat, gemini, messages, openai};

/// The body of an error answer in `caller`'s envelope. `status` is the HTTP status sent
/// (Gemini repeats it as `error.code`); `code` is the OpenAI `error.code` (e.g.
/// `model_not_found`), ignored by the other envelopes.
pub fn error_body(
    caller: Protocol,
    kind: ErrorKind,
    status: u16,
    message: &str,
    code: Option<&str>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(96 + message.len());
    match caller {
        Protocol::ChatCompletions | Protocol::Responses => {
            openai::error_body(&mut out, kind, message, code);
        }
        Protocol::Messages => messages::wire::error_body(&mut out, kind, message),
        Protocol::GenerateContent => gemini::wire::error_body(&mut out, kind, status, message),
    }
    out
}

/// The frame a silent committed stream gets so intermediaries keep it open: an SSE comment
/// for the OpenAI wires, Anthropic's `ping` event, and nothing for Gemini, whose SDK rejects
/// anything but `data:` lines (docs/translation-cases.md E30, E31).
pub fn keepalive(caller: Protocol) -> Option<&'static [u8]> {
    match caller {
        Protocol::ChatCompletions | Protocol::Responses => Some(chat::frames::KEEPALIVE),
        Protocol::Messages => Some(messages::frames::KEEPALIVE),
        Protocol::GenerateContent => None,
    }
}

/// `GET /v1/models` in a caller's dialect (the protocol stands for its family: Chat
/// Completions for OpenAI, Messages for Anthropic, generateContent for Gemini).
pub fn models_list(dialect: Protocol, names: &[&str]) -> Vec<u8> {
    match dialect {
        Protocol::ChatCompletions | Protocol::Responses => openai::models_list(names),
        Protocol::Messages => messages::wire::models_list(names),
        Protocol::GenerateContent => gemini::wire::models_list(names),
    }
}

/// One model (`GET /v1/models/{model}`, `GET /v1beta/models/{model}`) in a caller's dialect.
pub fn model_info(dialect: Protocol, name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(160 + name.len());
    match dialect {
        Protocol::ChatCompletions | Protocol::Responses => openai::model_item(&mut out, name),
        Protocol::Messages => messages::wire::model_item(&mut out, name),
        Protocol::GenerateContent => gemini::wire::model_item(&mut out, name),
    }
    out
}

/// A token count answer: Anthropic's `count_tokens` (`{"input_tokens":N}`) or Gemini's
/// `countTokens` (`{"totalTokens":N}`); the OpenAI wires have no such endpoint.
pub fn token_count(caller: Protocol, tokens: u64) -> Vec<u8> {
    match caller {
        Protocol::GenerateContent => format!("{{\"totalTokens\":{tokens}}}"),
        _ => format!("{{\"input_tokens\":{tokens}}}"),
    }
    .into_bytes()
}

/// The usage a whole answer reports (`usage`; Gemini's `usageMetadata`), in the IR's inclusive
/// counts; `None` when it reports none.
pub fn answer_usage<F: crate::json::Fields>(
    protocol: Protocol,
    answer: F,
) -> Option<crate::ir::Usage> {
    match protocol {
        Protocol::ChatCompletions => answer.member("usage").map(chat::wire::usage),
        Protocol::Responses => answer.member("usage").map(crate::responses::wire::usage),
        Protocol::Messages => answer.member("usage").map(|u| {
            let mut usage = crate::ir::Usage::default();
            messages::wire::UsageFields::read(u).apply(&mut usage);
            usage
        }),
        Protocol::GenerateContent => answer.member("usageMetadata").map(gemini::wire::usage),
    }
}

/// Folds the usage one stream event reports into `usage` (the latest counts win; Anthropic's
/// `message_delta` adds to what `message_start` said). Cheap for events without usage: only
/// data that mentions `usage` is parsed.
pub fn stream_usage(
    protocol: Protocol,
    event: Option<&str>,
    data: &[u8],
    scratch: &mut crate::json::Scratch,
    usage: &mut Option<crate::ir::Usage>,
) {
    use simd_json::prelude::*;
    if memchr::memmem::find(data, b"sage").is_none() {
        return;
    }
    let _ = scratch.parse(data, |v| match protocol {
        Protocol::ChatCompletions => {
            if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
                *usage = Some(chat::wire::usage(u));
            }
        }
        Protocol::Responses => {
            if let Some(u) = v
                .get("response")
                .and_then(|r| r.get("usage"))
                .filter(|u| !u.is_null())
            {
                *usage = Some(crate::responses::wire::usage(u));
            }
        }
        Protocol::Messages => {
            let start = event == Some("message_start")
                || v.get("type")
                    .and_then(|t| t.as_str().map(|s| s == "message_start"))
                    == Some(true);
            let u = if start {
                v.get("message").and_then(|m| m.get("usage"))
            } else {
                v.get("usage")
            };
            if let Some(u) = u.filter(|u| !u.is_null()) {
                messages::wire::UsageFields::read(u).apply(usage.get_or_insert_default());
            }
        }
        Protocol::GenerateContent => {
            if let Some(u) = v.get("usageMetadata").filter(|u| !u.is_null()) {
                *usage = Some(gemini::wire::usage(u));
            }
        }
    });
}
