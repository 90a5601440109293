//! Whole (non-streaming) answers and error bodies: decoded from the upstream's protocol into
//! an [`ir::Response`] / [`ir::ErrorInfo`], encoded in the caller's.

mod chat;
mod gemini;
mod messages;
mod responses;

use compiler::table::Protocol;

use crate::ir;
use crate::stream::Ctx;

/// Reads an upstream's 2xx body. `Err` names what is wrong with it.
pub fn decode(upstream: Protocol, body: &[u8], ctx: &Ctx<'_>) -> Result<ir::Response, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
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

/// Reads an upstream error body (any of the three envelopes, or none) for `status`.
pub fn decode_error(status: u16, body: &[u8]) -> ir::ErrorInfo {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let err = v.get("error");
    let message = err
        .and_then(|e| e.get("message").or(Some(e)))
        .and_then(|m| m.as_str())
        .or_else(|| v.get("message").and_then(|m| m.as_str()))
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                format!("the upstream answered {status}")
            } else {
                text.chars().take(500).collect()
            }
        });
    let named = err
        .and_then(|e| {
            ["type", "status", "code"]
                .iter()
                .filter_map(|k| e.get(*k).and_then(|t| t.as_str()))
                .find_map(ir::ErrorKind::from_name)
        });
    ir::ErrorInfo {
        kind: named.unwrap_or(ir::ErrorKind::from_status(status)),
        message,
    }
}

/// Writes `err` as the caller protocol's HTTP error body.
pub fn encode_error(caller: Protocol, status: u16, err: &ir::ErrorInfo) -> Vec<u8> {
    let v = match caller {
        Protocol::ChatCompletions | Protocol::Responses => serde_json::json!({
            "error": {"message": err.message, "type": err.kind.openai_type(), "param": null, "code": null}
        }),
        Protocol::Messages => serde_json::json!({
            "type": "error",
            "error": {"type": err.kind.anthropic_type(), "message": err.message}
        }),
        Protocol::GenerateContent => serde_json::json!({
            "error": {"code": status, "message": err.message, "status": err.kind.gemini_status()}
        }),
    };
    serde_json::to_vec(&v).unwrap_or_default()
}
