//! Gemini generateContent encoder tests.

use super::*;

/// SSE chunks: every frame is exactly one `data: ` line of valid JSON (E30/E34).
fn chunks(out: &str) -> Vec<Value> {
    assert!(!out.contains("[DONE]") && !out.contains("event:"));
    frames(out)
        .into_iter()
        .map(|(name, data)| {
            assert!(name.is_none());
            parse(&data)
        })
        .collect()
}

fn parts(c: &Value) -> &Value {
    &c["candidates"][0]["content"]["parts"]
}

#[test]
fn text_stream_is_byte_exact() {
    let (out, ended) = run(
        Protocol::GenerateContent,
        &ctx(false, false),
        &text_events(),
    );
    assert!(ended);
    let expected = concat!(
        r#"data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]},"index":0}],"modelVersion":"gpt-4.1","responseId":"test123"}"#,
        "\n\n",
        r#"data: {"candidates":[{"content":{"role":"model","parts":[{"text":"lo!"}]},"index":0}],"modelVersion":"gpt-4.1","responseId":"test123"}"#,
        "\n\n",
        r#"data: {"candidates":[{"content":{"role":"model","parts":[{"text":""}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":19,"candidatesTokenCount":3,"totalTokenCount":22},"modelVersion":"gpt-4.1","responseId":"test123"}"#,
        "\n\n",
    );
    assert_eq!(out, expected);
}

#[test]
fn json_array_mode_is_one_array() {
    let (out, _) = run(Protocol::GenerateContent, &ctx(false, true), &text_events());
    assert!(out.starts_with("[{") && out.ends_with("}]"));
    assert!(!out.contains("data:"));
    let v: Value = serde_json::from_str(&out).unwrap();
    let a = v.as_array().unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(parts(&a[1]), &json!([{"text": "lo!"}]));
    assert_eq!(a[2]["candidates"][0]["finishReason"], "STOP");
    assert_eq!(out.matches(",\r\n").count(), 2);
    // After a failure too: the error is the last element and the array is closed.
    let out = run_fail(
        Protocol::GenerateContent,
        &ctx(false, true),
        &[START, Event::Text("Hel")],
        ErrorKind::Server,
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v[1],
        json!({"error": {"code": 500, "message": "upstream exploded", "status": "INTERNAL"}})
    );
    // Nothing written before the failure: a one-element array.
    let out = run_fail(
        Protocol::GenerateContent,
        &ctx(false, true),
        &[START],
        ErrorKind::RateLimited,
    );
    assert_eq!(
        out,
        r#"[{"error":{"code":429,"message":"upstream exploded","status":"RESOURCE_EXHAUSTED"}}]"#
    );
}

#[test]
fn tool_calls_are_buffered_and_emitted_whole() {
    let (out, _) = run(
        Protocol::GenerateContent,
        &ctx(false, false),
        &tool_events(),
    );
    let c = chunks(&out);
    assert_eq!(c.len(), 2);
    assert_eq!(parts(&c[0]), &json!([{"text": "Let me check."}]));
    // The call ends the turn: it rides in the final chunk; STOP even for a tool turn.
    assert_eq!(
        parts(&c[1]),
        &json!([{"functionCall": {"name": "get_weather", "args": {"location": "Paris"}, "id": "call_abc123"}}])
    );
    assert_eq!(c[1]["candidates"][0]["finishReason"], "STOP");
    assert_eq!(
        c[1]["usageMetadata"],
        json!({"promptTokenCount": 61, "candidatesTokenCount": 16, "totalTokenCount": 77})
    );
}

#[test]
fn parallel_calls_flush_when_the_next_starts() {
    let (out, _) = run(
        Protocol::GenerateContent,
        &ctx(false, false),
        &parallel_events(),
    );
    let c = chunks(&out);
    assert_eq!(c.len(), 2);
    assert_eq!(
        parts(&c[0])[0]["functionCall"]["args"],
        json!({"location": "Paris"})
    );
    assert!(c[0]["candidates"][0].get("finishReason").is_none());
    assert_eq!(
        parts(&c[1])[0]["functionCall"],
        json!({"name": "get_time", "args": {"tz": "CET"}, "id": "functions.get_time:1"})
    );
    // A call followed by text is flushed before the text; pretty-printed args come out
    // compact (a raw newline would end the SSE frame).
    let (out, _) = run(
        Protocol::GenerateContent,
        &ctx(false, false),
        &[
            START,
            Event::ToolStart {
                id: "c1",
                name: "f",
                namespace: None,
            },
            Event::ToolArgs("{\n  \"a\": 1\n}"),
            Event::Text("after"),
            Event::ToolStart {
                id: "c2",
                name: "g",
                namespace: None,
            },
            Event::End,
        ],
    );
    let c = chunks(&out);
    assert_eq!(c.len(), 3);
    assert_eq!(parts(&c[0])[0]["functionCall"]["args"], json!({"a": 1}));
    assert_eq!(parts(&c[1]), &json!([{"text": "after"}]));
    // No arguments at all: an empty object.
    assert_eq!(parts(&c[2])[0]["functionCall"]["args"], json!({}));
}

#[test]
fn invalid_arguments_fail_the_stream() {
    for bad in ["{\"a\":", "[1,2]", "\"x\""] {
        let mut e = Encoder::new(Protocol::GenerateContent, &ctx(false, false));
        let mut out = BytesMut::new();
        for ev in [
            START,
            Event::ToolStart {
                id: "c1",
                name: "f",
                namespace: None,
            },
            Event::ToolArgs(bad),
            Event::Finish(Finish::ToolCalls),
            Event::End,
        ] {
            e.event(&ev, &mut out);
        }
        assert!(e.ended());
        let out = String::from_utf8(out.to_vec()).unwrap();
        let c = chunks(&out);
        assert_eq!(c.len(), 1, "{out}");
        assert_eq!(c[0]["error"]["status"], "INTERNAL");
        assert!(!out.contains("functionCall"));
    }
}

#[test]
fn reasoning_is_a_thought_part_and_usage_splits_thoughts() {
    let (out, _) = run(
        Protocol::GenerateContent,
        &ctx(false, false),
        &reasoning_events(true),
    );
    let c = chunks(&out);
    assert_eq!(parts(&c[0]), &json!([{"text": "Think", "thought": true}]));
    assert_eq!(parts(&c[2]), &json!([{"text": "Done."}]));
    assert_eq!(
        c.last().unwrap()["usageMetadata"],
        json!({"promptTokenCount": 100, "candidatesTokenCount": 10, "thoughtsTokenCount": 20,
            "totalTokenCount": 130, "cachedContentTokenCount": 40})
    );
}

#[test]
fn finish_reasons_and_invariants_for_every_sequence() {
    for events_in in all_sequences() {
        for json_array in [false, true] {
            let (out, ended) = run(
                Protocol::GenerateContent,
                &ctx(false, json_array),
                &events_in,
            );
            assert!(ended);
            let c = if json_array {
                serde_json::from_str::<Value>(&out)
                    .unwrap()
                    .as_array()
                    .unwrap()
                    .clone()
            } else {
                chunks(&out)
            };
            let finish = events_in.iter().find_map(|e| match e {
                Event::Finish(f) => Some(*f),
                _ => None,
            });
            let want = match finish.unwrap_or_default() {
                Finish::Stop | Finish::ToolCalls => "STOP",
                Finish::Length => "MAX_TOKENS",
                Finish::ContentFilter => "SAFETY",
                Finish::Other => "OTHER",
            };
            for (i, chunk) in c.iter().enumerate() {
                assert_eq!(chunk["candidates"][0]["content"]["role"], "model");
                assert_eq!(chunk["candidates"][0]["index"], 0);
                assert_eq!(chunk["modelVersion"], "gpt-4.1");
                assert_eq!(chunk["responseId"], "test123");
                let last = i == c.len() - 1;
                assert_eq!(chunk["candidates"][0].get("finishReason").is_some(), last);
                assert_eq!(chunk.get("usageMetadata").is_some(), last);
                if last {
                    assert_eq!(chunk["candidates"][0]["finishReason"], want);
                }
            }
        }
    }
}

#[test]
fn start_writes_nothing_and_missing_id_is_made_up() {
    let (out, ended) = run(Protocol::GenerateContent, &ctx(false, false), &[START]);
    assert!(out.is_empty() && !ended);
    let (out, _) = run(
        Protocol::GenerateContent,
        &ctx(false, false),
        &[
            Event::Start { id: "", model: "" },
            Event::Finish(Finish::Other),
            Event::End,
        ],
    );
    let c = chunks(&out);
    assert!(!c[0]["responseId"].as_str().unwrap().is_empty());
    assert_eq!(c[0]["candidates"][0]["finishReason"], "OTHER");
}

#[test]
fn fail_after_commit_is_a_gemini_error() {
    let out = run_fail(
        Protocol::GenerateContent,
        &ctx(false, false),
        &[START, Event::Text("Hel")],
        ErrorKind::Overloaded,
    );
    assert!(out.ends_with(
        "data: {\"error\":{\"code\":503,\"message\":\"upstream exploded\",\"status\":\"UNAVAILABLE\"}}\n\n"
    ));
    assert_eq!(chunks(&out).len(), 2);
}
