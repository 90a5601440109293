//! Gemini generateContent whole answers to and from the IR (docs/protocols.md#gemini): tool
//! turns end with `STOP` (the latch in [`ir::Response::settle`] makes them tool calls), calls
//! may lack ids, `candidatesTokenCount` excludes thoughts.

use serde_json::{Map, Value, json};

use super::wire;
use crate::ir::{self, Finish, Part};
use crate::response::{args_object, args_text, caller_id, made_up, model, str_at, usage_value};
use crate::stream::Ctx;

pub(crate) fn decode(v: &Value, ctx: &Ctx<'_>) -> Result<ir::Response, String> {
    let candidate = match v.get("candidates") {
        Some(Value::Array(c)) => c.first(),
        None | Some(Value::Null) => None,
        Some(_) => return Err("`candidates` is not an array".into()),
    };
    let mut parts = Vec::new();
    let finish = match candidate {
        // A blocked prompt: no candidates, only `promptFeedback.blockReason` (E37).
        None => {
            let fb = v.get("promptFeedback");
            if fb
                .map(|f| str_at(f, "blockReason"))
                .unwrap_or("")
                .is_empty()
            {
                return Err("a generateContent answer without candidates".into());
            }
            let why = fb.map(|f| str_at(f, "blockReasonMessage")).unwrap_or("");
            if !why.is_empty() {
                parts.push(Part::Refusal(why.to_owned()));
            }
            Finish::ContentFilter
        }
        Some(c) => {
            if !c.is_object() {
                return Err("a candidate is not an object".into());
            }
            let list = match c.get("content").map(|ct| ct.get("parts")) {
                // A candidate cut by a filter may have no content at all.
                None | Some(None) | Some(Some(Value::Null)) => &[][..],
                Some(Some(Value::Array(p))) => p.as_slice(),
                Some(Some(_)) => return Err("`content.parts` is not an array".into()),
            };
            let mut calls = 0;
            for p in list {
                decode_part(p, ctx, &mut calls, &mut parts)?;
            }
            wire::finish_from(str_at(c, "finishReason")).unwrap_or(Finish::Stop)
        }
    };
    let usage = v.get("usageMetadata").map(wire::usage).unwrap_or_default();
    Ok(ir::Response {
        id: str_at(v, "responseId").to_owned(),
        model: str_at(v, "modelVersion").to_owned(),
        created: 0,
        parts,
        finish,
        stop_sequence: None,
        usage,
    })
}

fn decode_part(
    p: &Value,
    ctx: &Ctx<'_>,
    calls: &mut usize,
    parts: &mut Vec<Part>,
) -> Result<(), String> {
    if !p.is_object() {
        return Err("a content part is not an object".into());
    }
    let signature = p
        .get("thoughtSignature")
        .or_else(|| p.get("thought_signature"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(fc) = p.get("functionCall").or_else(|| p.get("function_call")) {
        if !fc.is_object() {
            return Err("`functionCall` is not an object".into());
        }
        // Older models send no id; callers need one (E20).
        let id = match str_at(fc, "id") {
            "" => made_up("call_", ctx, *calls),
            id => id.to_owned(),
        };
        *calls += 1;
        parts.push(Part::ToolCall(ir::ToolCall {
            id,
            name: str_at(fc, "name").to_owned(),
            arguments: args_text(fc.get("args")),
            signature,
            namespace: None,
        }));
    } else if let Some(t) = p.get("text").and_then(Value::as_str) {
        if t.is_empty() {
            return Ok(());
        }
        if p.get("thought").and_then(Value::as_bool) == Some(true) {
            // A Gemini `thoughtSignature` is not an Anthropic signature: not kept here.
            parts.push(Part::Reasoning(ir::Reasoning {
                text: t.to_owned(),
                signature: None,
                redacted: None,
            }));
        } else {
            parts.push(Part::Text(t.to_owned()));
        }
    }
    Ok(())
}

pub(crate) fn encode(r: &ir::Response, ctx: &Ctx<'_>) -> Value {
    let mut parts = Vec::new();
    for p in &r.parts {
        match p {
            Part::Text(t) | Part::Refusal(t) => {
                if !t.is_empty() {
                    parts.push(json!({"text": t}));
                }
            }
            Part::Reasoning(x) => {
                if !x.text.is_empty() {
                    parts.push(json!({"text": x.text, "thought": true}));
                }
            }
            Part::ToolCall(c) => {
                let mut part = Map::new();
                part.insert(
                    "functionCall".into(),
                    json!({"id": c.id, "name": c.name, "args": args_object(&c.arguments)}),
                );
                if let Some(sig) = &c.signature {
                    part.insert("thoughtSignature".into(), sig.clone().into());
                }
                parts.push(Value::Object(part));
            }
            Part::Media(_) | Part::ToolResult(_) => {}
        }
    }
    let refused = r.parts.iter().any(|p| matches!(p, Part::Refusal(_)));
    let finish = match r.finish {
        // An OpenAI refusal ends with `stop`; this wire says it in the finish reason (E37).
        Finish::Stop if refused => "SAFETY",
        f => wire::finish_name(f),
    };
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": parts},
            "finishReason": finish,
            "index": 0,
        }],
        "usageMetadata": usage_value(|o| wire::write_usage(o, &r.usage)),
        "modelVersion": model(r, ctx),
        "responseId": caller_id(&r.id, "", ctx),
    })
}
