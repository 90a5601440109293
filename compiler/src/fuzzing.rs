//! The compile property that fuzzing and the seed-corpus test both hold every input to.
//!
//! For any text, compiled in strict and lenient mode against a small fixed environment: no
//! panic; every diagnostic and note span is a char-boundary range inside the text; a failed
//! compilation carries an error; the renderers do not panic; on success, `dump()`, `route()` for
//! names taken from the input and the table, and every hop's protocols and URLs do not panic.
//! And the two YAML readers agree: a tree built from the parser's events is `serde-saphyr`'s
//! (`syntax::compare_readers`).
//! Public (hidden) so `fuzz/fuzz_targets/compile.rs` and `tests/fuzz_corpus.rs` share one copy.

use std::collections::HashMap;

use crate::diagnostic::render::{render_human, render_json};
use crate::table::Protocol;
use crate::{Diagnostic, EnvMode, RoutingTable, SourceFile, Span, compile};

/// Checks one input (bytes read as UTF-8, invalid sequences replaced); returns what is wrong.
/// A panic propagates as itself.
pub fn check(name: &str, bytes: &[u8]) -> Vec<String> {
    let source = SourceFile::new(name, String::from_utf8_lossy(bytes).as_ref());
    let env = env();
    let mut problems = Vec::new();
    if let Err(e) = crate::syntax::compare_readers(&source) {
        problems.push(e);
    }
    for mode in [EnvMode::Strict, EnvMode::Lenient] {
        let diags = match compile(&source, &env, mode) {
            Ok(compiled) => {
                exercise_table(&compiled.table, source.text());
                compiled.warnings
            }
            Err(diags) => {
                if !diags.iter().any(Diagnostic::is_error) {
                    problems.push(format!(
                        "{name} ({mode:?}): failed without an error diagnostic"
                    ));
                }
                diags
            }
        };
        for d in &diags {
            let spans = d.span.into_iter().chain(d.notes.iter().map(|(s, _)| *s));
            for p in spans.filter_map(|s| span_problem(source.text(), s)) {
                problems.push(format!(
                    "{name} ({mode:?}): [{}] {}: {p}",
                    d.code.as_str(),
                    d.message
                ));
            }
        }
        let _ = render_human(&source, &diags, false);
        let _ = render_human(&source, &diags, true);
        let _ = render_json(&source, &diags).to_string();
    }
    problems
}

fn exercise_table(table: &RoutingTable, text: &str) {
    let _ = table.dump();
    let mut names: Vec<String> = [prefix(text, 20), "@x", "a:b", "", ":", "@", "a/"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    names.extend(table.model_names().map(str::to_owned));
    names.extend(table.presets().iter().map(|p| format!("@{}", p.name)));
    for p in table.providers() {
        names.push(format!("{}/x", p.name));
        names.extend(p.declared_models().map(|(m, _)| format!("{}:{m}", p.name)));
    }
    let variants: Vec<String> = table
        .variants()
        .iter()
        .map(|v| v.name.to_string())
        .collect();
    for v in &variants {
        let with_variant: Vec<String> = names.iter().map(|n| format!("{n}:{v}")).collect();
        names.extend(with_variant);
    }
    for name in &names {
        match table.route(name) {
            Ok(route) => {
                for hop in route.hops() {
                    let (set, _) = hop.protocols();
                    let _ = set.choose(Some(Protocol::Messages));
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

/// The fuzz target's environment: one key set, one empty, one that must not be re-expanded.
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

fn span_problem(text: &str, span: Span) -> Option<String> {
    let (start, end) = (span.start as usize, span.end as usize);
    let ok = start <= end
        && end <= text.len()
        && text.is_char_boundary(start)
        && text.is_char_boundary(end);
    (!ok).then(|| {
        format!(
            "span {start}..{end} is not a char-boundary range in {} bytes",
            text.len()
        )
    })
}

/// At most `max` bytes of `s`, cut on a character boundary (route names taken from the input).
fn prefix(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
