//! Responses whole answers to and from the IR (protocols.md §1.2, §4.2): output items in
//! order, `status`/`incomplete_details` instead of a finish reason.

use serde_json::{Map, Value, json};

use crate::ir::{self, Finish, Part};
use crate::response::{
    args_text, as_count, caller_id, count, created, made_up, model, safe_id, str_at, total,
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
    let finish = match str_at(v, "status") {
        "" | "completed" => Finish::Stop,
        "incomplete" => {
            let reason = v
                .get("incomplete_details")
                .map(|d| str_at(d, "reason"))
                .unwrap_or("");
            match reason {
                "max_output_tokens" => Finish::Length,
                "content_filter" => Finish::ContentFilter,
                _ => Finish::Other,
            }
        }
        s @ ("failed" | "cancelled") => {
            let msg = v
                .get("error")
                .map(|e| str_at(e, "message"))
                .filter(|m| !m.is_empty())
                .unwrap_or("no error given");
            return Err(format!("the upstream response is {s}: {msg}"));
        }
        _ => Finish::Other,
    };
    let u = v.get("usage");
    let usage = ir::Usage {
        input: count(u, "input_tokens"),
        output: count(u, "output_tokens"),
        cache_read: count(
            u.and_then(|u| u.get("input_tokens_details")),
            "cached_tokens",
        ),
        cache_write: count(
            u.and_then(|u| u.get("input_tokens_details")),
            "cache_write_tokens",
        ),
        reasoning: count(
            u.and_then(|u| u.get("output_tokens_details")),
            "reasoning_tokens",
        ),
    };
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
    let (status, incomplete) = match r.finish {
        Finish::Stop | Finish::ToolCalls | Finish::Other => ("completed", Value::Null),
        Finish::Length => ("incomplete", json!({"reason": "max_output_tokens"})),
        Finish::ContentFilter => ("incomplete", json!({"reason": "content_filter"})),
    };
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
                output.push(json!({
                    "id": made_up("fc_", ctx, output.len() + 1),
                    "type": "function_call",
                    "status": "completed",
                    "call_id": safe_id(&c.id),
                    "name": c.name,
                    "arguments": c.arguments,
                }));
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
    o.insert("usage".into(), usage(&r.usage));
    o.insert("metadata".into(), json!({}));
    Value::Object(o)
}

/// Responses `usage` (inclusive, like the IR; openai ≥ 2.45 requires `cache_write_tokens`).
fn usage(u: &ir::Usage) -> Value {
    json!({
        "input_tokens": u.input,
        "input_tokens_details": {"cached_tokens": u.cache_read, "cache_write_tokens": u.cache_write},
        "output_tokens": u.output,
        "output_tokens_details": {"reasoning_tokens": u.reasoning},
        "total_tokens": total(u),
    })
}
