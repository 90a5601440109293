//! Decoder tests: the reference stream vectors (and the mock's parallel-call streams) through each
//! decoder, every tolerance case, errors, malformed events, end-of-body behaviour, and the
//! same events whatever the byte boundaries of the raw SSE input.

mod chat;
mod gemini;
mod messages;
mod responses;
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
            Event::ToolStart { id, name, .. } => Ev::Tool(id.into(), name.into()),
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

// ---------------------------------------------------------------- any byte boundaries

/// The wires whose decoding must not depend on how the bytes were cut.
fn wires() -> Vec<(Protocol, Vec<u8>)> {
    vec![
        (Protocol::ChatCompletions, CHAT_TEXT.as_bytes().to_vec()),
        (Protocol::ChatCompletions, CHAT_TOOL.as_bytes().to_vec()),
        (Protocol::Messages, MESSAGES_TOOL.as_bytes().to_vec()),
        (Protocol::Responses, RESPONSES_TOOL.as_bytes().to_vec()),
        (Protocol::GenerateContent, GEMINI_3.as_bytes().to_vec()),
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
        which in 0usize..5,
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
