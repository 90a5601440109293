//! Request translation: a caller's body decoded into an [`ir::Request`], rendered as another
//! protocol's body. Not on the per-event hot path: `serde_json` values are fine here.
//!
//! A feature the target protocol cannot express is an [`Error::Unsupported`] naming it (the
//! caller gets a 400 in its own shape), never dropped silently — except, under
//! [`Policy::Lenient`], sampling hints (`top_k`, penalties, `seed`, `verbosity`) and hosted
//! tools, which are dropped and named in [`Encoded::dropped`]. Fields with no meaning for the
//! answer (`metadata`, `store`, `service_tier`, `prompt_cache_key`, `cache_control`, …) are
//! ignored. The per-field table is docs/translation-cases.md#dropped-fields.

use crate::chat::request as chat;
pub(crate) mod common;
use crate::gemini::request as gemini;
use crate::messages::request as messages;
use crate::responses::request as responses;
pub(crate) mod schema;
#[cfg(test)]
mod tests;

use compiler::table::Protocol;

use crate::ir;
use crate::names::{self, NameMap};
use common::Drops;

/// What a translation does with a field the target cannot express but the answer does not
/// need (`server.translation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// Drop it and name it in [`Encoded::dropped`].
    #[default]
    Lenient,
    /// Refuse the request ([`Error::Unsupported`]).
    Strict,
}

/// A request rendered for an upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    pub body: Vec<u8>,
    /// Tool names renamed (or flattened) for the upstream, to restore in the answer.
    pub names: NameMap,
    /// Fields left out under [`Policy::Lenient`], in the order met.
    pub dropped: Vec<String>,
}

/// Why a request cannot be translated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The body is not a valid request of the caller's protocol.
    Invalid(String),
    /// A feature the target protocol cannot express (or that needs router-side state).
    Unsupported(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Invalid(m) => f.write_str(m),
            Error::Unsupported(m) => write!(f, "{m} cannot be expressed for this model's upstream"),
        }
    }
}

/// Reads a caller's request. `stream` comes from the endpoint for Gemini (the body has no
/// flag) and is ignored for the others (the body says).
pub fn decode(caller: Protocol, body: &[u8], stream: bool) -> Result<ir::Request, Error> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| Error::Invalid(format!("invalid JSON: {e}")))?;
    let serde_json::Value::Object(obj) = v else {
        return Err(Error::Invalid(
            "the request body must be a JSON object".into(),
        ));
    };
    match caller {
        Protocol::ChatCompletions => chat::decode(obj),
        Protocol::Responses => responses::decode(obj),
        Protocol::Messages => messages::decode(obj),
        Protocol::GenerateContent => gemini::decode(obj, stream),
    }
}

/// Renders `req` as an `upstream` request body for `model` (Gemini: the model goes in the URL
/// and `stream` in the endpoint, so neither is in the body), refusing every field the target
/// cannot express ([`Policy::Strict`]).
pub fn encode(
    upstream: Protocol,
    req: &ir::Request,
    model: &str,
    stream: bool,
) -> Result<Vec<u8>, Error> {
    encode_for(upstream, req, model, stream, Policy::Strict).map(|e| e.body)
}

/// As [`encode`] under `policy`, also returning the tool names it renamed for the upstream
/// (the answer must be given back under the caller's names) and what it dropped.
pub fn encode_for(
    upstream: Protocol,
    req: &ir::Request,
    model: &str,
    stream: bool,
    policy: Policy,
) -> Result<Encoded, Error> {
    let req = &*patch_orphan_results(req);
    // Tool names OpenAI and Gemini cannot carry are shortened (`names::NameMap` restores them).
    let names = NameMap::for_request(upstream, req);
    let req = &*names::shorten(req, &names);
    let mut drops = Drops::new(policy);
    drops.hosted(req)?;
    let v = match upstream {
        Protocol::ChatCompletions => chat::encode(req, model, stream, &mut drops)?,
        Protocol::Responses => responses::encode(req, model, stream, &mut drops)?,
        Protocol::Messages => messages::encode(req, model, stream, &mut drops)?,
        Protocol::GenerateContent => gemini::encode(req, &mut drops)?,
    };
    let body = serde_json::to_vec(&v).map_err(|e| Error::Invalid(e.to_string()))?;
    Ok(Encoded {
        body,
        names,
        dropped: drops.names,
    })
}

/// Tool results that answer no call of the assistant turn just before them
/// (docs/translation-cases.md#e18: every wire rejects them, Anthropic and OpenAI with a 400) become
/// text, so nothing is lost and the conversation stays valid. Borrowed when there are none.
fn patch_orphan_results(req: &ir::Request) -> std::borrow::Cow<'_, ir::Request> {
    use ir::{Part, Role};
    let orphan = |prev: Option<&ir::Message>, id: &str| {
        !prev.is_some_and(|m| {
            m.role == Role::Assistant
                && m.parts
                    .iter()
                    .any(|p| matches!(p, Part::ToolCall(c) if c.id == id))
        })
    };
    let any = req.messages.iter().enumerate().any(|(i, m)| {
        m.parts.iter().any(|p| {
            matches!(p, Part::ToolResult(r) if orphan(i.checked_sub(1).and_then(|j| req.messages.get(j)), &r.id))
        })
    });
    if !any {
        return std::borrow::Cow::Borrowed(req);
    }
    let mut out = req.clone();
    for i in 0..out.messages.len() {
        let (before, rest) = out.messages.split_at_mut(i);
        let prev = before.last();
        let Some(m) = rest.first_mut() else {
            continue;
        };
        for p in &mut m.parts {
            let Part::ToolResult(r) = p else {
                continue;
            };
            if !orphan(prev, &r.id) {
                continue;
            }
            let mut text = format!("Result of tool call `{}`", r.id);
            if r.is_error {
                text.push_str(" (error)");
            }
            text.push(':');
            for c in &r.content {
                if let Part::Text(t) = c {
                    text.push('\n');
                    text.push_str(t);
                }
            }
            *p = Part::Text(text);
        }
    }
    std::borrow::Cow::Owned(out)
}
