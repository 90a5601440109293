//! Decoder tests: the §4 stream vectors (and the mock's parallel-call streams) through each
//! decoder, every tolerance case, errors, malformed events, end-of-body behaviour, and the
//! same events whatever the byte boundaries of the raw SSE input.

mod vectors;

use bytes::Bytes;
use compiler::table::Protocol;
use proptest::prelude::*;

use super::{Decoder, INTERLEAVED};
use crate::ids;
use crate::ir::{ErrorKind, Finish, Usage};
use crate::json::Scratch;
use crate::sse;
use crate::stream::{Ctx, Event};
use vectors::*;

/// An owned mirror of [`Event`], plus a marker for an event the decoder refused.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    Start(String, String),
    Text(String),
    Reasoning(String),
    Sig(String),
    Refusal(String),
    Tool(String, String),
    Args(String),
    Usage(Usage),
    Finish(Finish),
    End,
    Error(ErrorKind, String),
    Malformed,
}

impl From<Event<'_>> for Ev {
    fn from(e: Event<'_>) -> Ev {
        match e {
            Event::Start { id, model } => Ev::Start(id.into(), model.into()),
            Event::Text(t) => Ev::Text(t.into()),
            Event::Reasoning(t) => Ev::Reasoning(t.into()),
            Event::ReasoningSignature(t) => Ev::Sig(t.into()),
            Event::Refusal(t) => Ev::Refusal(t.into()),
            Event::ToolStart { id, name } => Ev::Tool(id.into(), name.into()),
            Event::ToolArgs(t) => Ev::Args(t.into()),
            Event::Usage(u) => Ev::Usage(u),
            Event::Finish(f) => Ev::Finish(f),
            Event::End => Ev::End,
            Event::Error { kind, message } => Ev::Error(kind, message.into()),
        }
    }
}

const SEED: u64 = 7;

fn ctx() -> Ctx<'static> {
    Ctx {
        model: "caller-model",
        include_usage: true,
        json_array: false,
        created: 0,
        seed: SEED,
    }
}

/// Feeds `chunks` (raw SSE bytes, cut anywhere) through a fresh decoder, then end of body.
fn run_chunks(p: Protocol, chunks: &[&[u8]]) -> Vec<Ev> {
    let mut d = Decoder::new(p, &ctx());
    let mut scratch = Scratch::new();
    let mut split = sse::Splitter::default();
    let mut out = Vec::new();
    let mut join = Vec::new();
    let mut feed = |raw: &[u8], d: &mut Decoder, out: &mut Vec<Ev>| {
        let f = sse::fields(raw);
        if let Some(data) = f.data(&mut join) {
            let r = d.event(f.event, data, &mut scratch, &mut |e| out.push(e.into()));
            if r.is_err() {
                out.push(Ev::Malformed);
            }
        }
    };
    for c in chunks {
        split.push(Bytes::copy_from_slice(c));
        while let Some(e) = split.next_event().unwrap() {
            feed(&e, &mut d, &mut out);
        }
    }
    if let Some(e) = split.finish() {
        feed(&e, &mut d, &mut out);
    }
    d.eof(&mut |e| out.push(e.into()));
    out
}

fn run(p: Protocol, wire: &[u8]) -> Vec<Ev> {
    run_chunks(p, &[wire])
}

/// `data: …` events (Chat, Gemini).
fn data(events: &[&str]) -> Vec<u8> {
    events
        .iter()
        .flat_map(|e| format!("data: {e}\n\n").into_bytes())
        .collect()
}

/// `event: TYPE` + `data: …` events (Responses, Messages), the name read from `"type"`.
fn named(events: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        let v: serde_json::Value = serde_json::from_str(e).unwrap();
        let name = v["type"].as_str().unwrap();
        out.extend_from_slice(format!("event: {name}\ndata: {e}\n\n").as_bytes());
    }
    out
}

fn start(id: &str, model: &str) -> Ev {
    Ev::Start(id.into(), model.into())
}
fn text(t: &str) -> Ev {
    Ev::Text(t.into())
}
fn tool(id: &str, name: &str) -> Ev {
    Ev::Tool(id.into(), name.into())
}
fn args(t: &str) -> Ev {
    Ev::Args(t.into())
}
fn usage(input: u64, output: u64, cache_read: u64, cache_write: u64, reasoning: u64) -> Ev {
    Ev::Usage(Usage {
        input,
        output,
        cache_read,
        cache_write,
        reasoning,
    })
}
fn synthesized(n: u64) -> String {
    let mut s = String::new();
    ids::synthesize("call_", SEED, n, &mut s);
    s
}

/// Chat chunk around a `choices[0]` object (`"usage":null` like an include_usage stream).
fn chunk(choice: &str) -> String {
    format!(
        r#"{{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{choice}],"usage":null}}"#
    )
}
fn delta(d: &str) -> String {
    chunk(&format!(
        r#"{{"index":0,"delta":{d},"logprobs":null,"finish_reason":null}}"#
    ))
}
fn finish_chunk(reason: &str) -> String {
    chunk(&format!(
        r#"{{"index":0,"delta":{{}},"logprobs":null,"finish_reason":"{reason}"}}"#
    ))
}

fn chat(events: &[String]) -> Vec<Ev> {
    let refs: Vec<&str> = events.iter().map(String::as_str).collect();
    run(Protocol::ChatCompletions, &data(&refs))
}

// ---------------------------------------------------------------- chat completions

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
fn chat_interleaved_arguments_are_an_error() {
    let got = chat(&[
        delta(r#"{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{"}}]}"#),
        delta(r#"{"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{"}}]}"#),
        delta(r#"{"tool_calls":[{"index":0,"function":{"arguments":"}"}}]}"#),
        delta(r#"{"content":"ignored"}"#),
        "[DONE]".into(),
    ]);
    assert_eq!(
        got,
        [
            start("c1", "m"),
            tool("a", "f"),
            args("{"),
            tool("b", "g"),
            args("{"),
            Ev::Error(ErrorKind::Server, INTERLEAVED.into()),
        ]
    );
    assert!(INTERLEAVED.starts_with("interleaved tool-call arguments"));
}

#[test]
fn chat_error_events() {
    assert_eq!(
        run(
            Protocol::ChatCompletions,
            &data(&[CHAT_TEXT_ROLE, CHAT_STREAM_ERROR])
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

// ---------------------------------------------------------------- messages

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

// ---------------------------------------------------------------- any byte boundaries

/// The wires whose decoding must not depend on how the bytes were cut.
fn wires() -> Vec<(Protocol, Vec<u8>)> {
    vec![
        (Protocol::ChatCompletions, CHAT_TEXT.as_bytes().to_vec()),
        (Protocol::ChatCompletions, CHAT_TOOL.as_bytes().to_vec()),
        (Protocol::Messages, MESSAGES_TOOL.as_bytes().to_vec()),
    ]
}

/// CRLF line ends, comments between events, and (on named wires) unknown event types.
fn noisy(p: Protocol, wire: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(wire).unwrap();
    let mut out = String::new();
    for ev in text.split("\n\n").filter(|e| !e.is_empty()) {
        out.push_str(": keep-alive\r\n\r\n");
        if matches!(p, Protocol::Messages | Protocol::Responses) {
            out.push_str("event: vendor.unknown\r\ndata: {\"type\":\"vendor.unknown\"}\r\n\r\n");
        }
        out.push_str(&ev.replace('\n', "\r\n"));
        out.push_str("\r\n\r\n");
    }
    out.into_bytes()
}

#[test]
fn every_single_cut_gives_the_same_events() {
    for (p, wire) in wires() {
        let whole = run(p, &wire);
        assert!(whole.contains(&Ev::End), "{p:?}");
        for i in 0..=wire.len() {
            assert_eq!(
                run_chunks(p, &[&wire[..i], &wire[i..]]),
                whole,
                "{p:?} cut {i}"
            );
        }
        let noisy = noisy(p, &wire);
        assert_eq!(run(p, &noisy), whole, "{p:?} noisy");
    }
}

proptest! {
    #[test]
    fn random_cuts_crlf_and_noise_give_the_same_events(
        which in 0usize..3,
        noise in any::<bool>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let (p, wire) = wires().swap_remove(which % wires().len());
        let whole = run(p, &wire);
        let wire = if noise { noisy(p, &wire) } else { wire };
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (wire.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut last = 0;
        for c in cuts {
            chunks.push(&wire[last..c]);
            last = c;
        }
        chunks.push(&wire[last..]);
        prop_assert_eq!(run_chunks(p, &chunks), whole);
    }
}
