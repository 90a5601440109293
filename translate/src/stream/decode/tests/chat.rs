//! Chat Completions decoder tests: vectors, tool-call tolerances (E7–E12), usage after finish (E1), errors, malformed events, cuts.

use super::*;

#[test]
fn chat_text_vector() {
    assert_eq!(
        run(Protocol::ChatCompletions, CHAT_TEXT.as_bytes()),
        [
            start("chatcmpl-test123", "gpt-4.1-2025-04-14"),
            text("Hel"),
            text("lo!"),
            Ev::Finish(Finish::Stop),
            usage(19, 3, 0, 0, 0),
            Ev::End,
        ]
    );
}

#[test]
fn chat_tool_vector() {
    assert_eq!(
        run(Protocol::ChatCompletions, CHAT_TOOL.as_bytes()),
        [
            start("chatcmpl-test456", "gpt-4.1-2025-04-14"),
            tool("call_abc123", "get_weather"),
            args("{\"location\":"),
            args("\"Paris\"}"),
            Ev::Finish(Finish::ToolCalls),
            usage(61, 16, 0, 0, 0),
            Ev::End,
        ]
    );
}

#[test]
fn chat_parallel_vector() {
    assert_eq!(
        run(Protocol::ChatCompletions, &data(&CHAT_PARALLEL)),
        [
            start("chatcmpl-test789", "gpt-4.1-2025-04-14"),
            tool("call_abc123", "get_weather"),
            args("{\"location\":"),
            args("\"Paris\"}"),
            tool("call_def456", "get_weather"),
            args("{\"location\":"),
            args("\"London\"}"),
            Ev::Finish(Finish::ToolCalls),
            usage(61, 32, 0, 0, 0),
            Ev::End,
        ]
    );
}

#[test]
fn chat_missing_index_opens_on_id_and_continues_on_args() {
    let got = chat(&[
        delta(r#"{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\"x\""}}]}"#),
        delta(r#"{"tool_calls":[{"function":{"arguments":":1}"}}]}"#),
        delta(r#"{"tool_calls":[{"id":"b","function":{"name":"g","arguments":""}}]}"#),
        delta(r#"{"tool_calls":[{"function":{"arguments":"{}"}}]}"#),
        finish_chunk("tool_calls"),
        "[DONE]".into(),
    ]);
    assert_eq!(
        got,
        [
            start("c1", "m"),
            tool("a", "f"),
            args("{\"x\""),
            args(":1}"),
            tool("b", "g"),
            args("{}"),
            Ev::Finish(Finish::ToolCalls),
            Ev::End,
        ]
    );
}

#[test]
fn chat_reused_index_with_new_id_opens_a_new_call() {
    let got = chat(&[
        delta(r#"{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}]}"#),
        delta(
            r#"{"tool_calls":[{"index":0,"id":"b","function":{"name":"f","arguments":"{\"y\":2}"}}]}"#,
        ),
        delta(r#"{"tool_calls":[{"index":0,"id":"b","function":{"arguments":""}}]}"#),
        finish_chunk("tool_calls"),
    ]);
    assert_eq!(
        got,
        [
            start("c1", "m"),
            tool("a", "f"),
            args("{}"),
            tool("b", "f"),
            args("{\"y\":2}"),
            Ev::Finish(Finish::ToolCalls),
            // EOF after a finish_reason ends the stream even without [DONE].
            Ev::End,
        ]
    );
}

#[test]
fn chat_empty_name_is_no_name_and_args_before_name_are_held() {
    let got = chat(&[
        delta(
            r#"{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"","arguments":"{\"q\""}}]}"#,
        ),
        delta(r#"{"tool_calls":[{"index":0,"function":{"arguments":":"}}]}"#),
        delta(r#"{"tool_calls":[{"index":0,"function":{"name":"search","arguments":"\"x\""}}]}"#),
        delta(r#"{"tool_calls":[{"index":0,"id":"a","function":{"name":"","arguments":"}"}}]}"#),
        finish_chunk("stop"),
        "[DONE]".into(),
    ]);
    assert_eq!(
        got,
        [
            start("c1", "m"),
            tool("a", "search"),
            args("{\"q\":\"x\""),
            args("}"),
            Ev::Finish(Finish::Stop),
            Ev::End,
        ]
    );
}

#[test]
fn chat_synthesizes_missing_call_ids() {
    let got = chat(&[
        delta(r#"{"tool_calls":[{"index":0,"function":{"name":"f","arguments":"{}"}}]}"#),
        delta(r#"{"tool_calls":[{"index":1,"function":{"name":"g","arguments":"{}"}}]}"#),
        finish_chunk("tool_calls"),
        "[DONE]".into(),
    ]);
    assert_eq!(
        got,
        [
            start("c1", "m"),
            tool(&synthesized(0), "f"),
            args("{}"),
            tool(&synthesized(1), "g"),
            args("{}"),
            Ev::Finish(Finish::ToolCalls),
            Ev::End,
        ]
    );
    assert_ne!(synthesized(0), synthesized(1));
}

#[test]
fn chat_empty_tool_calls_and_combined_chunks() {
    let got = chat(&[
        delta(r#"{"content":"Hi","tool_calls":[]}"#),
        chunk(
            r#"{"index":0,"delta":{"content":"Let me check.","tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}"#,
        ),
        "[DONE]".into(),
    ]);
    assert_eq!(
        got,
        [
            start("c1", "m"),
            text("Hi"),
            text("Let me check."),
            tool("a", "f"),
            args("{}"),
            Ev::Finish(Finish::ToolCalls),
            Ev::End,
        ]
    );
}

#[test]
fn chat_null_and_empty_choices_and_usage_placements() {
    let got = chat(&[
        r#"{"id":"c1","model":"m","choices":null}"#.into(),
        r#"{"id":"c1","model":"m","choices":[]}"#.into(),
        delta(r#"{"content":"x"}"#),
        // Usage on the finish chunk itself, then again (final) on a `choices:[{delta:{}}]` chunk.
        r#"{"id":"c1","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}"#.into(),
        r#"{"id":"c1","model":"m","choices":[{"index":0,"delta":{}}],"usage":{"prompt_tokens":10,"completion_tokens":6,"total_tokens":16,"prompt_tokens_details":{"cached_tokens":4,"cache_write_tokens":2},"completion_tokens_details":{"reasoning_tokens":3}}}"#.into(),
        "[DONE]".into(),
    ]);
    assert_eq!(
        got,
        [
            start("c1", "m"),
            text("x"),
            Ev::Finish(Finish::Length),
            usage(10, 5, 0, 0, 0),
            usage(10, 6, 4, 2, 3),
            Ev::End,
        ]
    );
}

#[test]
fn chat_usage_after_finish_then_eof_without_done() {
    let got = chat(&[
        delta(r#"{"content":"x"}"#),
        finish_chunk("content_filter"),
        r#"{"id":"c1","model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#
            .into(),
    ]);
    assert_eq!(
        got,
        [
            start("c1", "m"),
            text("x"),
            Ev::Finish(Finish::ContentFilter),
            usage(3, 1, 0, 0, 0),
            Ev::End,
        ]
    );
}

#[test]
fn chat_reasoning_and_refusal_deltas() {
    let got = chat(&[
        delta(r#"{"reasoning_content":"think","content":null}"#),
        delta(r#"{"reasoning":"more"}"#),
        delta(r#"{"reasoning_content":"both","reasoning":"both"}"#),
        delta(r#"{"refusal":"no"}"#),
        delta(r#"{"content":"","refusal":null}"#),
        finish_chunk("weird"),
        "[DONE]".into(),
    ]);
    assert_eq!(
        got,
        [
            start("c1", "m"),
            Ev::Reasoning("think".into()),
            Ev::Reasoning("more".into()),
            Ev::Reasoning("both".into()),
            Ev::Refusal("no".into()),
            Ev::Finish(Finish::Other),
            Ev::End,
        ]
    );
}

#[test]
fn chat_interleaved_arguments_are_put_in_order() {
    // docs/protocols.md#chat-upstream-messages-caller: call 1 starts while call 0's JSON is open,
    // so it is held with its fragments and released once call 0 closes.
    let got = chat(&[
        delta(
            r#"{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{\"x\":"}}]}"#,
        ),
        delta(
            r#"{"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{\"y\":"}}]}"#,
        ),
        delta(r#"{"tool_calls":[{"index":1,"function":{"arguments":"2}"}}]}"#),
        delta(r#"{"tool_calls":[{"index":0,"function":{"arguments":"\"}{\""}}]}"#),
        delta(r#"{"tool_calls":[{"index":0,"function":{"arguments":"}"}}]}"#),
        delta(r#"{"tool_calls":[{"index":2,"id":"c","function":{"name":"h","arguments":"{}"}}]}"#),
        finish_chunk("tool_calls"),
        "[DONE]".into(),
    ]);
    assert_eq!(
        got,
        [
            start("c1", "m"),
            tool("a", "f"),
            args("{\"x\":"),
            args("\"}{\""),
            args("}"),
            tool("b", "g"),
            args("{\"y\":2}"),
            tool("c", "h"),
            args("{}"),
            Ev::Finish(Finish::ToolCalls),
            Ev::End,
        ]
    );
    // A call still held at the finish is released then, even if the one before never closed.
    let got = chat(&[
        delta(r#"{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{"}}]}"#),
        delta(r#"{"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{}"}}]}"#),
        finish_chunk("length"),
        "[DONE]".into(),
    ]);
    assert_eq!(
        got,
        [
            start("c1", "m"),
            tool("a", "f"),
            args("{"),
            tool("b", "g"),
            args("{}"),
            Ev::Finish(Finish::Length),
            Ev::End,
        ]
    );
    // Arguments for a call whose JSON had already closed cannot be placed: an error.
    let got = chat(&[
        delta(r#"{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}]}"#),
        delta(r#"{"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{"}}]}"#),
        delta(r#"{"tool_calls":[{"index":0,"function":{"arguments":" "}}]}"#),
    ]);
    assert_eq!(
        got.last().map(|e| matches!(e, Ev::Error(..))),
        Some(true),
        "{got:?}"
    );
}

#[test]
fn chat_error_events() {
    assert_eq!(
        run(
            Protocol::ChatCompletions,
            &data(&[*CHAT_TEXT_ROLE, *CHAT_STREAM_ERROR])
        ),
        [
            start("chatcmpl-test123", "gpt-4.1-2025-04-14"),
            Ev::Error(ErrorKind::Server, "upstream exploded".into()),
        ]
    );
    let got = run(
        Protocol::ChatCompletions,
        &data(&[r#"{"error":{"message":"slow down","type":null,"code":"rate_limit_exceeded"}}"#]),
    );
    assert_eq!(got, [Ev::Error(ErrorKind::RateLimited, "slow down".into())]);
    let got = run(
        Protocol::ChatCompletions,
        &data(&[r#"{"error":{"message":"huh","type":"mystery"}}"#]),
    );
    assert_eq!(got, [Ev::Error(ErrorKind::Server, "huh".into())]);
}

#[test]
fn chat_malformed_events() {
    for bad in [
        "{not json",
        "[1,2]",
        "\"text\"",
        r#"{"id":"c","choices":5}"#,
        r#"{"id":"c","choices":[{"index":0,"delta":{"content":5}}]}"#,
        r#"{"id":"c","choices":[{"index":0,"delta":{"tool_calls":{}}}]}"#,
        r#"{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":1}]}"#,
    ] {
        let got = run(Protocol::ChatCompletions, &data(&[bad]));
        assert_eq!(got.last(), Some(&Ev::Malformed), "{bad}: {got:?}");
    }
}

#[test]
fn chat_eof_without_finish_is_a_cut() {
    let got = chat(&[delta(r#"{"content":"Hel"}"#)]);
    assert_eq!(got, [start("c1", "m"), text("Hel")]);
    assert_eq!(run(Protocol::ChatCompletions, b""), []);
}

#[test]
fn chat_ignores_other_choices_and_events_after_done() {
    let got = chat(&[
        chunk(r#"{"index":1,"delta":{"content":"other"}}"#),
        delta(r#"{"content":"mine"}"#),
        finish_chunk("stop"),
        "[DONE]".into(),
        delta(r#"{"content":"late"}"#),
    ]);
    assert_eq!(
        got,
        [
            start("c1", "m"),
            text("mine"),
            Ev::Finish(Finish::Stop),
            Ev::End
        ]
    );
}
