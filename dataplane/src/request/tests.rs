//! Tests for request inspection and the passthrough byte edits.

use super::*;
use crate::json::PooledScratch;

fn info(p: Protocol, body: &'static str) -> Result<RequestInfo<'static>, ProxyError> {
    let mut s = PooledScratch::take();
    inspect(s.get(), p, body.as_bytes(), None, false)
}

fn rewrite(body: &'static str, model: &str, ask_usage: bool) -> serde_json::Value {
    let i = info(Protocol::ChatCompletions, body).unwrap();
    let out = passthrough_body(&Bytes::from_static(body.as_bytes()), &i, model, ask_usage);
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn reads_model_and_stream() {
    let i = info(
        Protocol::ChatCompletions,
        r#"{"model":"gpt-4.1","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#,
    )
    .unwrap();
    assert_eq!(i.model, "gpt-4.1");
    assert!(i.stream && i.include_usage);
    let i = info(Protocol::Messages, r#"{"model":"m\u00e9","stream":null}"#).unwrap();
    assert_eq!(i.model, "mé");
    assert!(!i.stream);
}

#[test]
fn wrong_shapes_are_400_with_a_reason() {
    for (body, want) in [
        ("", "empty"),
        ("{", "not valid JSON"),
        ("[1]", "JSON object"),
        (r#"{"messages":[]}"#, "no `model`"),
        (r#"{"model":7}"#, "`model` must be a string"),
        (r#"{"model":""}"#, "must not be empty"),
        (
            r#"{"model":"m","stream":"yes"}"#,
            "`stream` must be a boolean",
        ),
        (
            r#"{"model":"m","stream_options":3}"#,
            "`stream_options` must be an object",
        ),
        (
            r#"{"model":"m","stream_options":{"include_usage":1}}"#,
            "include_usage` must be a boolean",
        ),
        (r#"{"model":"a","model":"b"}"#, "`model` more than once"),
        (
            r#"{"model":"a","stream_options":{"include_usage":true,"include_usage":false}}"#,
            "`stream_options.include_usage` more than once",
        ),
    ] {
        let e = info(Protocol::ChatCompletions, body).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert!(e.message.contains(want), "{body}: {}", e.message);
    }
}

#[test]
fn unchanged_body_is_forwarded_as_is() {
    let body = Bytes::from_static(br#"{"model":"m","x":1}"#);
    let i = info(Protocol::ChatCompletions, r#"{"model":"m","x":1}"#).unwrap();
    let out = passthrough_body(&body, &i, "m", false);
    assert_eq!(out.as_ptr(), body.as_ptr());
}

#[test]
fn model_is_rewritten_and_nothing_else_changes() {
    let body = r#"{ "temperature": 0.10000000000000001, "model" : "alias", "n": 1.5e300 }"#;
    let i = info(Protocol::ChatCompletions, body).unwrap();
    let out = passthrough_body(
        &Bytes::from_static(body.as_bytes()),
        &i,
        "up\"stream",
        false,
    );
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        r#"{ "temperature": 0.10000000000000001, "model" : "up\"stream", "n": 1.5e300 }"#
    );
}

#[test]
fn usage_is_requested_in_every_starting_shape() {
    let v = rewrite(r#"{"model":"a","stream":true}"#, "b", true);
    assert_eq!(v["stream_options"]["include_usage"], true);
    assert_eq!(v["model"], "b");
    let v = rewrite(
        r#"{"model":"a","stream":true,"stream_options":{}}"#,
        "a",
        true,
    );
    assert_eq!(
        v["stream_options"],
        serde_json::json!({"include_usage": true})
    );
    let v = rewrite(
        r#"{"model":"a","stream":true,"stream_options":{"include_obfuscation":false}}"#,
        "a",
        true,
    );
    assert_eq!(v["stream_options"]["include_usage"], true);
    assert_eq!(v["stream_options"]["include_obfuscation"], false);
    let v = rewrite(
        r#"{"model":"a","stream":true,"stream_options":null}"#,
        "a",
        true,
    );
    assert_eq!(
        v["stream_options"],
        serde_json::json!({"include_usage": true})
    );
    let v = rewrite(
        r#"{"model":"a","stream":true,"stream_options":{"include_usage":false}}"#,
        "a",
        true,
    );
    assert_eq!(v["stream_options"]["include_usage"], true);
}

#[test]
fn gemini_takes_model_and_stream_from_the_path() {
    let mut s = PooledScratch::take();
    let i = inspect(
        s.get(),
        Protocol::GenerateContent,
        br#"{"contents":[]}"#,
        Some(Cow::Borrowed("gemini-2.5-flash")),
        true,
    )
    .unwrap();
    assert_eq!(i.model, "gemini-2.5-flash");
    assert!(i.stream);
}

#[test]
fn reads_the_most_output_tokens_each_protocol_allows() {
    let max = |p, body| info(p, body).unwrap().max_output;
    assert_eq!(
        max(
            Protocol::ChatCompletions,
            r#"{"model":"m","max_tokens":100,"messages":[]}"#
        ),
        Some(100)
    );
    assert_eq!(
        max(
            Protocol::ChatCompletions,
            r#"{"model":"m","max_completion_tokens":300,"max_tokens":100,"messages":[]}"#
        ),
        Some(300)
    );
    assert_eq!(
        max(
            Protocol::Responses,
            r#"{"model":"m","max_output_tokens":42,"input":"x"}"#
        ),
        Some(42)
    );
    assert_eq!(
        max(
            Protocol::Messages,
            r#"{"model":"m","max_tokens":64,"messages":[]}"#
        ),
        Some(64)
    );
    let mut s = PooledScratch::take();
    let gemini = |body: &'static str, s: &mut PooledScratch| {
        inspect(
            s.get(),
            Protocol::GenerateContent,
            body.as_bytes(),
            Some("m".into()),
            false,
        )
        .unwrap()
        .max_output
    };
    assert_eq!(
        gemini(
            r#"{"contents":[],"generationConfig":{"maxOutputTokens":7}}"#,
            &mut s
        ),
        Some(7)
    );
    assert_eq!(
        gemini(
            r#"{"contents":[],"generation_config":{"max_output_tokens":9}}"#,
            &mut s
        ),
        Some(9)
    );
    // Absent, or not a whole number: none (the default cap applies).
    assert_eq!(
        max(Protocol::ChatCompletions, r#"{"model":"m","messages":[]}"#),
        None
    );
    assert_eq!(
        max(
            Protocol::ChatCompletions,
            r#"{"model":"m","max_tokens":1.5,"messages":[]}"#
        ),
        None
    );
}
