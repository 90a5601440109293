//! Error envelopes both ways, malformed upstream bodies, and arbitrary input never panicking.

use compiler::table::Protocol;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::dec;
use crate::ir::{ErrorInfo, ErrorKind};
use crate::response::{decode, decode_error, encode_error};

fn info(kind: ErrorKind, message: &str) -> ErrorInfo {
    ErrorInfo {
        kind,
        message: message.into(),
    }
}

#[test]
fn every_error_envelope_is_read() {
    let cases: [(u16, &[u8], ErrorInfo); 9] = [
        // The Chat 401 vector: a bad key is a 401 with a generic type; the status wins.
        (
            401,
            br#"{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
            info(ErrorKind::Authentication, "Incorrect API key provided."),
        ),
        (
            529,
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_test"}"#,
            info(ErrorKind::Overloaded, "Overloaded"),
        ),
        (
            429,
            br#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}"#,
            info(ErrorKind::RateLimited, "Resource has been exhausted (e.g. check quota)."),
        ),
        // A specific name beats a generic status.
        (
            500,
            br#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#,
            info(ErrorKind::Overloaded, "busy"),
        ),
        (400, br#"{"error":{"message":"bad","type":"invalid_request_error"}}"#, info(ErrorKind::InvalidRequest, "bad")),
        // Gemini's JSON-array form, a bare string error, FastAPI `detail`, plain text, nothing.
        (
            404,
            br#"[{"error":{"code":404,"message":"no model","status":"NOT_FOUND"}}]"#,
            info(ErrorKind::NotFound, "no model"),
        ),
        (502, br#"{"error":"gateway down"}"#, info(ErrorKind::BadGateway, "gateway down")),
        (422, br#"{"detail":"missing field"}"#, info(ErrorKind::InvalidRequest, "missing field")),
        (503, b"  upstream connect error  ", info(ErrorKind::Overloaded, "upstream connect error")),
    ];
    for (status, body, want) in cases {
        assert_eq!(
            decode_error(status, body),
            want,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    assert_eq!(
        decode_error(500, b""),
        info(ErrorKind::Server, "the upstream answered 500")
    );
    assert_eq!(
        decode_error(500, b"{}"),
        info(ErrorKind::Server, "the upstream answered 500")
    );
}

#[test]
fn errors_are_written_in_the_callers_envelope() {
    let e = info(ErrorKind::RateLimited, "slow down");
    let body = |p| serde_json::from_slice::<Value>(&encode_error(p, 429, &e)).unwrap();
    let openai = json!({"error": {"message": "slow down", "type": "rate_limit_error", "param": null, "code": null}});
    assert_eq!(body(Protocol::ChatCompletions), openai);
    assert_eq!(body(Protocol::Responses), openai);
    assert_eq!(
        body(Protocol::Messages),
        json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})
    );
    assert_eq!(
        body(Protocol::GenerateContent),
        json!({"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}})
    );
    // And every envelope reads back to the same error.
    for p in [
        Protocol::ChatCompletions,
        Protocol::Messages,
        Protocol::GenerateContent,
    ] {
        assert_eq!(decode_error(429, &encode_error(p, 429, &e)), e, "{p:?}");
    }
}

#[test]
fn malformed_upstream_bodies_are_errors() {
    let ctx = super::ctx();
    for p in [
        Protocol::ChatCompletions,
        Protocol::Responses,
        Protocol::Messages,
        Protocol::GenerateContent,
    ] {
        for raw in [&b"not json"[..], b"[1,2]", b"\"text\"", b"{}", b""] {
            assert!(
                decode(p, raw, &ctx).is_err(),
                "{p:?} {}",
                String::from_utf8_lossy(raw)
            );
        }
    }
    let bad = [
        (Protocol::ChatCompletions, json!({"choices": {}})),
        (Protocol::ChatCompletions, json!({"choices": []})),
        (
            Protocol::ChatCompletions,
            json!({"choices": [{"finish_reason": "stop"}]}),
        ),
        (
            Protocol::ChatCompletions,
            json!({"choices": [{"message": {"content": 5}}]}),
        ),
        (
            Protocol::ChatCompletions,
            json!({"choices": [{"message": {"tool_calls": {}}}]}),
        ),
        (
            Protocol::ChatCompletions,
            json!({"choices": [{"message": {"tool_calls": [{"id": "x"}]}}]}),
        ),
        (Protocol::Responses, json!({"output": "x"})),
        (Protocol::Responses, json!({"output": [1]})),
        (
            Protocol::Responses,
            json!({"output": [{"type": "message"}]}),
        ),
        (
            Protocol::Responses,
            json!({"status": "failed", "error": {"code": "server_error", "message": "boom"}, "output": []}),
        ),
        (Protocol::Messages, json!({"content": "Hello"})),
        (Protocol::Messages, json!({"content": ["Hello"]})),
        (Protocol::GenerateContent, json!({"candidates": {}})),
        (Protocol::GenerateContent, json!({"candidates": []})),
        (Protocol::GenerateContent, json!({"candidates": [1]})),
        (
            Protocol::GenerateContent,
            json!({"candidates": [{"content": {"parts": {}}}]}),
        ),
        (
            Protocol::GenerateContent,
            json!({"candidates": [{"content": {"parts": [1]}}]}),
        ),
        (
            Protocol::GenerateContent,
            json!({"candidates": [{"content": {"parts": [{"functionCall": 1}]}}]}),
        ),
    ];
    for (p, body) in bad {
        assert!(dec(p, &body).is_err(), "{p:?} {body}");
    }
    let failed = dec(
        Protocol::Responses,
        &json!({"status": "failed", "error": {"message": "boom"}, "output": []}),
    );
    assert_eq!(failed, Err("the upstream response is failed: boom".into()));
}

/// JSON built from the keys and values the decoders look at, nested at random.
fn wire_json() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "id",
        "model",
        "created",
        "created_at",
        "choices",
        "message",
        "content",
        "refusal",
        "tool_calls",
        "function",
        "name",
        "arguments",
        "finish_reason",
        "usage",
        "prompt_tokens",
        "completion_tokens",
        "prompt_tokens_details",
        "cached_tokens",
        "output",
        "type",
        "status",
        "call_id",
        "summary",
        "text",
        "incomplete_details",
        "reason",
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
        "input",
        "thinking",
        "signature",
        "stop_reason",
        "stop_sequence",
        "candidates",
        "parts",
        "functionCall",
        "args",
        "thought",
        "finishReason",
        "usageMetadata",
        "promptTokenCount",
        "candidatesTokenCount",
        "thoughtsTokenCount",
        "totalTokenCount",
        "promptFeedback",
        "blockReason",
        "error",
        "code",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec![
            "",
            "stop",
            "tool_calls",
            "message",
            "function_call",
            "reasoning",
            "output_text",
            "refusal",
            "text",
            "tool_use",
            "thinking",
            "STOP",
            "MAX_TOKENS",
            "incomplete",
            "failed",
            "{\"a\":",
            "{}",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bodies_never_panic(v in wire_json(), status in 0u16..1000) {
        let ctx = super::ctx();
        let raw = v.to_string();
        for p in [Protocol::ChatCompletions, Protocol::Responses, Protocol::Messages, Protocol::GenerateContent] {
            if let Ok(r) = decode(p, raw.as_bytes(), &ctx) {
                for caller in [Protocol::ChatCompletions, Protocol::Responses, Protocol::Messages, Protocol::GenerateContent] {
                    let body = crate::response::encode(caller, &r, &ctx);
                    prop_assert!(serde_json::from_slice::<Value>(&body).is_ok());
                }
            }
            let e = decode_error(status, raw.as_bytes());
            prop_assert!(!e.message.is_empty());
            let _ = encode_error(p, status, &e);
        }
    }
}
