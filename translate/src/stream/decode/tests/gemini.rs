//! Gemini decoder tests: vectors, whole calls with raw arguments and made-up ids (E10, E20),
//! `STOP` after a call (E15), finish reasons, blocked prompts (E37), usage, errors, cuts.

use super::*;

fn gemini(chunks: &[&str]) -> Vec<Ev> {
    run(Protocol::GenerateContent, &data(chunks))
}

fn parts(parts: &str, tail: &str) -> String {
    format!(
        r#"{{"candidates":[{{"content":{{"parts":{parts},"role":"model"}},"index":0{tail}}}],"modelVersion":"g","responseId":"r"}}"#
    )
}

#[test]
fn gemini_text_vector() {
    assert_eq!(
        run(Protocol::GenerateContent, GEMINI_TEXT.as_bytes()),
        [
            start("test-response-id-1", "gemini-2.5-flash"),
            text("Hel"),
            usage(8, 0, 0, 0, 0),
            text("lo!"),
            Ev::Finish(Finish::Stop),
            usage(8, 3, 0, 0, 0),
            Ev::End,
        ]
    );
}

#[test]
fn gemini_tool_vector_synthesizes_the_id() {
    assert_eq!(
        run(Protocol::GenerateContent, GEMINI_TOOL.as_bytes()),
        [
            start("test-response-id-2", "gemini-2.5-flash"),
            tool(&synthesized(0), "get_weather"),
            args(r#"{"location":"Paris"}"#),
            // STOP after a call: the encoder's latch makes it ToolCalls (E15).
            Ev::Finish(Finish::Stop),
            usage(41, 6, 0, 0, 0),
            Ev::End,
        ]
    );
}

#[test]
fn gemini_3_call_then_trailing_stop() {
    assert_eq!(
        run(Protocol::GenerateContent, GEMINI_3.as_bytes()),
        [
            start("test-response-id-3", "gemini-3-flash"),
            tool("fc-test-1", "get_weather"),
            args(r#"{"location":"Paris"}"#),
            usage(41, 0, 0, 0, 0),
            Ev::Finish(Finish::Stop),
            usage(41, 26, 0, 0, 20),
            Ev::End,
        ]
    );
}

#[test]
fn gemini_parallel_vector() {
    assert_eq!(
        gemini(&GEMINI_PARALLEL),
        [
            start("test-response-id-4", "gemini-2.5-flash"),
            tool(&synthesized(0), "get_weather"),
            args(r#"{"location":"Paris"}"#),
            usage(41, 0, 0, 0, 0),
            tool(&synthesized(1), "get_weather"),
            args(r#"{"location":"London"}"#),
            Ev::Finish(Finish::Stop),
            usage(41, 12, 0, 0, 0),
            Ev::End,
        ]
    );
}

#[test]
fn gemini_arguments_are_the_raw_args_text() {
    let chunk = parts(
        r#"[{"text":"a"},{"thought":true,"text":"hm"},{"functionCall":{"name":"f","args":{"q": "a \"b\" ]}", "n":[1,{"x":2.50}]}}},{"functionCall":{"name":"g"}},{"functionCall":{"id":"","name":"h","args":null}}]"#,
        r#","finishReason":"MAX_TOKENS""#,
    );
    assert_eq!(
        gemini(&[&chunk]),
        [
            start("r", "g"),
            text("a"),
            Ev::Reasoning("hm".into()),
            tool(&synthesized(0), "f"),
            args(r#"{"q": "a \"b\" ]}", "n":[1,{"x":2.50}]}"#),
            tool(&synthesized(1), "g"),
            args("{}"),
            tool(&synthesized(2), "h"),
            args("{}"),
            Ev::Finish(Finish::Length),
            Ev::End,
        ]
    );
}

#[test]
fn gemini_finish_reasons() {
    for (reason, finish) in [
        ("STOP", Finish::Stop),
        ("MAX_TOKENS", Finish::Length),
        ("SAFETY", Finish::ContentFilter),
        ("RECITATION", Finish::ContentFilter),
        ("BLOCKLIST", Finish::ContentFilter),
        ("PROHIBITED_CONTENT", Finish::ContentFilter),
        ("SPII", Finish::ContentFilter),
        ("LANGUAGE", Finish::ContentFilter),
        ("IMAGE_SAFETY", Finish::ContentFilter),
        ("IMAGE_PROHIBITED_CONTENT", Finish::ContentFilter),
        ("IMAGE_RECITATION", Finish::ContentFilter),
        ("MALFORMED_FUNCTION_CALL", Finish::Other),
        ("OTHER", Finish::Other),
    ] {
        let chunk = parts("[]", &format!(r#","finishReason":"{reason}""#));
        assert_eq!(
            gemini(&[&chunk]),
            [start("r", "g"), Ev::Finish(finish), Ev::End],
            "{reason}"
        );
    }
}

/// An empty or unspecified reason is no finish: the stream has not ended, so its end of body
/// is a cut (the passthrough classifier and whole answers read the same map).
#[test]
fn gemini_unspecified_finish_reason_is_not_an_end() {
    for reason in ["", "FINISH_REASON_UNSPECIFIED"] {
        let chunk = parts(
            r#"[{"text":"hi"}]"#,
            &format!(r#","finishReason":"{reason}""#),
        );
        assert_eq!(
            gemini(&[&chunk]),
            [start("r", "g"), text("hi")],
            "{reason:?}"
        );
    }
}

#[test]
fn gemini_blocked_prompt_and_usage_buckets() {
    let got = gemini(&[
        r#"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":9,"toolUsePromptTokenCount":2,"cachedContentTokenCount":4,"totalTokenCount":11},"modelVersion":"g","responseId":"r"}"#,
    ]);
    assert_eq!(
        got,
        [
            start("r", "g"),
            Ev::Finish(Finish::ContentFilter),
            usage(11, 0, 4, 0, 0),
            Ev::End
        ]
    );
}

#[test]
fn gemini_errors() {
    assert_eq!(
        run(Protocol::GenerateContent, GEMINI_STREAM_ERROR.as_bytes()),
        [Ev::Error(
            ErrorKind::Server,
            "Internal error encountered.".into()
        )]
    );
    assert_eq!(
        gemini(&[r#"{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}"#]),
        [Ev::Error(ErrorKind::RateLimited, "quota".into())]
    );
    assert_eq!(
        gemini(&[r#"{"error":{"code":503,"message":"busy"}}"#]),
        [Ev::Error(ErrorKind::Overloaded, "busy".into())]
    );
}

#[test]
fn gemini_malformed_and_cut() {
    for bad in [
        "{not json".to_owned(),
        "[]".to_owned(),
        r#"{"candidates":{}}"#.to_owned(),
        parts("{}", ""),
        parts("[]", r#","finishReason":3"#),
    ] {
        let got = gemini(&[&bad]);
        assert_eq!(got.last(), Some(&Ev::Malformed), "{bad}: {got:?}");
    }
    // No finishReason before the body ended: a cut, nothing at EOF.
    let got = gemini(&[&parts(r#"[{"text":"Hel"}]"#, "")]);
    assert_eq!(got, [start("r", "g"), text("Hel")]);
}
