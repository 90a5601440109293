//! Responses decoder tests: vectors, `call_id` vs item id, arguments from `.done` events
//! (E10), terminal events and their usage (E6), failures, unknown events, cuts (E5).

use super::*;

/// The tool vector's `response.created` … `response.in_progress`, then `items`, then its
/// `response.completed`.
fn around(items: &[&str]) -> Vec<u8> {
    let tool: Vec<&str> = RESPONSES_TOOL
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .collect();
    let mut out = Vec::new();
    for e in &tool[..2] {
        out.extend_from_slice(format!("{e}\n\n").as_bytes());
    }
    out.extend_from_slice(&named(items));
    out.extend_from_slice(format!("{}\n\n", tool[tool.len() - 1]).as_bytes());
    out
}

const ADDED: &str = r#"{"type":"response.output_item.added","output_index":0,"item":{"id":"fc_1","type":"function_call","status":"in_progress","call_id":"call_1","name":"f","arguments":""}}"#;

fn head() -> [Ev; 1] {
    [start("resp_test456", "gpt-4.1-2025-04-14")]
}
fn tail() -> [Ev; 3] {
    [usage(61, 16, 0, 0, 0), Ev::Finish(Finish::Stop), Ev::End]
}

#[test]
fn responses_text_vector() {
    assert_eq!(
        run(Protocol::Responses, RESPONSES_TEXT.as_bytes()),
        [
            start("resp_test123", "gpt-4.1-2025-04-14"),
            text("Hel"),
            text("lo!"),
            usage(19, 3, 0, 0, 0),
            Ev::Finish(Finish::Stop),
            Ev::End,
        ]
    );
}

#[test]
fn responses_tool_vector_uses_the_call_id() {
    assert_eq!(
        run(Protocol::Responses, RESPONSES_TOOL.as_bytes()),
        [
            head()[0].clone(),
            tool("call_abc123", "get_weather"),
            args("{\"location\":"),
            args("\"Paris\"}"),
            usage(61, 16, 0, 0, 0),
            Ev::Finish(Finish::Stop),
            Ev::End,
        ]
    );
}

#[test]
fn responses_parallel_vector() {
    let got = run(Protocol::Responses, &around(&RESPONSES_PARALLEL_ITEMS));
    let mut want = head().to_vec();
    want.extend([
        tool("call_abc123", "get_weather"),
        args("{\"location\":"),
        args("\"Paris\"}"),
        tool("call_def456", "get_weather"),
        args("{\"location\":"),
        args("\"London\"}"),
    ]);
    want.extend(tail());
    assert_eq!(got, want);
}

#[test]
fn responses_arguments_only_on_done_events() {
    // Only on function_call_arguments.done.
    let got = run(
        Protocol::Responses,
        &around(&[
            ADDED,
            r#"{"type":"response.function_call_arguments.done","item_id":"fc_1","arguments":"{\"a\":1}"}"#,
            r#"{"type":"response.output_item.done","item":{"id":"fc_1","type":"function_call","call_id":"call_1","name":"f","arguments":"{\"a\":1}"}}"#,
        ]),
    );
    let mut want = head().to_vec();
    want.extend([tool("call_1", "f"), args("{\"a\":1}")]);
    want.extend(tail());
    assert_eq!(got, want);
    // Only on output_item.done.
    let got = run(
        Protocol::Responses,
        &around(&[
            ADDED,
            r#"{"type":"response.output_item.done","item":{"id":"fc_1","type":"function_call","call_id":"call_1","name":"f","arguments":"{\"b\":2}"}}"#,
        ]),
    );
    assert_eq!(got[1..3], [tool("call_1", "f"), args("{\"b\":2}")]);
    // Never announced, whole in output_item.done; no call_id: one is made up.
    let got = run(
        Protocol::Responses,
        &around(&[
            r#"{"type":"response.output_item.done","item":{"id":"fc_9","type":"function_call","name":"g","arguments":"{}"}}"#,
        ]),
    );
    assert_eq!(got[1..3], [tool(&synthesized(0), "g"), args("{}")]);
}

#[test]
fn responses_reasoning_refusal_and_unknown_events() {
    let got = run(
        Protocol::Responses,
        &around(&[
            r#"{"type":"response.reasoning_summary_text.delta","item_id":"rs_1","delta":"plan"}"#,
            r#"{"type":"response.reasoning_text.delta","item_id":"rs_1","delta":"raw"}"#,
            r#"{"type":"response.refusal.delta","item_id":"m","delta":"no"}"#,
            r#"{"type":"response.output_text.delta","item_id":"m","delta":""}"#,
            r#"{"type":"response.web_search_call.searching","item_id":"ws"}"#,
            r#"{"type":"response.brand_new_event","x":{}}"#,
        ]),
    );
    let mut want = head().to_vec();
    want.extend([
        Ev::Reasoning("plan".into()),
        Ev::Reasoning("raw".into()),
        Ev::Refusal("no".into()),
    ]);
    want.extend(tail());
    assert_eq!(got, want);
}

#[test]
fn responses_incomplete_terminals() {
    for (reason, finish) in [
        ("max_output_tokens", Finish::Length),
        ("content_filter", Finish::ContentFilter),
    ] {
        let wire = format!(
            "event: response.created\ndata: {{\"type\":\"response.created\",\"response\":{{\"id\":\"r1\",\"model\":\"m\"}}}}\n\n\
event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"delta\":\"x\"}}\n\n\
event: response.incomplete\ndata: {{\"type\":\"response.incomplete\",\"response\":{{\"id\":\"r1\",\"status\":\"incomplete\",\"incomplete_details\":{{\"reason\":\"{reason}\"}},\"usage\":{{\"input_tokens\":9,\"input_tokens_details\":{{\"cached_tokens\":4,\"cache_write_tokens\":1}},\"output_tokens\":5,\"output_tokens_details\":{{\"reasoning_tokens\":2}}}}}}}}\n\n"
        );
        assert_eq!(
            run(Protocol::Responses, wire.as_bytes()),
            [
                start("r1", "m"),
                text("x"),
                usage(9, 5, 4, 1, 2),
                Ev::Finish(finish),
                Ev::End
            ],
            "{reason}"
        );
    }
}

#[test]
fn responses_failures() {
    let tool: Vec<&str> = RESPONSES_TOOL.split("\n\n").collect();
    let mut wire = format!("{}\n\n", tool[0]);
    wire.push_str(RESPONSES_STREAM_ERROR);
    assert_eq!(
        run(Protocol::Responses, wire.as_bytes()),
        [
            head()[0].clone(),
            Ev::Error(
                ErrorKind::Server,
                "The server had an error while processing your request.".into()
            ),
        ]
    );
    let failed = r#"{"type":"response.failed","response":{"id":"r","status":"failed","error":{"code":"rate_limit_exceeded","message":"slow"}}}"#;
    assert_eq!(
        run(Protocol::Responses, &named(&[failed])),
        [Ev::Error(ErrorKind::RateLimited, "slow".into())]
    );
    let failed =
        r#"{"type":"response.failed","response":{"id":"r","status":"failed","error":null}}"#;
    assert_eq!(
        run(Protocol::Responses, &named(&[failed])),
        [Ev::Error(
            ErrorKind::Server,
            "the upstream response failed".into()
        )]
    );
}

#[test]
fn responses_interleaved_arguments_are_an_error() {
    let got = run(
        Protocol::Responses,
        &around(&[
            ADDED,
            r#"{"type":"response.output_item.added","output_index":1,"item":{"id":"fc_2","type":"function_call","call_id":"call_2","name":"g","arguments":""}}"#,
            r#"{"type":"response.function_call_arguments.delta","item_id":"fc_1","delta":"{}"}"#,
        ]),
    );
    let mut want = head().to_vec();
    want.extend([
        tool("call_1", "f"),
        tool("call_2", "g"),
        Ev::Error(ErrorKind::Server, INTERLEAVED.into()),
    ]);
    assert_eq!(got, want);
}

#[test]
fn responses_type_falls_back_on_the_event_name() {
    let wire = b"event: response.created\ndata: {\"response\":{\"id\":\"r1\",\"model\":\"m\"}}\n\n\
event: response.output_text.delta\ndata: {\"delta\":\"hi\"}\n\n\
event: response.completed\ndata: {\"response\":{\"id\":\"r1\",\"usage\":null}}\n\n";
    assert_eq!(
        run(Protocol::Responses, wire),
        [
            start("r1", "m"),
            text("hi"),
            Ev::Finish(Finish::Stop),
            Ev::End
        ]
    );
}

#[test]
fn responses_malformed_and_cut() {
    for bad in [
        "event: response.created\ndata: {not json\n\n",
        "data: {\"delta\":\"x\"}\n\n",
        "data: [1]\n\n",
        "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\"}\n\n",
        "event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n",
    ] {
        let got = run(Protocol::Responses, bad.as_bytes());
        assert_eq!(got.last(), Some(&Ev::Malformed), "{bad}: {got:?}");
    }
    // No terminal event before the body ended: nothing at EOF.
    let events: Vec<&str> = RESPONSES_TEXT
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .collect();
    let cut = events[..events.len() - 1].join("\n\n") + "\n\n";
    let got = run(Protocol::Responses, cut.as_bytes());
    assert_eq!(
        got,
        [
            start("resp_test123", "gpt-4.1-2025-04-14"),
            text("Hel"),
            text("lo!")
        ]
    );
}
