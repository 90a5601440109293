//! Stream encoder tests: exact bytes for the reference shapes, structural invariants for every
//! protocol over a set of IR event sequences.

use bytes::BytesMut;
use compiler::table::Protocol;
use serde_json::{Value, json};

use super::Encoder;
use crate::ir::{ErrorKind, Finish, Usage};
use crate::stream::{Ctx, Event};

const CREATED: u64 = 1_767_225_600;

fn ctx(include_usage: bool, json_array: bool) -> Ctx<'static> {
    Ctx {
        model: "gpt-4.1",
        include_usage,
        json_array,
        created: CREATED,
        seed: 7,
    }
}

/// Feeds `events` to a new encoder; returns its output and whether it ended.
fn run(caller: Protocol, ctx: &Ctx<'_>, events: &[Event<'_>]) -> (String, bool) {
    let mut e = Encoder::new(caller, ctx);
    let mut out = BytesMut::new();
    for ev in events {
        e.event(ev, &mut out);
    }
    (String::from_utf8(out.to_vec()).unwrap(), e.ended())
}

/// Like [`run`], then `fail`s.
fn run_fail(caller: Protocol, ctx: &Ctx<'_>, events: &[Event<'_>], kind: ErrorKind) -> String {
    let mut e = Encoder::new(caller, ctx);
    let mut out = BytesMut::new();
    for ev in events {
        e.event(ev, &mut out);
    }
    e.fail(kind, "upstream exploded", &mut out);
    assert!(e.ended());
    // Nothing after the terminal frame.
    let len = out.len();
    e.event(&Event::Text("late"), &mut out);
    e.event(&Event::End, &mut out);
    e.fail(kind, "again", &mut out);
    assert_eq!(out.len(), len);
    String::from_utf8(out.to_vec()).unwrap()
}

/// SSE frames as (event name, data); every frame must end with a blank line.
fn frames(s: &str) -> Vec<(Option<String>, String)> {
    assert!(s.ends_with("\n\n"), "unterminated: {s:?}");
    s[..s.len() - 2]
        .split("\n\n")
        .map(|f| {
            let mut name = None;
            let mut data = None;
            for line in f.split('\n') {
                if let Some(n) = line.strip_prefix("event: ") {
                    assert!(name.is_none(), "two event lines: {f:?}");
                    name = Some(n.to_owned());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    assert!(data.is_none(), "two data lines: {f:?}");
                    data = Some(d.to_owned());
                } else {
                    panic!("unexpected line {line:?} in {f:?}");
                }
            }
            (name, data.unwrap())
        })
        .collect()
}

fn parse(d: &str) -> Value {
    serde_json::from_str(d).unwrap_or_else(|e| panic!("{e}: {d}"))
}

const START: Event<'static> = Event::Start {
    id: "test123",
    model: "gpt-4.1-2025-04-14",
};

fn usage(input: u64, output: u64) -> Usage {
    Usage {
        input,
        output,
        ..Usage::default()
    }
}

fn text_events() -> Vec<Event<'static>> {
    vec![
        START,
        Event::Text("Hel"),
        Event::Text("lo!"),
        Event::Finish(Finish::Stop),
        Event::Usage(usage(19, 3)),
        Event::End,
    ]
}

fn tool_events() -> Vec<Event<'static>> {
    vec![
        START,
        Event::Text("Let me check."),
        Event::ToolStart {
            id: "call_abc123",
            name: "get_weather",
            namespace: None,
        },
        Event::ToolArgs("{\"location\":"),
        Event::ToolArgs("\"Paris\"}"),
        // The upstream said `stop` on a tool turn: the latch makes it tool_calls (E16).
        Event::Finish(Finish::Stop),
        Event::Usage(usage(61, 16)),
        Event::End,
    ]
}

fn parallel_events() -> Vec<Event<'static>> {
    vec![
        START,
        Event::ToolStart {
            id: "call_1",
            name: "get_weather",
            namespace: None,
        },
        Event::ToolArgs("{\"location\":\"Paris\"}"),
        Event::ToolStart {
            id: "functions.get_time:1",
            name: "get_time",
            namespace: None,
        },
        Event::ToolArgs("{\"tz\":"),
        Event::ToolArgs("\"CET\"}"),
        Event::Finish(Finish::ToolCalls),
        Event::End,
    ]
}

fn reasoning_events(signed: bool) -> Vec<Event<'static>> {
    let mut v = vec![START, Event::Reasoning("Think"), Event::Reasoning("ing.")];
    if signed {
        v.push(Event::ReasoningSignature("sig=="));
    }
    v.extend([
        Event::Text("Done."),
        Event::Usage(Usage {
            input: 100,
            output: 30,
            cache_read: 40,
            cache_write: 10,
            reasoning: 20,
        }),
        Event::Finish(Finish::Stop),
        Event::End,
    ]);
    v
}

fn length_events() -> Vec<Event<'static>> {
    vec![
        START,
        Event::Text("Hel"),
        Event::Finish(Finish::Length),
        Event::Usage(usage(19, 1)),
        Event::End,
    ]
}

/// Every sequence the invariant tests run.
fn all_sequences() -> Vec<Vec<Event<'static>>> {
    vec![
        text_events(),
        tool_events(),
        parallel_events(),
        reasoning_events(true),
        reasoning_events(false),
        length_events(),
        vec![
            START,
            Event::Refusal("I can't."),
            Event::Finish(Finish::ContentFilter),
            Event::End,
        ],
        vec![START, Event::End],
    ]
}

const ALL: [Protocol; 4] = [
    Protocol::ChatCompletions,
    Protocol::Responses,
    Protocol::Messages,
    Protocol::GenerateContent,
];

#[test]
fn nothing_is_written_after_the_end() {
    for caller in ALL {
        for json_array in [false, true] {
            let mut e = Encoder::new(caller, &ctx(true, json_array));
            let mut out = BytesMut::new();
            for ev in text_events() {
                e.event(&ev, &mut out);
            }
            assert!(e.ended());
            let len = out.len();
            for ev in text_events() {
                e.event(&ev, &mut out);
            }
            e.fail(ErrorKind::Server, "late", &mut out);
            assert_eq!(out.len(), len, "{caller:?}");
        }
    }
}

#[test]
fn an_error_event_ends_like_fail() {
    for caller in ALL {
        let events = [
            START,
            Event::Text("Hel"),
            Event::Error {
                kind: ErrorKind::Overloaded,
                message: "upstream exploded",
            },
        ];
        let (via_event, ended) = run(caller, &ctx(false, false), &events);
        assert!(ended);
        let via_fail = run_fail(
            caller,
            &ctx(false, false),
            &events[..2],
            ErrorKind::Overloaded,
        );
        assert_eq!(via_event, via_fail, "{caller:?}");
    }
}

#[test]
fn events_before_start_still_open_the_stream() {
    // The contract puts `Start` first; an encoder that misses it must still be well formed.
    for caller in ALL {
        let (out, ended) = run(caller, &ctx(false, false), &[Event::Text("x"), Event::End]);
        assert!(ended);
        assert!(out.contains('x'), "{caller:?}");
        let first = frames(&out).remove(0);
        let first = parse(&first.1);
        match caller {
            Protocol::ChatCompletions => {
                assert_eq!(first["choices"][0]["delta"]["role"], "assistant")
            }
            Protocol::Responses => assert_eq!(first["type"], "response.created"),
            Protocol::Messages => assert_eq!(first["type"], "message_start"),
            Protocol::GenerateContent => assert_eq!(parts_text(&first), "x"),
        }
    }
}

fn parts_text(c: &Value) -> &str {
    c["candidates"][0]["content"]["parts"][0]["text"]
        .as_str()
        .unwrap()
}

mod chat;
mod gemini;
mod messages;
mod responses;
