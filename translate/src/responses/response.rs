//! Responses whole answers to and from the IR (docs/protocols.md#responses): output items in
//! order, `status`/`incomplete_details` instead of a finish reason.

use serde_json::{Map, Value, json};

use super::wire;
use crate::ir::{self, Finish, Part};
use crate::response::{
    args_text, as_count, caller_id, created, made_up, model, safe_id, str_at, usage_value,
};
use crate::stream::Ctx;

pub(crate) fn decode(v: &Value, ctx: &Ctx<'_>) -> Result<ir::Response, String> {
    let output = v
        .get("output")
        .and_then(Value::as_array)
        .ok_or("a response without an `output` array")?;
    let mut parts = Vec::new();
    let mut calls = 0;
    for item in output {
        if !item.is_object() {
            return Err("a response output item is not an object".into());
        }
        match str_at(item, "type") {
            "message" => {
                let content = item
                    .get("content")
                    .and_then(Value::as_array)
                    .ok_or("a message item without a `content` array")?;
                for c in content {
                    match str_at(c, "type") {
                        "output_text" => push(&mut parts, str_at(c, "text"), Part::Text),
                        "refusal" => push(&mut parts, str_at(c, "refusal"), Part::Refusal),
                        _ => {}
                    }
                }
            }
            "function_call" => {
                let id = match (str_at(item, "call_id"), str_at(item, "id")) {
                    ("", "") => made_up("call_", ctx, calls),
                    ("", id) | (id, _) => id.to_owned(),
                };
                calls += 1;
                parts.push(Part::ToolCall(ir::ToolCall {
                    id,
                    name: str_at(item, "name").to_owned(),
                    arguments: args_text(item.get("arguments")),
                    signature: None,
                    namespace: None,
                }));
            }
            "reasoning" => {
                // The summary is what is meant to be shown; raw `content` only when there
                // is no summary.
                let mut text = String::new();
                for key in ["summary", "content"] {
                    for s in item
                        .get(key)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let t = str_at(s, "text");
                        if !t.is_empty() {
                            if !text.is_empty() {
                                text.push_str("\n\n");
                            }
                            text.push_str(t);
                        }
                    }
                    if !text.is_empty() {
                        break;
                    }
                }
                if !text.is_empty() {
                    parts.push(Part::Reasoning(ir::Reasoning {
                        text,
                        signature: None,
                        redacted: None,
                    }));
                }
            }
            // Hosted-tool items (web search, MCP, …) have no portable form.
            _ => {}
        }
    }
    let status = str_at(v, "status");
    if matches!(status, "failed" | "cancelled") {
        let msg = v
            .get("error")
            .map(|e| str_at(e, "message"))
            .filter(|m| !m.is_empty())
            .unwrap_or("no error given");
        return Err(format!("the upstream response is {status}: {msg}"));
    }
    let reason = v
        .get("incomplete_details")
        .map(|d| str_at(d, "reason"))
        .filter(|r| !r.is_empty());
    let finish = wire::finish_from(status, reason).unwrap_or(Finish::Other);
    let usage = v.get("usage").map(wire::usage).unwrap_or_default();
    Ok(ir::Response {
        id: str_at(v, "id").to_owned(),
        model: str_at(v, "model").to_owned(),
        created: v.get("created_at").and_then(as_count).unwrap_or(0),
        parts,
        finish,
        stop_sequence: None,
        usage,
    })
}

fn push(parts: &mut Vec<Part>, s: &str, f: fn(String) -> Part) {
    if !s.is_empty() {
        parts.push(f(s.to_owned()));
    }
}

pub(crate) fn encode(r: &ir::Response, ctx: &Ctx<'_>) -> Value {
    let (status, incomplete) = wire::finish_status(r.finish);
    let incomplete = incomplete.map_or(Value::Null, |reason| json!({ "reason": reason }));
    let mut output: Vec<Value> = Vec::new();
    // Consecutive text and refusal parts share one message item.
    let mut content: Vec<Value> = Vec::new();
    let flush = |content: &mut Vec<Value>, output: &mut Vec<Value>| {
        if !content.is_empty() {
            output.push(json!({
                "id": made_up("msg_", ctx, output.len() + 1),
                "type": "message",
                "status": status,
                "role": "assistant",
                "content": std::mem::take(content),
            }));
        }
    };
    for p in &r.parts {
        match p {
            Part::Text(t) => content.push(json!({
                "type": "output_text", "text": t, "annotations": [], "logprobs": [],
            })),
            Part::Refusal(t) => content.push(json!({"type": "refusal", "refusal": t})),
            Part::Reasoning(x) => {
                flush(&mut content, &mut output);
                if !x.text.is_empty() {
                    output.push(json!({
                        "id": made_up("rs_", ctx, output.len() + 1),
                        "type": "reasoning",
                        "summary": [{"type": "summary_text", "text": x.text}],
                    }));
                }
            }
            Part::ToolCall(c) => {
                flush(&mut content, &mut output);
                let mut call = json!({
                    "id": made_up("fc_", ctx, output.len() + 1),
                    "type": "function_call",
                    "status": "completed",
                    "call_id": safe_id(&c.id),
                    "name": c.name,
                    "arguments": c.arguments,
                });
                if let Some(ns) = &c.namespace {
                    call["namespace"] = ns.clone().into();
                }
                output.push(call);
            }
            Part::Media(_) | Part::ToolResult(_) => {}
        }
    }
    flush(&mut content, &mut output);
    let mut o = Map::new();
    o.insert("id".into(), caller_id(&r.id, "resp_", ctx).into());
    o.insert("object".into(), "response".into());
    o.insert("created_at".into(), created(r, ctx).into());
    o.insert("status".into(), status.into());
    o.insert("error".into(), Value::Null);
    o.insert("incomplete_details".into(), incomplete);
    o.insert("instructions".into(), Value::Null);
    o.insert("model".into(), model(r, ctx).into());
    o.insert("output".into(), Value::Array(output));
    o.insert("parallel_tool_calls".into(), true.into());
    o.insert("tool_choice".into(), "auto".into());
    o.insert("tools".into(), json!([]));
    o.insert(
        "usage".into(),
        usage_value(|o| wire::write_usage(o, &r.usage)),
    );
    o.insert("metadata".into(), json!({}));
    Value::Object(o)
}
