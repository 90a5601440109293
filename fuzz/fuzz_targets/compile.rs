//! Fuzz target: compiling any text never panics, and every diagnostic span is in bounds.
//!
//! The bytes are read as UTF-8 with invalid sequences replaced by U+FFFD (the CLI rejects
//! invalid UTF-8 before compiling, so only valid text is reachable; lossy decoding keeps every
//! input useful instead of throwing away the many mutations that break UTF-8, and the 3-byte
//! replacement character exercises multi-byte span arithmetic for free). The text is compiled
//! in strict and lenient mode against a small fixed environment, and for each outcome:
//!
//! - every diagnostic's span (and every note's span) is `start <= end <= text.len()` with both
//!   ends on a character boundary;
//! - a failed compilation carries at least one error;
//! - `render_human` (plain and coloured) and `render_json` do not panic;
//! - on success, `dump()` and `route()` for a handful of names (from the input, from the table
//!   and fixed odd ones) do not panic, and every hop's URL can be built.
//!
//! `compiler/src/tests/fuzz_corpus.rs` asserts the same over the committed seed corpus in
//! ordinary `cargo test`.

#![no_main]

use std::collections::HashMap;

use compiler::diagnostic::render::{render_human, render_json};
use compiler::table::Protocol;
use compiler::{Diagnostic, EnvMode, RoutingTable, SourceFile, Span, compile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let source = SourceFile::new("fuzz.yaml", text.as_ref());
    let env = env();
    for mode in [EnvMode::Strict, EnvMode::Lenient] {
        match compile(&source, &env, mode) {
            Ok(compiled) => {
                check_diagnostics(&source, &compiled.warnings);
                exercise_table(&compiled.table, source.text());
            }
            Err(diags) => {
                assert!(
                    diags.iter().any(Diagnostic::is_error),
                    "compile failed without an error diagnostic: {diags:#?}"
                );
                check_diagnostics(&source, &diags);
            }
        }
    }
});

/// `OPENAI_API_KEY` set, `EMPTY` set to the empty string (`${EMPTY:-x}` takes the default), and
/// `TRICKY` holding text that must not be re-expanded or re-parsed; everything else unset.
fn env() -> HashMap<String, String> {
    [
        ("OPENAI_API_KEY", "sk-fuzz"),
        ("EMPTY", ""),
        ("TRICKY", "${OPENAI_API_KEY}\n: [é]\u{FFFD}"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn check_span(text: &str, span: Span, d: &Diagnostic) {
    let (start, end) = (span.start as usize, span.end as usize);
    assert!(
        start <= end
            && end <= text.len()
            && text.is_char_boundary(start)
            && text.is_char_boundary(end),
        "span {start}..{end} is not a char-boundary range within the {}-byte input: {d:#?}",
        text.len()
    );
}

fn check_diagnostics(source: &SourceFile, diags: &[Diagnostic]) {
    for d in diags {
        if let Some(span) = d.span {
            check_span(source.text(), span, d);
        }
        for (span, _) in &d.notes {
            check_span(source.text(), *span, d);
        }
    }
    let _ = render_human(source, diags, false);
    let _ = render_human(source, diags, true);
    let _ = render_json(source, diags).to_string();
}

fn exercise_table(table: &RoutingTable, text: &str) {
    let _ = table.dump();
    let _ = table.content_hash();
    let _ = table.routable_model_count();

    let mut names: Vec<String> = [
        prefix(text, 20),
        "@x",
        "a:b",
        "",
        ":",
        "@",
        "@:",
        "a/",
        "a:",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    names.extend(
        text.lines()
            .take(8)
            .map(|l| prefix(l.trim().trim_start_matches("- "), 64).to_owned()),
    );
    names.extend(table.model_names().take(8).map(str::to_owned));
    names.extend(
        table
            .presets()
            .iter()
            .take(4)
            .map(|p| format!("@{}", p.name)),
    );
    for p in table.providers().iter().take(4) {
        names.push(format!("{}:", p.name));
        names.push(format!("{}/x", p.name));
        names.extend(
            p.declared_models()
                .take(2)
                .map(|(m, _)| format!("{}:{m}", p.name)),
        );
    }
    let variants: Vec<String> = table
        .variants()
        .iter()
        .take(2)
        .map(|v| v.name.to_string())
        .collect();
    for v in &variants {
        let with_variant: Vec<String> = names.iter().take(12).map(|n| format!("{n}:{v}")).collect();
        names.extend(with_variant);
    }

    for name in &names {
        match table.route(name) {
            Ok(route) => {
                let _ = route.len();
                let _ = route.is_empty();
                for hop in route.hops() {
                    let (set, source) = hop.protocols();
                    let _ = format!("{set:?} {source:?}");
                    for inbound in [
                        None,
                        Some(Protocol::Messages),
                        Some(Protocol::GenerateContent),
                    ] {
                        let _ = set.choose(inbound);
                    }
                    for p in set.iter() {
                        let _ = hop.url(p, false);
                        let _ = hop.url(p, true);
                    }
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}

/// At most `max` bytes of `s`, cut on a character boundary. Route names stay short: the error
/// path's "did you mean" is quadratic in the name's length and would dominate every run.
fn prefix(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
