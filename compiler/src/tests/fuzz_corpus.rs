//! The fuzz seed corpus (`fuzz/corpus/compile/`) in plain `cargo test`: no input panics the
//! compiler or the renderers, and every diagnostic span is a char-boundary range in the input.
//!
//! The same checks as `fuzz/fuzz_targets/compile.rs`, so CI (which has no fuzzer) holds every
//! committed input, crash reproducers included, to the property. Each input runs in a child
//! process (this test binary, re-run on [`one_input`]) so that a stack overflow, which aborts
//! the process, names its input and does not take the other tests down with it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::diagnostic::render::{render_human, render_json};
use crate::table::Protocol;
use crate::{Diagnostic, EnvMode, RoutingTable, SourceFile, Span, compile};

/// Set in the child process to the input [`one_input`] checks.
const INPUT_VAR: &str = "BITROUTER_FUZZ_CORPUS_INPUT";

/// The child's stack: the CLI compiles on the main thread, which has 8 MiB.
const STACK_BYTES: usize = 8 << 20;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/compile")
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

/// Checks one input in both modes; returns what is wrong (a panic propagates as itself).
fn check(name: &str, bytes: &[u8]) -> Vec<String> {
    let source = SourceFile::new(name, String::from_utf8_lossy(bytes).as_ref());
    let env = env();
    let mut problems = Vec::new();
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

#[test]
fn fuzz_corpus_holds_the_compile_properties() {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{} must exist (it is committed): {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "only {} inputs in {}",
        files.len(),
        dir.display()
    );
    let exe = std::env::current_exe().unwrap();
    let mut problems = Vec::new();
    for f in &files {
        let out = Command::new(&exe)
            .args([
                "tests::fuzz_corpus::one_input",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(INPUT_VAR, f)
            .output()
            .unwrap();
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(12)
                .collect();
            problems.push(format!(
                "{} ({}):\n    {}",
                f.file_name().unwrap().to_string_lossy(),
                out.status,
                tail.join("\n    ")
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} input(s) fail:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Checks the input named by `BITROUTER_FUZZ_CORPUS_INPUT`; passes trivially when it is unset
/// (the test above sets it in the child processes it starts).
#[test]
fn one_input() {
    let Some(path) = std::env::var_os(INPUT_VAR) else {
        return;
    };
    let path = PathBuf::from(path);
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let bytes = std::fs::read(&path).unwrap();
    let problems = std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(move || check(&name, &bytes))
        .unwrap()
        .join()
        .unwrap_or_else(|_| panic!("the compiler panicked (message above)"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
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
