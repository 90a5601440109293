//! Tests for whole-answer translation: the reference vectors (`testkit::vectors`) decoded to the
//! IR, the IR encoded for every caller (exact JSON), and all twelve cross pairs; edge cases in
//! `edge`.

mod edge;
mod errors;
mod quirks;

use compiler::table::Protocol;
use serde_json::{Value, json};

use super::{decode, encode};
use crate::ids;
use crate::ir::{Finish, Part, Response, ToolCall, Usage};
use crate::stream::Ctx;

const ALL: [Protocol; 4] = [
    Protocol::ChatCompletions,
    Protocol::Responses,
    Protocol::Messages,
    Protocol::GenerateContent,
];

pub(super) fn ctx() -> Ctx<'static> {
    Ctx {
        model: "router-model",
        include_usage: false,
        json_array: false,
        created: 1_800_000_000,
        seed: 42,
    }
}

pub(super) fn made_up(prefix: &str, n: u64) -> String {
    let mut s = String::new();
    ids::synthesize(prefix, 42, n, &mut s);
    s
}

pub(super) fn enc(caller: Protocol, r: &Response) -> Value {
    serde_json::from_slice(&encode(caller, r, &ctx())).unwrap()
}

pub(super) fn dec(upstream: Protocol, v: &Value) -> Result<Response, String> {
    decode(upstream, v.to_string().as_bytes(), &ctx())
}

// ---- the reference non-stream answers (`testkit::vectors`, plain text) ----

fn vector(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn chat_text() -> Value {
    vector(testkit::vectors::chat::RESPONSE_TEXT)
}

fn chat_tool() -> Value {
    vector(testkit::vectors::chat::RESPONSE_TOOL)
}

fn responses_text() -> Value {
    vector(testkit::vectors::responses::RESPONSE_TEXT)
}

fn responses_tool() -> Value {
    vector(testkit::vectors::responses::RESPONSE_TOOL)
}

fn messages_text() -> Value {
    vector(testkit::vectors::messages::RESPONSE_TEXT)
}

fn messages_tool() -> Value {
    vector(testkit::vectors::messages::RESPONSE_TOOL)
}

fn gemini_text() -> Value {
    vector(testkit::vectors::gemini::RESPONSE_TEXT)
}

fn gemini_tool() -> Value {
    vector(testkit::vectors::gemini::RESPONSE_TOOL)
}

/// What each vector means, independent of wire: (upstream, body, id, model, created, text,
/// call id, input, output).
struct Vector {
    proto: Protocol,
    body: Value,
    id: &'static str,
    model: &'static str,
    created: u64,
    text: Option<&'static str>,
    call: Option<String>,
    usage: (u64, u64),
}

fn text_vectors() -> Vec<Vector> {
    let v = |proto, body, id, model, created, usage| Vector {
        proto,
        body,
        id,
        model,
        created,
        text: Some("Hello!"),
        call: None,
        usage,
    };
    vec![
        v(
            Protocol::ChatCompletions,
            chat_text(),
            "chatcmpl-test123",
            "gpt-4.1-2025-04-14",
            1767225600,
            (19, 3),
        ),
        v(
            Protocol::Responses,
            responses_text(),
            "resp_test123",
            "gpt-4.1-2025-04-14",
            1767225600,
            (19, 3),
        ),
        v(
            Protocol::Messages,
            messages_text(),
            "msg_01TestText",
            "claude-sonnet-4-5-20250929",
            0,
            (12, 5),
        ),
        v(
            Protocol::GenerateContent,
            gemini_text(),
            "test-response-id-1",
            "gemini-2.5-flash",
            0,
            (8, 3),
        ),
    ]
}

fn tool_vectors() -> Vec<Vector> {
    let v = |proto, body, id, model, created, text, call: String, usage| Vector {
        proto,
        body,
        id,
        model,
        created,
        text,
        call: Some(call),
        usage,
    };
    vec![
        v(
            Protocol::ChatCompletions,
            chat_tool(),
            "chatcmpl-test456",
            "gpt-4.1-2025-04-14",
            1767225600,
            None,
            "call_abc123".into(),
            (61, 16),
        ),
        v(
            Protocol::Responses,
            responses_tool(),
            "resp_test456",
            "gpt-4.1-2025-04-14",
            1767225600,
            None,
            "call_abc123".into(),
            (61, 16),
        ),
        v(
            Protocol::Messages,
            messages_tool(),
            "msg_01TestTool",
            "claude-sonnet-4-5-20250929",
            0,
            Some("I'll check the weather."),
            "toolu_01TestCall".into(),
            (380, 52),
        ),
        // No id from Gemini: one is made up from the seed, n = the call's position.
        v(
            Protocol::GenerateContent,
            gemini_tool(),
            "test-response-id-2",
            "gemini-2.5-flash",
            0,
            None,
            made_up("call_", 0),
            (41, 6),
        ),
    ]
}

fn expected_ir(v: &Vector) -> Response {
    let mut parts = Vec::new();
    if let Some(t) = v.text {
        parts.push(Part::Text(t.into()));
    }
    if let Some(id) = &v.call {
        parts.push(Part::ToolCall(ToolCall {
            id: id.clone(),
            name: "get_weather".into(),
            arguments: r#"{"location":"Paris"}"#.into(),
            signature: None,
            namespace: None,
        }));
    }
    Response {
        id: v.id.into(),
        model: v.model.into(),
        created: v.created,
        parts,
        finish: if v.call.is_some() {
            Finish::ToolCalls
        } else {
            Finish::Stop
        },
        stop_sequence: None,
        usage: Usage {
            input: v.usage.0,
            output: v.usage.1,
            ..Usage::default()
        },
    }
}

#[test]
fn every_vector_decodes_to_the_expected_ir() {
    for v in text_vectors().into_iter().chain(tool_vectors()) {
        assert_eq!(
            dec(v.proto, &v.body).unwrap(),
            expected_ir(&v),
            "{:?}",
            v.proto
        );
    }
}

/// The exact body `caller` must receive for vector `v` (ids: the caller's prefix is added
/// to a foreign id; `created` is the upstream's or ctx's; model is ctx's).
fn expected_body(caller: Protocol, v: &Vector) -> Value {
    let created = if v.created != 0 {
        v.created
    } else {
        1_800_000_000
    };
    let (inp, out) = v.usage;
    let with_prefix = |p: &str| {
        if v.id.starts_with(p) {
            v.id.to_string()
        } else {
            format!("{p}{}", v.id)
        }
    };
    let args = r#"{"location":"Paris"}"#;
    match caller {
        Protocol::ChatCompletions => {
            let mut message = json!({"role": "assistant", "content": v.text, "refusal": null});
            if let Some(id) = &v.call {
                message["tool_calls"] = json!([{"id": id, "type": "function",
                    "function": {"name": "get_weather", "arguments": args}}]);
            }
            json!({
              "id": with_prefix("chatcmpl-"), "object": "chat.completion", "created": created,
              "model": "router-model",
              "choices": [{"index": 0, "message": message, "logprobs": null,
                "finish_reason": if v.call.is_some() { "tool_calls" } else { "stop" }}],
              "usage": {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out,
                "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0}}
            })
        }
        Protocol::Responses => {
            let mut output = Vec::new();
            if let Some(t) = v.text {
                output.push(json!({"id": made_up("msg_", 1), "type": "message", "status": "completed",
                  "role": "assistant",
                  "content": [{"type": "output_text", "text": t, "annotations": [], "logprobs": []}]}));
            }
            if let Some(id) = &v.call {
                output.push(json!({"id": made_up("fc_", output.len() as u64 + 1),
                  "type": "function_call", "status": "completed", "call_id": id,
                  "name": "get_weather", "arguments": args}));
            }
            json!({
              "id": with_prefix("resp_"), "object": "response", "created_at": created,
              "status": "completed", "error": null, "incomplete_details": null,
              "instructions": null, "model": "router-model", "output": output,
              "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
              "usage": {"input_tokens": inp,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": out, "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": inp + out},
              "metadata": {}
            })
        }
        Protocol::Messages => {
            let mut content = Vec::new();
            if let Some(t) = v.text {
                content.push(json!({"type": "text", "text": t}));
            }
            if let Some(id) = &v.call {
                content.push(json!({"type": "tool_use", "id": id, "name": "get_weather",
                  "input": {"location": "Paris"}}));
            }
            json!({
              "id": with_prefix("msg_"), "type": "message", "role": "assistant",
              "model": "router-model", "content": content,
              "stop_reason": if v.call.is_some() { "tool_use" } else { "end_turn" },
              "stop_sequence": null,
              "usage": {"input_tokens": inp, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0, "output_tokens": out}
            })
        }
        Protocol::GenerateContent => {
            let mut parts = Vec::new();
            if let Some(t) = v.text {
                parts.push(json!({"text": t}));
            }
            if let Some(id) = &v.call {
                parts.push(json!({"functionCall": {"id": id, "name": "get_weather",
                  "args": {"location": "Paris"}}}));
            }
            json!({
              "candidates": [{"content": {"role": "model", "parts": parts},
                "finishReason": "STOP", "index": 0}],
              "usageMetadata": {"promptTokenCount": inp, "candidatesTokenCount": out,
                "totalTokenCount": inp + out},
              "modelVersion": "router-model", "responseId": v.id
            })
        }
    }
}

#[test]
fn every_vector_encodes_for_every_caller() {
    // The twelve cross pairs plus the four same-wire renderings, for text and tool calls.
    for v in text_vectors().into_iter().chain(tool_vectors()) {
        let ir = dec(v.proto, &v.body).unwrap();
        for caller in ALL {
            assert_eq!(
                enc(caller, &ir),
                expected_body(caller, &v),
                "{:?} -> {caller:?}",
                v.proto
            );
        }
    }
}

#[test]
fn encoded_bodies_decode_back_to_the_same_content() {
    for v in text_vectors().into_iter().chain(tool_vectors()) {
        let ir = dec(v.proto, &v.body).unwrap();
        for caller in ALL {
            let back = dec(caller, &enc(caller, &ir)).unwrap();
            assert_eq!(back.parts, ir.parts, "{:?} -> {caller:?}", v.proto);
            assert_eq!(back.finish, ir.finish, "{:?} -> {caller:?}", v.proto);
            assert_eq!(back.usage, ir.usage, "{:?} -> {caller:?}", v.proto);
            assert_eq!(back.model, "router-model");
        }
    }
}

#[test]
fn vector_bodies_round_trip_on_their_own_wire_to_the_required_shape() {
    // Same-wire: what docs/protocols.md#wire-reference requires of each SDK model is present.
    let ir = dec(Protocol::ChatCompletions, &chat_tool()).unwrap();
    let chat = enc(Protocol::ChatCompletions, &ir);
    for k in ["id", "object", "created", "model", "choices"] {
        assert!(chat.get(k).is_some(), "chat {k}");
    }
    let resp = enc(Protocol::Responses, &ir);
    for k in [
        "id",
        "object",
        "created_at",
        "model",
        "output",
        "parallel_tool_calls",
        "tool_choice",
        "tools",
        "status",
    ] {
        assert!(resp.get(k).is_some(), "responses {k}");
    }
    assert!(resp["output"][0]["id"].as_str().unwrap().starts_with("fc_"));
    let msg = enc(Protocol::Messages, &ir);
    assert!(msg["id"].as_str().unwrap().starts_with("msg_"));
}

#[test]
fn error_envelopes_are_told_apart() {
    use crate::wire::error_body;
    use compiler::table::Protocol::*;
    let own = |p| error_body(p, crate::ir::ErrorKind::RateLimited, 429, "slow down", None);
    for p in Protocol::ALL {
        assert!(super::is_error_envelope(p, &own(p)), "{p:?} own");
        for other in Protocol::ALL {
            let same_family = matches!(
                (p, other),
                (ChatCompletions | Responses, ChatCompletions | Responses)
            );
            assert_eq!(
                super::is_error_envelope(p, &own(other)),
                p == other || same_family,
                "{p:?} reading {other:?}'s envelope"
            );
        }
        for foreign in [
            &b"upstream proxy error: 502"[..],
            b"<html>Bad Gateway</html>",
            b"",
            b"{}",
            br#"{"error":"plain"}"#,
            br#"{"detail":"x"}"#,
        ] {
            assert!(!super::is_error_envelope(p, foreign), "{p:?} {foreign:?}");
        }
    }
    let array = format!("[{}]", String::from_utf8(own(GenerateContent)).unwrap());
    assert!(super::is_error_envelope(GenerateContent, array.as_bytes()));
    assert!(!super::is_error_envelope(ChatCompletions, array.as_bytes()));
}
