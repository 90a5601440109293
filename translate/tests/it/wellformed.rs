//! The stream well-formedness checker (`testkit::wellformed`) and the `translate` fuzz property
//! (`testkit::translate_fuzz`) in plain `cargo test`:
//! - the checker accepts the reference streams and rejects broken variants of them (so its
//!   silence means something);
//! - every committed golden stream output passes it;
//! - every input of the fuzz seed corpus (`fuzz/corpus/translate/`), crash reproducers
//!   included, holds the fuzz property.

use std::path::{Path, PathBuf};

use testkit::wellformed::{self, End, Expect};
use testkit::{drive, translate_fuzz};
use translate::Protocol;

use crate::fixtures;

fn golden() -> PathBuf {
    fixtures::root().join("stream")
}

fn expect(caller: Protocol, end: End, include_usage: bool) -> Expect<'static> {
    Expect {
        caller,
        end,
        model: "",
        include_usage,
        json_array: false,
        strict: true,
    }
}

/// A stream case's input for protocol `name` (a file or a vector).
fn read(case: &str, name: &str) -> String {
    let input = fixtures::input(&golden().join(case), name, "sse");
    String::from_utf8(input.unwrap_or_else(|| panic!("no {case}/{name}.sse"))).unwrap()
}

/// Upstream fixtures that are complete, clean streams of their own protocol.
const CLEAN_CASES: &[&str] = &[
    "text",
    "tool",
    "parallel",
    "reasoning",
    "length",
    "usage",
    "text-no-usage",
    "tool-gemini3",
];

#[test]
fn reference_streams_are_well_formed() {
    let mut checked = 0;
    for case in CLEAN_CASES {
        for (p, name, text) in fixtures::inputs(&golden().join(case), "sse") {
            let text = String::from_utf8(text).unwrap();
            let usage = *case != "text-no-usage";
            let problems = wellformed::check(&expect(p, End::Clean, usage), text.as_bytes());
            assert!(problems.is_empty(), "{case}/{name}.sse: {problems:#?}");
            checked += 1;
        }
    }
    assert!(checked >= 28, "{checked}");
    // Mid-stream errors in each protocol's own shape are well-formed failed streams.
    for (p, name) in drive::PROTOCOLS {
        let text = read("error-after-content", name);
        let problems = wellformed::check(&expect(p, End::Failed, true), text.as_bytes());
        assert!(
            problems.is_empty(),
            "error-after-content/{name}.sse: {problems:#?}"
        );
    }
}

/// Each mutation breaks one rule of docs/protocols.md#stream-encoders or of
/// docs/translation-cases.md; the checker must notice.
#[test]
fn broken_streams_are_caught() {
    let chat_tool = read("tool", "chat");
    let resp_text = read("text", "responses");
    let msg_tool = read("tool", "messages");
    let gem_text = read("text", "gemini");
    let cases: Vec<(&str, Protocol, String)> = vec![
        (
            "chat without [DONE]",
            Protocol::ChatCompletions,
            chat_tool.replace("data: [DONE]\n\n", ""),
        ),
        (
            "chat continuation repeating the tool id (E7)",
            Protocol::ChatCompletions,
            chat_tool.replacen(
                r#"{"index":0,"function":{"arguments":"{"#,
                r#"{"index":0,"id":"call_abc123","function":{"arguments":"{"#,
                1,
            ),
        ),
        (
            "chat tool call finishing with stop (E16)",
            Protocol::ChatCompletions,
            chat_tool.replace(
                r#""finish_reason":"tool_calls""#,
                r#""finish_reason":"stop""#,
            ),
        ),
        (
            "chat data that is not JSON",
            Protocol::ChatCompletions,
            chat_tool.replacen("data: {", "data: {x", 1),
        ),
        (
            "responses sequence number skipped",
            Protocol::Responses,
            resp_text.replace(r#""sequence_number":5,"#, r#""sequence_number":6,"#),
        ),
        (
            "responses event line missing",
            Protocol::Responses,
            resp_text.replacen("event: response.output_text.delta\n", "", 1),
        ),
        (
            "responses without the terminal event (E5)",
            Protocol::Responses,
            resp_text[..resp_text.find("event: response.completed").unwrap()].to_owned(),
        ),
        (
            "messages block index skipping (E13)",
            Protocol::Messages,
            msg_tool.replace(r#""index":1"#, r#""index":2"#),
        ),
        (
            "messages tool_use with end_turn (E16)",
            Protocol::Messages,
            msg_tool.replace(r#""stop_reason":"tool_use""#, r#""stop_reason":"end_turn""#),
        ),
        (
            "messages [DONE] (E34)",
            Protocol::Messages,
            msg_tool.clone() + "data: [DONE]\n\n",
        ),
        (
            "gemini keep-alive comment (E30)",
            Protocol::GenerateContent,
            gem_text.replacen("data: ", ": keep-alive\ndata: ", 1),
        ),
        (
            "gemini event line (E30)",
            Protocol::GenerateContent,
            gem_text.replacen("data: ", "event: x\ndata: ", 1),
        ),
        (
            "gemini without finishReason",
            Protocol::GenerateContent,
            gem_text.replace(r#""finishReason":"STOP","#, ""),
        ),
    ];
    for (what, p, text) in cases {
        let problems = wellformed::check(&expect(p, End::Clean, true), text.as_bytes());
        assert!(!problems.is_empty(), "not caught: {what}");
    }
    // A clean stream is not a failed one.
    let problems = wellformed::check(
        &expect(Protocol::ChatCompletions, End::Failed, true),
        chat_tool.as_bytes(),
    );
    assert!(!problems.is_empty(), "a clean stream passed as failed");
}

/// The committed expected outputs (`<up>-to-<caller>.sse`) pass the checker, judged by the
/// outcome their `#>` header records; the only outputs not checked are pre-commit failures
/// (the caller gets an HTTP error, not a stream).
#[test]
fn golden_stream_outputs_are_well_formed() {
    let (mut checked, mut pre_commit) = (0, 0);
    for dir in fixtures::case_dirs("stream") {
        let ctx = fixtures::ctx_json(&dir);
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            let file = path.file_name().unwrap().to_str().unwrap().to_owned();
            if !file.contains("-to-") {
                continue;
            }
            let caller = file
                .strip_suffix(".sse")
                .and_then(|f| f.split_once("-to-"))
                .and_then(|(_, c)| drive::protocol(c))
                .unwrap_or_else(|| panic!("{}: not <up>-to-<caller>.sse", path.display()));
            let text = std::fs::read_to_string(&path).unwrap();
            let (header, body) = split_header(&text);
            let end = if header.starts_with("#> done, failed") {
                End::Failed
            } else if header.starts_with("#> done") {
                End::Clean
            } else if header.starts_with("#> error before the commit point")
                || header.starts_with("#> malformed before the commit point")
            {
                pre_commit += 1;
                continue;
            } else {
                panic!("{}: unexpected outcome header {header:?}", path.display());
            };
            let e = Expect {
                caller,
                end,
                model: "test-model",
                include_usage: ctx["include_usage"].as_bool().unwrap_or(true),
                json_array: ctx["json_array"].as_bool().unwrap_or(false),
                strict: ctx["strict"].as_bool().unwrap_or(true),
            };
            let problems = wellformed::check(&e, body.as_bytes());
            assert!(problems.is_empty(), "{}: {problems:#?}", path.display());
            checked += 1;
        }
    }
    assert!(
        checked >= 100,
        "only {checked} golden stream outputs checked ({pre_commit} pre-commit failures)"
    );
}

fn split_header(text: &str) -> (&str, &str) {
    let mut i = 0;
    while text[i..].starts_with("#>") {
        match text[i..].find('\n') {
            Some(n) => i += n + 1,
            None => return (text, ""),
        }
    }
    (&text[..i], &text[i..])
}

/// Every input of the `translate` fuzz target's seed corpus holds its property, each in a
/// child process (`testkit::corpus`).
#[test]
fn fuzz_corpus_holds_the_translate_property() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/translate");
    let replay = testkit::corpus::Replay {
        test: "wellformed::fuzz_corpus_holds_the_translate_property",
        dir: &dir,
        min_inputs: 10,
        // Translation runs on tokio worker threads, which have 2 MiB.
        stack: 2 << 20,
    };
    testkit::corpus::replay(&replay, |_, data| translate_fuzz::check(data));
}
