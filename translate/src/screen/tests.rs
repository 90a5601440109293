//! Which strings are content, per protocol: a request with system text, a tool call and its
//! result, and an answer with text and a call — every email is redacted, nothing structural
//! (ids, names, roles, types, media) is touched, and OpenAI's JSON-text arguments stay JSON.

use guardrails::{Action, Detector, Guard, Phase, RuleSpec, Source};
use serde_json::{Value, json};

use super::*;

fn guard() -> Guard {
    Guard::compile(&[RuleSpec {
        name: "mail".into(),
        pattern: None,
        detector: Some(Detector::Email),
        on: Source::Both,
        action: Action::Redact,
        replacement: None,
        models: vec![],
        keys: vec![],
    }])
    .unwrap()
}

/// Redacts `v` as a request (or answer) of `p`; returns how many matches were redacted.
fn redact(p: Protocol, request: bool, v: &mut Value) -> usize {
    let g = guard();
    let phase = if request {
        Phase::Request
    } else {
        Phase::Response
    };
    let o = check(&g, &g.select(phase, "m", None), p, request, v);
    assert_eq!(o.blocked, None);
    o.hits.len()
}

const M: &str = "a@b.io";
const R: &str = "[REDACTED:mail]";

/// Every string in `v`, for "nothing of the match is left" checks.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k.clone());
            strings(x, out)
        }),
        _ => {}
    }
}

fn assert_clean(v: &Value) {
    let mut all = Vec::new();
    strings(v, &mut all);
    assert!(all.iter().all(|s| !s.contains(M)), "{v:#}");
}

#[test]
fn chat_request_and_answer() {
    let mut v = json!({"model": "m", "messages": [
        {"role": "system", "content": format!("mail {M}")},
        {"role": "user", "content": [{"type": "text", "text": format!("to {M}")},
                                     {"type": "image_url", "image_url": {"url": "https://x.io/a@b.io.png"}}]},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_a@b.io", "type": "function",
            "function": {"name": "send", "arguments": format!("{{\"to\":\"{M}\"}}")}}]},
        {"role": "tool", "tool_call_id": "call_a@b.io", "content": format!("sent to {M}")}
    ], "tools": [{"type": "function", "function": {"name": "send", "description": M}}]});
    assert_eq!(redact(Protocol::ChatCompletions, true, &mut v), 4);
    let m = &v["messages"];
    assert_eq!(m[0]["content"], format!("mail {R}"));
    assert_eq!(m[1]["content"][0]["text"], format!("to {R}"));
    assert_eq!(
        m[1]["content"][1]["image_url"]["url"],
        "https://x.io/a@b.io.png"
    );
    assert_eq!(m[2]["tool_calls"][0]["id"], "call_a@b.io");
    let args: Value = serde_json::from_str(
        m[2]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(args["to"], R);
    assert_eq!(m[3]["tool_call_id"], "call_a@b.io");
    assert_eq!(m[3]["content"], format!("sent to {R}"));
    assert_eq!(
        v["tools"][0]["function"]["description"], M,
        "tool definitions are not content"
    );

    let mut a = json!({"id": "c", "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": format!("hi {M}"),
        "tool_calls": [{"id": "x", "type": "function", "function": {"name": "send", "arguments": format!("{{\"to\":\"{M}\"}}")}}]}}]});
    assert_eq!(redact(Protocol::ChatCompletions, false, &mut a), 2);
    assert_clean(&a);
}

#[test]
fn responses_request_and_answer() {
    let mut v = json!({"model": "m", "instructions": format!("sys {M}"), "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": M}]},
        {"type": "function_call", "call_id": "c1", "name": "send", "arguments": format!("{{\"to\":\"{M}\"}}")},
        {"type": "function_call_output", "call_id": "c1", "output": format!("ok {M}")}
    ]});
    assert_eq!(redact(Protocol::Responses, true, &mut v), 4);
    assert_clean(&v);
    assert_eq!(v["input"][1]["call_id"], "c1");
    let mut s = json!({"model": "m", "input": format!("just {M}")});
    assert_eq!(redact(Protocol::Responses, true, &mut s), 1);
    assert_eq!(s["input"], format!("just {R}"));

    let mut a = json!({"id": "r", "output": [
        {"type": "message", "id": "msg_1", "role": "assistant", "content": [{"type": "output_text", "text": M, "annotations": []}]},
        {"type": "function_call", "id": "fc_1", "call_id": "c2", "name": "send", "arguments": format!("{{\"to\":\"{M}\"}}")}
    ]});
    assert_eq!(redact(Protocol::Responses, false, &mut a), 2);
    assert_clean(&a);
}

#[test]
fn messages_request_and_answer() {
    let mut v = json!({"model": "m", "max_tokens": 10,
    "system": [{"type": "text", "text": format!("sys {M}"), "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {"role": "user", "content": format!("hi {M}")},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "send",
            "input": {"to": M, "name": M, "cc": [M]}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
            "content": [{"type": "text", "text": M}]}]}
    ]});
    assert_eq!(redact(Protocol::Messages, true, &mut v), 6);
    assert_clean(&v);
    let input = &v["messages"][1]["content"][0]["input"];
    assert_eq!(
        input["name"], R,
        "inside a tool input every value is content"
    );
    assert_eq!(v["messages"][1]["content"][0]["name"], "send");

    let mut a = json!({"id": "msg", "type": "message", "role": "assistant", "content": [
        {"type": "text", "text": M}, {"type": "tool_use", "id": "t", "name": "send", "input": {"to": M}}]});
    assert_eq!(redact(Protocol::Messages, false, &mut a), 2);
    assert_clean(&a);
}

#[test]
fn gemini_request_and_answer() {
    let mut v = json!({"systemInstruction": {"parts": [{"text": M}]}, "contents": [
        {"role": "user", "parts": [{"text": M}, {"inlineData": {"mimeType": "image/png", "data": "YUBiLmlv"}}]},
        {"role": "model", "parts": [{"functionCall": {"name": "send", "args": {"to": M}}, "thoughtSignature": "sig"}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "send", "response": {"result": M}}}]}
    ]});
    assert_eq!(redact(Protocol::GenerateContent, true, &mut v), 4);
    assert_clean(&v);
    assert_eq!(v["contents"][1]["parts"][0]["thoughtSignature"], "sig");

    let mut a = json!({"candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model",
        "parts": [{"text": M}, {"functionCall": {"name": "send", "args": {"to": M}}}]}}]});
    assert_eq!(redact(Protocol::GenerateContent, false, &mut a), 2);
    assert_clean(&a);
}
