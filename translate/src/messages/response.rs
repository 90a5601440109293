//! Anthropic Messages whole answers to and from the IR (docs/protocols.md#messages): usage is
//! exclusive of cache tokens on this wire, thinking is only ever Anthropic's own (E27).

use serde_json::{Value, json};

use super::wire;
use crate::ir::{self, Finish, Part};
use crate::response::{
    args_object, args_text, caller_id, made_up, model, safe_id, str_at, usage_value,
};
use crate::stream::Ctx;

pub(crate) fn decode(v: &Value, ctx: &Ctx<'_>) -> Result<ir::Response, String> {
    let content = v
        .get("content")
        .and_then(Value::as_array)
        .ok_or("a message without a `content` array")?;
    let mut parts = Vec::new();
    let mut calls = 0;
    for b in content {
        if !b.is_object() {
            return Err("a message content block is not an object".into());
        }
        match str_at(b, "type") {
            "text" => {
                let t = str_at(b, "text");
                if !t.is_empty() {
                    parts.push(Part::Text(t.to_owned()));
                }
            }
            "thinking" => parts.push(Part::Reasoning(ir::Reasoning {
                text: str_at(b, "thinking").to_owned(),
                signature: b
                    .get("signature")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                redacted: None,
            })),
            "redacted_thinking" => parts.push(Part::Reasoning(ir::Reasoning {
                text: String::new(),
                signature: None,
                redacted: Some(str_at(b, "data").to_owned()),
            })),
            "tool_use" => {
                let id = match str_at(b, "id") {
                    "" => made_up("toolu_", ctx, calls),
                    id => id.to_owned(),
                };
                calls += 1;
                parts.push(Part::ToolCall(ir::ToolCall {
                    id,
                    name: str_at(b, "name").to_owned(),
                    arguments: args_text(b.get("input")),
                    signature: None,
                    namespace: None,
                }));
            }
            // Server-tool blocks (web search, code execution, …) have no portable form.
            _ => {}
        }
    }
    let finish = v
        .get("stop_reason")
        .and_then(Value::as_str)
        .map_or(Finish::Stop, wire::finish_from);
    let mut usage = ir::Usage::default();
    if let Some(u) = v.get("usage") {
        wire::UsageFields::read(u).apply(&mut usage);
    }
    Ok(ir::Response {
        id: str_at(v, "id").to_owned(),
        model: str_at(v, "model").to_owned(),
        created: 0,
        parts,
        finish,
        stop_sequence: v
            .get("stop_sequence")
            .and_then(Value::as_str)
            .map(str::to_owned),
        usage,
    })
}

pub(crate) fn encode(r: &ir::Response, ctx: &Ctx<'_>) -> Value {
    let mut content = Vec::new();
    for p in &r.parts {
        match p {
            Part::Text(t) | Part::Refusal(t) => {
                if !t.is_empty() {
                    content.push(json!({"type": "text", "text": t}));
                }
            }
            // Only Anthropic's own, signed thinking goes back (E27); foreign reasoning would
            // poison the caller's history.
            Part::Reasoning(x) => {
                if let Some(sig) = &x.signature {
                    content.push(json!({"type": "thinking", "thinking": x.text, "signature": sig}));
                } else if let Some(data) = &x.redacted {
                    content.push(json!({"type": "redacted_thinking", "data": data}));
                }
            }
            Part::ToolCall(c) => content.push(json!({
                "type": "tool_use",
                "id": safe_id(&c.id),
                "name": c.name,
                "input": args_object(&c.arguments),
            })),
            Part::Media(_) | Part::ToolResult(_) => {}
        }
    }
    let refused = r.parts.iter().any(|p| matches!(p, Part::Refusal(_)));
    let (stop_reason, stop_sequence) = match (r.finish, &r.stop_sequence) {
        // An OpenAI refusal ends with `stop`; this wire says it in the stop reason (E37).
        (Finish::Stop, _) if refused => ("refusal", Value::Null),
        (Finish::Stop, Some(s)) => ("stop_sequence", Value::String(s.clone())),
        (f, _) => (wire::finish_name(f), Value::Null),
    };
    json!({
        "id": caller_id(&r.id, "msg_", ctx),
        "type": "message",
        "role": "assistant",
        "model": model(r, ctx),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage_value(|o| wire::write_usage(o, &r.usage)),
    })
}
