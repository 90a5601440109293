//! Whole (non-streaming) answers and error bodies: decoded from the upstream's protocol into
//! an [`ir::Response`] / [`ir::ErrorInfo`], encoded in the caller's.
//!
//! Decoders normalise usage to inclusive totals and keep the upstream's id, model and
//! `created` (0 when absent); encoders report `ctx.model`, give the id the caller's prefix
//! (`chatcmpl-`, `resp_`, `msg_`) or make one up from `ctx.seed`, and use `ctx.created` when
//! the upstream had no timestamp (docs/protocols.md: #wire-reference, #finish-reasons, #usage).

use crate::chat::response as chat;
use crate::gemini::response as gemini;
use crate::messages::response as messages;
use crate::responses::response as responses;
#[cfg(test)]
mod tests;

use compiler::table::Protocol;
use serde_json::{Map, Value, json};

use crate::ids;
use crate::ir;
use crate::stream::Ctx;

/// Reads an upstream's 2xx body. `Err` names what is wrong with it.
pub fn decode(upstream: Protocol, body: &[u8], ctx: &Ctx<'_>) -> Result<ir::Response, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    if !v.is_object() {
        return Err("the upstream answer is not a JSON object".into());
    }
    let mut r = match upstream {
        Protocol::ChatCompletions => chat::decode(&v, ctx),
        Protocol::Responses => responses::decode(&v, ctx),
        Protocol::Messages => messages::decode(&v, ctx),
        Protocol::GenerateContent => gemini::decode(&v, ctx),
    }?;
    r.settle();
    Ok(r)
}

/// Writes `resp` as the caller's 2xx body.
pub fn encode(caller: Protocol, resp: &ir::Response, ctx: &Ctx<'_>) -> Vec<u8> {
    let v = match caller {
        Protocol::ChatCompletions => chat::encode(resp, ctx),
        Protocol::Responses => responses::encode(resp, ctx),
        Protocol::Messages => messages::encode(resp, ctx),
        Protocol::GenerateContent => gemini::encode(resp, ctx),
    };
    serde_json::to_vec(&v).unwrap_or_default()
}

/// Reads an upstream error body (any of the three envelopes, a bare `{"message"}` /
/// `{"detail"}`, a Gemini array of one envelope, or plain text) for `status`.
pub fn decode_error(status: u16, body: &[u8]) -> ir::ErrorInfo {
    let mut v: Value = serde_json::from_slice(body).unwrap_or_default();
    if let Value::Array(items) = &mut v {
        v = items.first().cloned().unwrap_or_default();
    }
    let err = v.get("error");
    let message = err
        .and_then(|e| e.get("message").or(Some(e)))
        .and_then(Value::as_str)
        .or_else(|| v.get("message").and_then(Value::as_str))
        .or_else(|| v.get("detail").and_then(Value::as_str))
        .filter(|m| !m.trim().is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() || v.is_object() {
                format!("the upstream answered {status}")
            } else {
                text.chars().take(500).collect()
            }
        });
    let named = err.and_then(|e| {
        ["type", "status", "code"]
            .iter()
            .filter_map(|k| e.get(*k).and_then(Value::as_str))
            .find_map(ir::ErrorKind::from_name)
    });
    let by_status = ir::ErrorKind::from_status(status);
    let generic =
        |k: ir::ErrorKind| matches!(k, ir::ErrorKind::InvalidRequest | ir::ErrorKind::Server);
    // A specific status beats a generic name (OpenAI answers a bad key with 401 and
    // `invalid_request_error`); a specific name beats a generic status (a 500 saying
    // `overloaded_error`, or a mid-stream error at 200).
    let kind = match named {
        Some(k) if generic(k) && !generic(by_status) => by_status,
        Some(k) => k,
        None => by_status,
    };
    ir::ErrorInfo { kind, message }
}

/// Writes `err` as the caller protocol's HTTP error body, for an answer with `status`.
/// Whether `body` is already an error in `protocol`'s own envelope (docs/protocols.md#error-envelopes):
/// OpenAI's `{"error":{"message",…}}`, Anthropic's `{"type":"error","error":{"type","message"}}`,
/// Gemini's `{"error":{"code","message",…}}` (or an array holding one, as its JSON-array
/// streams answer). A passthrough sends such a body on as it is; anything else (plain text, an
/// HTML page from a proxy, another protocol's envelope) is re-wrapped for the caller.
pub fn is_error_envelope(protocol: Protocol, body: &[u8]) -> bool {
    let Ok(mut v) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    if protocol == Protocol::GenerateContent {
        if let Value::Array(items) = &mut v {
            v = items.first().cloned().unwrap_or_default();
        }
    }
    let Some(err) = v.get("error").filter(|e| e.is_object()) else {
        return false;
    };
    let string = |k: &str| err.get(k).is_some_and(Value::is_string);
    match protocol {
        Protocol::ChatCompletions | Protocol::Responses => {
            string("message") && string("type") && v.get("type").is_none_or(|t| t != "error")
        }
        Protocol::Messages => {
            string("message")
                && string("type")
                && v.get("type").and_then(Value::as_str) == Some("error")
        }
        Protocol::GenerateContent => {
            string("message") && string("status") && err.get("code").is_some_and(Value::is_number)
        }
    }
}

pub fn encode_error(caller: Protocol, status: u16, err: &ir::ErrorInfo) -> Vec<u8> {
    crate::wire::error_body(caller, err.kind, status, &err.message, None)
}

// ---- helpers shared by the four codecs ----

/// The caller-facing response id: the upstream's when it already has `prefix`, the upstream's
/// behind `prefix` otherwise, or a made-up one when the upstream had none.
pub(crate) fn caller_id(id: &str, prefix: &str, ctx: &Ctx<'_>) -> String {
    if id.is_empty() {
        let mut s = String::new();
        ids::synthesize(prefix, ctx.seed, 0, &mut s);
        s
    } else if id.starts_with(prefix) {
        id.to_owned()
    } else {
        format!("{prefix}{id}")
    }
}

/// A made-up id for the `n`th thing of a response (tool calls, Responses items).
pub(crate) fn made_up(prefix: &str, ctx: &Ctx<'_>, n: usize) -> String {
    let mut s = String::new();
    ids::synthesize(prefix, ctx.seed, n as u64, &mut s);
    s
}

/// The `created` timestamp to report.
pub(crate) fn created(r: &ir::Response, ctx: &Ctx<'_>) -> u64 {
    if r.created != 0 {
        r.created
    } else {
        ctx.created
    }
}

/// The model name to report: the one the router resolved, else the upstream's.
pub(crate) fn model<'a>(r: &'a ir::Response, ctx: &Ctx<'a>) -> &'a str {
    if ctx.model.is_empty() {
        &r.model
    } else {
        ctx.model
    }
}

/// A usage object written by a protocol's one usage writer (shared with its stream encoder),
/// as a value for the whole answer. Once per non-streaming answer.
pub(crate) fn usage_value(write: impl FnOnce(&mut Vec<u8>)) -> Value {
    let mut out = Vec::with_capacity(160);
    write(&mut out);
    serde_json::from_slice(&out).unwrap_or(Value::Null)
}

/// A non-negative integer, also from a float (`created_at` is a float in the SDK types).
pub(crate) fn as_count(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// A string field, `""` when absent or not a string.
pub(crate) fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Tool-call arguments as JSON text: a string as given (`{}` when empty), an object or
/// other value serialised.
pub(crate) fn args_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::String(_)) | Some(Value::Null) | None => "{}".into(),
        Some(other) => other.to_string(),
    }
}

/// Tool-call arguments as the object Anthropic `input` and Gemini `args` need
/// (docs/translation-cases.md#e36: never a half object). Empty text is `{}`; text that is not a
/// JSON object (invalid or cut-off JSON, or an array/scalar) is wrapped as `{"_raw": "<text>"}` so
/// nothing is lost and the tool, seeing an unknown `_raw` field, reports a validation error the
/// model can act on — an error answer would throw away a whole, otherwise good, response.
pub(crate) fn args_object(text: &str) -> Value {
    if text.trim().is_empty() {
        return Value::Object(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({ "_raw": text }),
    }
}

/// The id of a tool call as sent to a caller whose wire restricts ids (Anthropic, Responses).
pub(crate) fn safe_id(id: &str) -> String {
    ids::wire_safe(id).into_owned()
}
