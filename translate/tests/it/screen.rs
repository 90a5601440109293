//! Content rules on a translated stream (`Translator::screen`), for every caller protocol from
//! a Chat upstream: a match split at every byte boundary between two deltas is redacted
//! exactly as if it had come whole, in text and in tool-call arguments (which stay whole
//! JSON); a block before the commit point is a clean `Step::Error` with nothing written; a
//! block after it ends the caller's stream with its terminal error frame; and the output is
//! always well-formed.

use std::sync::Arc;

use compiler::table::Protocol;
use guardrails::{Action, Detector, Guard, Phase, RuleSpec, Source};
use serde_json::json;
use testkit::drive::{self, Driver, Outcome};
use testkit::load::{Caller, streamed_text};
use testkit::wellformed::{self, End, Expect};
use translate::screen::StreamScreen;

fn rule(name: &str, pattern: Option<&str>, detector: Option<Detector>, action: Action) -> RuleSpec {
    RuleSpec {
        name: name.into(),
        pattern: pattern.map(Into::into),
        detector,
        on: Source::Response,
        action,
        replacement: None,
        models: vec![],
        keys: vec![],
    }
}

fn guard() -> Arc<Guard> {
    Arc::new(
        Guard::compile(&[
            rule("mail", None, Some(Detector::Email), Action::Redact),
            rule("codename", Some("falcon"), None, Action::Block),
        ])
        .unwrap(),
    )
}

fn chunk(delta: serde_json::Value, finish: serde_json::Value) -> String {
    let v = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    format!("data: {v}\n\n")
}

/// A Chat upstream stream answering `deltas` as text.
fn text_stream(deltas: &[&str]) -> Vec<String> {
    let mut evs = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        json!(null),
    )];
    evs.extend(
        deltas
            .iter()
            .map(|d| chunk(json!({"content": d}), json!(null))),
    );
    evs.push(chunk(json!({}), json!("stop")));
    evs.push("data: [DONE]\n\n".into());
    evs
}

/// A Chat upstream stream calling `send` with `deltas` as its argument fragments.
fn tool_stream(deltas: &[&str]) -> Vec<String> {
    let mut evs = vec![chunk(
        json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
               "function": {"name": "send", "arguments": ""}}]}),
        json!(null),
    )];
    evs.extend(deltas.iter().map(|d| {
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": d}}]}),
            json!(null),
        )
    }));
    evs.push(chunk(json!({}), json!("tool_calls")));
    evs.push("data: [DONE]\n\n".into());
    evs
}

fn caller(p: Protocol) -> Caller {
    match p {
        Protocol::ChatCompletions => Caller::ChatCompletions,
        Protocol::Responses => Caller::Responses,
        Protocol::Messages => Caller::Messages,
        Protocol::GenerateContent => Caller::GenerateContent,
    }
}

fn run(p: Protocol, events: &[String]) -> (drive::Run, Option<String>, usize) {
    let g = guard();
    let sel = g.select(Phase::Response, "m", None);
    let mut d = Driver::new(Protocol::ChatCompletions, p, &drive::ctx(false, false))
        .screen(StreamScreen::new(Arc::clone(&g), sel));
    for e in events {
        if d.stopped() {
            break;
        }
        d.push(bytes::Bytes::copy_from_slice(e.as_bytes()));
    }
    let hits = d.take_hits().len();
    let blocked = d.translator().blocked().map(str::to_owned);
    (d.finish(), blocked, hits)
}

fn expect(p: Protocol, end: End) -> Expect<'static> {
    Expect {
        caller: p,
        end,
        model: "",
        include_usage: false,
        json_array: false,
        strict: true,
    }
}

#[test]
fn a_match_split_at_any_byte_is_redacted_in_every_caller_protocol() {
    let text = "Write to bob@example.com today, then rest.";
    for p in Protocol::ALL {
        for cut in 1..text.len() {
            let (a, b) = text.split_at(cut);
            let (r, blocked, _) = run(p, &text_stream(&[a, b]));
            assert_eq!(blocked, None);
            assert!(r.problems.is_empty(), "{p:?} cut {cut}: {:?}", r.problems);
            assert!(
                matches!(r.outcome, Outcome::Done { failed: false }),
                "{p:?}: {:?}",
                r.outcome
            );
            let out = String::from_utf8(r.out).unwrap();
            assert_eq!(
                streamed_text(caller(p), &out).unwrap(),
                "Write to [REDACTED:mail] today, then rest.",
                "{p:?} cut {cut}: {out}"
            );
            let problems = wellformed::check(&expect(p, End::Clean), out.as_bytes());
            assert!(problems.is_empty(), "{p:?} cut {cut}: {problems:?}\n{out}");
        }
    }
}

#[test]
fn redacted_arguments_split_at_any_byte_stay_whole_json() {
    let args = r#"{"to":"bob@example.com","body":"hi"}"#;
    for p in Protocol::ALL {
        for cut in 1..args.len() {
            let (a, b) = args.split_at(cut);
            let (r, blocked, _) = run(p, &tool_stream(&[a, b]));
            assert_eq!(blocked, None);
            let out = String::from_utf8(r.out).unwrap();
            assert!(!out.contains("bob@"), "{p:?} cut {cut}: {out}");
            assert!(out.contains("[REDACTED:mail]"), "{p:?} cut {cut}: {out}");
            // Strict: every call's arguments are one whole JSON value.
            let problems = wellformed::check(&expect(p, End::Clean), out.as_bytes());
            assert!(problems.is_empty(), "{p:?} cut {cut}: {problems:?}\n{out}");
        }
    }
}

#[test]
fn a_block_before_the_commit_point_writes_nothing() {
    for p in Protocol::ALL {
        let (r, blocked, _) = run(p, &text_stream(&["the fal", "con lands at noon"]));
        assert_eq!(blocked.as_deref(), Some("codename"));
        assert!(!r.committed, "{p:?}");
        assert!(
            r.out.is_empty(),
            "{p:?}: {:?}",
            String::from_utf8_lossy(&r.out)
        );
        let Outcome::ErrorBeforeCommit(e) = r.outcome else {
            panic!("{p:?}: {:?}", r.outcome);
        };
        assert!(e.message.contains("`codename`"), "{}", e.message);
        assert!(
            !e.message.contains("falcon"),
            "the match is never quoted: {}",
            e.message
        );
    }
}

#[test]
fn a_block_after_the_commit_point_ends_with_the_terminal_error_frame() {
    let long = "All quiet on the western front. ".repeat(12);
    for p in Protocol::ALL {
        let (r, blocked, hits) = run(p, &text_stream(&[&long, " then the falc", "on came"]));
        assert_eq!(blocked.as_deref(), Some("codename"), "{p:?}");
        assert!(
            r.committed,
            "{p:?}: more than the window was released first"
        );
        assert!(
            matches!(r.outcome, Outcome::Done { failed: true }),
            "{p:?}: {:?}",
            r.outcome
        );
        assert_eq!(hits, 1, "{p:?}");
        let out = String::from_utf8(r.out).unwrap();
        assert!(out.contains("western front"), "{p:?}: {out}");
        assert!(!out.contains("falc"), "{p:?}: nothing of the match: {out}");
        let problems = wellformed::check(&expect(p, End::Failed), out.as_bytes());
        assert!(problems.is_empty(), "{p:?}: {problems:?}\n{out}");
    }
}

#[test]
fn without_a_screen_the_text_is_untouched() {
    let r = drive::run(
        Protocol::ChatCompletions,
        Protocol::Messages,
        &drive::ctx(false, false),
        &text_stream(&["bob@exam", "ple.com"])
            .iter()
            .map(String::as_bytes)
            .collect::<Vec<_>>(),
    );
    let out = String::from_utf8(r.out).unwrap();
    assert_eq!(
        streamed_text(Caller::Messages, &out).unwrap(),
        "bob@example.com"
    );
}
