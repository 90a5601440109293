//! Chat Completions whole answers to and from the IR (docs/protocols.md#chat-completions).

use serde_json::{Map, Value, json};

use super::wire;
use crate::ir::{self, Finish, Part};
use crate::response::{
    args_text, as_count, caller_id, created, made_up, model, str_at, usage_value,
};
use crate::stream::Ctx;

pub(crate) fn decode(v: &Value, ctx: &Ctx<'_>) -> Result<ir::Response, String> {
    let choices = v
        .get("choices")
        .and_then(Value::as_array)
        .ok_or("a chat completion without a `choices` array")?;
    // Only the first choice: the router never asks for `n > 1`.
    let choice = choices.first().ok_or("a chat completion with no choices")?;
    let msg = choice
        .get("message")
        .filter(|m| m.is_object())
        .ok_or("a chat completion choice without a `message` object")?;
    let mut parts = Vec::new();
    // Vendor reasoning (DeepSeek/Qwen/Kimi `reasoning_content`, some proxies `reasoning`).
    for key in ["reasoning_content", "reasoning"] {
        if let Some(t) = msg
            .get(key)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            parts.push(Part::Reasoning(ir::Reasoning {
                text: t.to_owned(),
                signature: None,
                redacted: None,
            }));
            break;
        }
    }
    match msg.get("content") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => push_text(&mut parts, s),
        Some(Value::Array(items)) => {
            for it in items {
                match str_at(it, "type") {
                    "text" => push_text(&mut parts, str_at(it, "text")),
                    "refusal" => push_refusal(&mut parts, str_at(it, "refusal")),
                    _ => {}
                }
            }
        }
        Some(_) => return Err("`message.content` is neither a string nor an array".into()),
    }
    if let Some(r) = msg.get("refusal").and_then(Value::as_str) {
        push_refusal(&mut parts, r);
    }
    match msg.get("tool_calls") {
        None | Some(Value::Null) => {}
        Some(Value::Array(calls)) => {
            for (n, c) in calls.iter().enumerate() {
                let f = c
                    .get("function")
                    .filter(|f| f.is_object())
                    .ok_or("a tool call without a `function` object")?;
                let id = match str_at(c, "id") {
                    "" => made_up("call_", ctx, n),
                    id => id.to_owned(),
                };
                parts.push(Part::ToolCall(ir::ToolCall {
                    id,
                    name: str_at(f, "name").to_owned(),
                    arguments: args_text(f.get("arguments")),
                    signature: None,
                    namespace: None,
                }));
            }
        }
        Some(_) => return Err("`message.tool_calls` is not an array".into()),
    }
    let finish = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .map_or(Finish::Stop, wire::finish_from);
    let usage = v.get("usage").map(wire::usage).unwrap_or_default();
    Ok(ir::Response {
        id: str_at(v, "id").to_owned(),
        model: str_at(v, "model").to_owned(),
        created: v.get("created").and_then(as_count).unwrap_or(0),
        parts,
        finish,
        stop_sequence: None,
        usage,
    })
}

fn push_text(parts: &mut Vec<Part>, s: &str) {
    if !s.is_empty() {
        parts.push(Part::Text(s.to_owned()));
    }
}

fn push_refusal(parts: &mut Vec<Part>, s: &str) {
    if !s.is_empty() {
        parts.push(Part::Refusal(s.to_owned()));
    }
}

pub(crate) fn encode(r: &ir::Response, ctx: &Ctx<'_>) -> Value {
    let (mut text, mut refusal, mut reasoning) = (String::new(), String::new(), String::new());
    let mut calls = Vec::new();
    for p in &r.parts {
        match p {
            Part::Text(t) => text.push_str(t),
            Part::Refusal(t) => refusal.push_str(t),
            Part::Reasoning(x) => reasoning.push_str(&x.text),
            Part::ToolCall(c) => calls.push(json!({
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            })),
            Part::Media(_) | Part::ToolResult(_) => {}
        }
    }
    let opt = |s: String| {
        if s.is_empty() {
            Value::Null
        } else {
            Value::String(s)
        }
    };
    let mut message = Map::new();
    message.insert("role".into(), "assistant".into());
    message.insert("content".into(), opt(text));
    message.insert("refusal".into(), opt(refusal));
    if !calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(calls));
    }
    // Vendor dialect (DeepSeek & co.); strict OpenAI clients ignore unknown fields.
    if !reasoning.is_empty() {
        message.insert("reasoning_content".into(), reasoning.into());
    }
    let finish = wire::finish_name(r.finish);
    json!({
        "id": caller_id(&r.id, "chatcmpl-", ctx),
        "object": "chat.completion",
        "created": created(r, ctx),
        "model": model(r, ctx),
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish,
        }],
        "usage": usage_value(|o| wire::write_usage(o, &r.usage)),
    })
}
