//! Anthropic Messages encoder tests.

use super::*;

/// Frames as (event name, parsed data); checks every event is named after its `type`.
fn events(out: &str) -> Vec<(String, Value)> {
    frames(out)
        .into_iter()
        .map(|(name, data)| {
            let name = name.expect("every Anthropic event is named (E13)");
            let v = parse(&data);
            assert_eq!(v["type"], name.as_str());
            (name, v)
        })
        .collect()
}

/// E13 and docs/protocols.md#stream-encoders: message_start first, indices 0.. contiguous in start
/// order, one open block at a time, deltas only for the open block, message_delta then message_stop
/// last.
fn check_structure(ev: &[(String, Value)]) {
    assert_eq!(ev[0].0, "message_start");
    let mut open: Option<u64> = None;
    let mut next = 0;
    for (i, (name, v)) in ev.iter().enumerate().skip(1) {
        match name.as_str() {
            "content_block_start" => {
                assert!(open.is_none(), "two open blocks at {i}");
                assert_eq!(v["index"], next);
                open = Some(next);
                next += 1;
            }
            "content_block_delta" => assert_eq!(v["index"].as_u64(), open),
            "content_block_stop" => {
                assert_eq!(v["index"].as_u64(), open);
                open = None;
            }
            "message_delta" => {
                assert!(open.is_none());
                assert_eq!(i, ev.len() - 2);
            }
            "message_stop" => assert_eq!(i, ev.len() - 1),
            "error" => assert_eq!(i, ev.len() - 1),
            other => panic!("unexpected event {other}"),
        }
    }
}

#[test]
fn text_stream_is_byte_exact() {
    let (out, ended) = run(Protocol::Messages, &ctx(false, false), &text_events());
    assert!(ended);
    let expected = concat!(
        "event: message_start\n",
        r#"data: {"type":"message_start","message":{"id":"msg_test123","type":"message","role":"assistant","model":"gpt-4.1","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}}"#,
        "\n\nevent: content_block_start\n",
        r#"data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        "\n\nevent: content_block_delta\n",
        r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}"#,
        "\n\nevent: content_block_delta\n",
        r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo!"}}"#,
        "\n\nevent: content_block_stop\n",
        r#"data: {"type":"content_block_stop","index":0}"#,
        "\n\nevent: message_delta\n",
        r#"data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":19,"output_tokens":3,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}"#,
        "\n\nevent: message_stop\n",
        r#"data: {"type":"message_stop"}"#,
        "\n\n"
    );
    assert_eq!(out, expected);
}

#[test]
fn text_then_tool_follows_worked_translation_a() {
    let (out, _) = run(Protocol::Messages, &ctx(false, false), &tool_events());
    let ev = events(&out);
    check_structure(&ev);
    let data: Vec<&Value> = ev.iter().map(|(_, v)| v).collect();
    assert_eq!(
        data[4],
        &json!({"type": "content_block_start", "index": 1, "content_block":
            {"type": "tool_use", "id": "call_abc123", "name": "get_weather", "input": {}}})
    );
    assert_eq!(
        data[5]["delta"],
        json!({"type": "input_json_delta", "partial_json": "{\"location\":"})
    );
    assert_eq!(data[7], &json!({"type": "content_block_stop", "index": 1}));
    // Upstream said stop; a tool_use block was emitted, so tool_use (E16).
    assert_eq!(
        data[8],
        &json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
            "usage": {"input_tokens": 61, "output_tokens": 16, "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0}})
    );
}

#[test]
fn parallel_calls_get_contiguous_blocks_and_safe_ids() {
    let (out, _) = run(Protocol::Messages, &ctx(false, false), &parallel_events());
    let ev = events(&out);
    check_structure(&ev);
    let starts: Vec<&Value> = ev
        .iter()
        .filter(|(n, _)| n == "content_block_start")
        .map(|(_, v)| &v["content_block"])
        .collect();
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[0]["id"], "call_1");
    // E19: a Kimi-style id is rewritten to Anthropic's charset.
    let id = starts[1]["id"].as_str().unwrap();
    assert_eq!(id, crate::ids::wire_safe("functions.get_time:1"));
    assert!(
        id.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    );
}

#[test]
fn signed_reasoning_becomes_a_thinking_block() {
    let (out, _) = run(
        Protocol::Messages,
        &ctx(false, false),
        &reasoning_events(true),
    );
    let ev = events(&out);
    check_structure(&ev);
    let data: Vec<&Value> = ev.iter().map(|(_, v)| v).collect();
    assert_eq!(
        data[1]["content_block"],
        json!({"type": "thinking", "thinking": ""})
    );
    assert_eq!(
        data[2]["delta"],
        json!({"type": "thinking_delta", "thinking": "Thinking."})
    );
    assert_eq!(
        data[3]["delta"],
        json!({"type": "signature_delta", "signature": "sig=="})
    );
    assert_eq!(data[4], &json!({"type": "content_block_stop", "index": 0}));
    assert_eq!(data[5]["index"], 1);
    assert_eq!(data[5]["content_block"]["type"], "text");
    // Usage: input_tokens is uncached; cache fields split out.
    assert_eq!(
        data[data.len() - 2]["usage"],
        json!({"input_tokens": 50, "output_tokens": 30, "cache_read_input_tokens": 40,
            "cache_creation_input_tokens": 10, "output_tokens_details": {"thinking_tokens": 20}})
    );
}

#[test]
fn unsigned_reasoning_is_dropped() {
    let (out, _) = run(
        Protocol::Messages,
        &ctx(false, false),
        &reasoning_events(false),
    );
    let ev = events(&out);
    check_structure(&ev);
    // No thinking block (the usage may still count thinking tokens).
    assert!(!out.contains("\"thinking\""));
    assert!(!out.contains("Think"));
    assert_eq!(ev[1].1["index"], 0);
    assert_eq!(ev[1].1["content_block"]["type"], "text");
    // Reasoning that never gets a signature before the end is dropped too.
    let (out, _) = run(
        Protocol::Messages,
        &ctx(false, false),
        &[START, Event::Text("a"), Event::Reasoning("hmm"), Event::End],
    );
    check_structure(&events(&out));
    assert!(!out.contains("hmm"));
}

#[test]
fn invariants_and_stop_reasons_for_every_sequence() {
    for events_in in all_sequences() {
        let (out, ended) = run(Protocol::Messages, &ctx(false, false), &events_in);
        assert!(ended);
        assert!(!out.contains("[DONE]"));
        let ev = events(&out);
        check_structure(&ev);
        let called = events_in
            .iter()
            .any(|e| matches!(e, Event::ToolStart { .. }));
        let finish = events_in.iter().find_map(|e| match e {
            Event::Finish(f) => Some(*f),
            _ => None,
        });
        let stop = &ev[ev.len() - 2].1["delta"]["stop_reason"];
        let want = match finish.unwrap_or_default().settle(called) {
            Finish::Length => "max_tokens",
            Finish::ToolCalls => "tool_use",
            Finish::ContentFilter => "refusal",
            Finish::Stop | Finish::Other => "end_turn",
        };
        assert_eq!(stop, want);
    }
}

#[test]
fn usage_after_finish_reaches_message_delta() {
    let (out, _) = run(Protocol::Messages, &ctx(false, false), &length_events());
    let ev = events(&out);
    assert_eq!(ev[ev.len() - 2].1["delta"]["stop_reason"], "max_tokens");
    assert_eq!(ev[ev.len() - 2].1["usage"]["output_tokens"], 1);
    assert_eq!(ev[ev.len() - 2].1["usage"]["input_tokens"], 19);
}

#[test]
fn refusal_is_text_and_fail_is_a_named_error() {
    let out = run_fail(
        Protocol::Messages,
        &ctx(false, false),
        &[START, Event::Refusal("No.")],
        ErrorKind::Overloaded,
    );
    let ev = events(&out);
    check_structure(&ev);
    assert_eq!(
        ev[2].1["delta"],
        json!({"type": "text_delta", "text": "No."})
    );
    assert!(out.ends_with(
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"upstream exploded\"}}\n\n"
    ));
}
