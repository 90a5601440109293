//! A streamed text gives the same result whatever the delta boundaries.

use proptest::prelude::*;

use super::*;
use crate::{Action, Detector, Guard, Phase, RuleSpec, Source};

fn guard() -> Guard {
    let r = |name: &str, pattern: Option<&str>, detector, action| RuleSpec {
        name: name.into(),
        pattern: pattern.map(str::to_owned),
        detector,
        on: Source::Both,
        action,
        replacement: None,
        models: vec![],
        keys: vec![],
    };
    Guard::compile(&[
        r("email", None, Some(Detector::Email), Action::Redact),
        r("card", None, Some(Detector::CreditCard), Action::Redact),
        r("secrets", None, Some(Detector::Secrets), Action::Redact),
        r("word", Some("forbidden"), None, Action::Block),
    ])
    .unwrap()
}

const TEXT: &str = "Contact ada@example.com or pay with 4111 1111 1111 1111; the key is \
    sk-proj-abcdefghijklmnopqrstuvwxyz0123 — café ünïcode — then bob@test.io.";

fn whole(g: &Guard, text: &str) -> (String, Option<String>) {
    let mut t = text.to_owned();
    let o = g.apply(&g.select(Phase::Response, "m", None), &mut t, false);
    (t, o.blocked)
}

fn streamed(g: &Guard, text: &str, cuts: &[usize]) -> (String, Option<String>) {
    let sel = g.select(Phase::Response, "m", None);
    let mut s = Stream::new(false);
    let mut out = String::new();
    let mut at = 0;
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(text.len())).collect();
    bounds.sort_unstable();
    bounds.push(text.len());
    for b in bounds {
        let mut b = b.max(at);
        while !text.is_char_boundary(b) {
            b += 1;
        }
        let o = s.push(g, &sel, &text[at..b], &mut out);
        if o.blocked.is_some() {
            return (out, o.blocked);
        }
        at = b;
    }
    let o = s.finish(g, &sel, &mut out);
    (out, o.blocked)
}

#[test]
fn every_single_byte_boundary_gives_the_whole_result() {
    let g = guard();
    let want = whole(&g, TEXT);
    assert!(
        want.0.contains("[REDACTED:email]")
            && want.0.contains("[REDACTED:card]")
            && want.0.contains("[REDACTED:secrets]")
    );
    for cut in 0..=TEXT.len() {
        assert_eq!(streamed(&g, TEXT, &[cut]), want, "cut at {cut}");
    }
    // Byte by byte.
    let all: Vec<usize> = (0..TEXT.len()).collect();
    assert_eq!(streamed(&g, TEXT, &all), want);
}

#[test]
fn a_blocked_word_split_anywhere_blocks_and_releases_nothing_after_it() {
    let g = guard();
    let text = format!("{}forbidden tail", "x".repeat(600));
    for cut in 595..=612 {
        let (out, blocked) = streamed(&g, &text, &[cut]);
        assert_eq!(blocked.as_deref(), Some("word"), "cut {cut}");
        assert!(!out.contains("forbidden"), "cut {cut}: released the match");
    }
}

#[test]
fn held_back_text_is_bounded_by_the_window() {
    let g = guard();
    let sel = g.select(Phase::Response, "m", None);
    let mut s = Stream::new(false);
    let mut out = String::new();
    for _ in 0..100 {
        s.push(&g, &sel, "plain words without matches. ", &mut out);
        assert!(s.held.len() <= WINDOW + 40, "{}", s.held.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn random_boundaries_give_the_whole_result(cuts in proptest::collection::vec(0usize..TEXT.len(), 0..12)) {
        let g = guard();
        prop_assert_eq!(streamed(&g, TEXT, &cuts), whole(&g, TEXT));
    }
}
