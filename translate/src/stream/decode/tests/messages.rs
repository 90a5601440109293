//! Anthropic Messages decoder tests: vectors, cumulative usage (E3), thinking and signatures, stop reasons, dispatch, errors, cuts.

use super::*;

#[test]
fn messages_text_vector() {
    assert_eq!(
        run(Protocol::Messages, MESSAGES_TEXT.as_bytes()),
        [
            start("msg_01TestText", "claude-sonnet-4-5-20250929"),
            usage(12, 1, 0, 0, 0),
            text("Hel"),
            text("lo!"),
            Ev::Finish(Finish::Stop),
            usage(12, 5, 0, 0, 0),
            Ev::End,
        ]
    );
}

#[test]
fn messages_tool_vector() {
    assert_eq!(
        run(Protocol::Messages, MESSAGES_TOOL.as_bytes()),
        [
            start("msg_01TestTool", "claude-sonnet-4-5-20250929"),
            usage(380, 1, 0, 0, 0),
            text("I'll check the weather."),
            tool("toolu_01TestCall", "get_weather"),
            args("{\"location\":"),
            args(" \"Paris\"}"),
            Ev::Finish(Finish::ToolCalls),
            usage(380, 52, 0, 0, 0),
            Ev::End,
        ]
    );
}

#[test]
fn messages_parallel_vector() {
    assert_eq!(
        run(Protocol::Messages, &named(&MESSAGES_PARALLEL)),
        [
            start("msg_01TestPar", "claude-sonnet-4-5-20250929"),
            usage(380, 1, 0, 0, 0),
            text("I'll check the weather."),
            tool("toolu_01TestCall", "get_weather"),
            args("{\"location\":"),
            args(" \"Paris\"}"),
            tool("toolu_01TestCall2", "get_weather"),
            args("{\"location\":"),
            args(" \"London\"}"),
            Ev::Finish(Finish::ToolCalls),
            usage(380, 80, 0, 0, 0),
            Ev::End,
        ]
    );
}

#[test]
fn messages_usage_is_assigned_not_added_and_inclusive() {
    let got = run(
        Protocol::Messages,
        &named(&[
            r#"{"type":"message_start","message":{"id":"m1","model":"c","usage":{"input_tokens":10,"cache_read_input_tokens":5,"cache_creation_input_tokens":3,"output_tokens":1}}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":7}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":9,"input_tokens":12,"output_tokens_details":{"thinking_tokens":4}}}"#,
            r#"{"type":"message_stop"}"#,
        ]),
    );
    assert_eq!(
        got,
        [
            start("m1", "c"),
            usage(18, 1, 5, 3, 0),
            usage(18, 7, 5, 3, 0),
            Ev::Finish(Finish::Length),
            usage(20, 9, 5, 3, 4),
            Ev::End,
        ]
    );
}

#[test]
fn messages_thinking_signature_and_stop_reasons() {
    for (reason, finish) in [
        ("end_turn", Finish::Stop),
        ("stop_sequence", Finish::Stop),
        ("max_tokens", Finish::Length),
        ("model_context_window_exceeded", Finish::Length),
        ("tool_use", Finish::ToolCalls),
        ("refusal", Finish::ContentFilter),
        ("pause_turn", Finish::Other),
    ] {
        let md = format!(
            r#"{{"type":"message_delta","delta":{{"stop_reason":"{reason}"}},"usage":{{"output_tokens":2}}}}"#
        );
        let got = run(
            Protocol::Messages,
            &named(&[
                r#"{"type":"message_start","message":{"id":"m1","model":"c","usage":{"input_tokens":1,"output_tokens":0}}}"#,
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}"#,
                r#"{"type":"content_block_stop","index":0}"#,
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"xx"}}"#,
                r#"{"type":"content_block_stop","index":1}"#,
                &md,
                r#"{"type":"message_stop"}"#,
            ]),
        );
        assert_eq!(
            got,
            [
                start("m1", "c"),
                usage(1, 0, 0, 0, 0),
                Ev::Reasoning("hmm".into()),
                Ev::Sig("sig".into()),
                Ev::Finish(finish),
                usage(1, 2, 0, 0, 0),
                Ev::End,
            ],
            "{reason}"
        );
    }
}

#[test]
fn messages_dispatch_falls_back_on_type_and_ignores_unknown_events() {
    let wire = b"data: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"model\":\"c\"}}\n\n\
event: ping\ndata: {\"type\":\"ping\"}\n\n\
event: brand_new\ndata: {\"type\":\"brand_new\",\"x\":1}\n\n\
data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"citations_delta\",\"citation\":{}}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"ok\"}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    assert_eq!(
        run(Protocol::Messages, wire),
        [
            start("m1", "c"),
            text("ok"),
            Ev::Finish(Finish::Stop),
            Ev::End
        ]
    );
}

#[test]
fn messages_error_event() {
    let mut wire = named(&[MESSAGES_PARALLEL[0], MESSAGES_PARALLEL[2]]);
    wire.extend_from_slice(MESSAGES_STREAM_ERROR.as_bytes());
    assert_eq!(
        run(Protocol::Messages, &wire),
        [
            start("msg_01TestPar", "claude-sonnet-4-5-20250929"),
            usage(380, 1, 0, 0, 0),
            Ev::Error(ErrorKind::Overloaded, "Overloaded".into()),
        ]
    );
}

#[test]
fn messages_malformed_and_eof() {
    for bad in [
        "event: message_start\ndata: {not json\n\n",
        "event: message_start\ndata: [1]\n\n",
        "event: message_start\ndata: {\"type\":\"message_start\"}\n\n",
        "data: {\"no\":\"type\"}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n",
    ] {
        let got = run(Protocol::Messages, bad.as_bytes());
        assert_eq!(got.last(), Some(&Ev::Malformed), "{bad}: {got:?}");
    }
    // No message_stop: nothing at EOF (the translator reports a cut), even after message_delta.
    let got = run(Protocol::Messages, &named(&MESSAGES_PARALLEL[..16]));
    assert_eq!(got.last(), Some(&usage(380, 80, 0, 0, 0)));
    assert!(!got.contains(&Ev::End));
}

#[test]
fn messages_tool_args_skip_empty_fragments() {
    let got = run(Protocol::Messages, &named(&MESSAGES_PARALLEL[..8]));
    assert_eq!(
        got[3..],
        [
            tool("toolu_01TestCall", "get_weather"),
            args("{\"location\":")
        ]
    );
}

#[test]
fn messages_tool_without_id_gets_one() {
    let got = run(
        Protocol::Messages,
        &named(&[
            r#"{"type":"message_start","message":{"id":"m1","model":"c"}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"","name":"f","input":{}}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{}"}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":3}}"#,
            r#"{"type":"message_stop"}"#,
        ]),
    );
    assert_eq!(
        got,
        [
            start("m1", "c"),
            tool(&synthesized(0), "f"),
            args("{}"),
            Ev::Finish(Finish::ToolCalls),
            usage(0, 3, 0, 0, 0),
            Ev::End,
        ]
    );
}
