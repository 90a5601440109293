//! What guardrails cost on the data plane's paths, with a typical rule set: every built-in
//! detector (`Detector::ALL`, action redact) plus three patterns (block a code word, redact an
//! internal id `ACME-[0-9]{6}`, log a word), all on both phases.
//!
//! - `guardrails_apply/<text>/<size>`: `Guard::apply` on 1 KiB and 16 KiB of prose (throughput
//!   in bytes: the cost per KiB scanned). `clean` has no match; `matches` has four (an email, a
//!   Luhn-valid card number, an `ACME-` id, the logged word), three of them redacted. The
//!   string is cloned outside the timing. `no_rules` is the same call on a guard with no rule.
//! - `guardrails_stream_push/<text>/<size>`: the same texts as ~20-byte deltas through
//!   `guardrails::Stream::push`, then `finish` (throughput in elements: per delta).
//! - `guardrails_translate/<up>-><caller>/{plain,screened}`: a whole recorded upstream stream
//!   (testkit's bench stream: 200 text deltas, a call in 20 argument fragments, the end) through
//!   the SSE splitter and a new `Translator`, without and with a `StreamScreen` (throughput in
//!   elements: per upstream event). `chat->chat` is what a passthrough route with answer rules
//!   runs; `chat->messages` a translated one.
//! - `guardrails_request/chat/<body>/…`: the request phase on a typical Chat Completions body
//!   (~1.5 KB: system prompt, three turns, one tool): `parse` is `serde_json::from_slice` alone;
//!   `check` is `translate::screen::check` on a value parsed once (the walk + `apply` on every
//!   content string); `parse+check+serialize` is the whole of what a request with rules pays
//!   (parse, walk and apply, write back). `clean` has no match, `email` one redaction.
//! - `guardrails_compile`: `Guard::compile` of the rule set (once per config load, not per
//!   request).
//!
//! `cargo bench -p benches --bench guardrails` (quicker: `-- --warm-up-time 1
//! --measurement-time 3`). Medians: `target/criterion/guardrails_*/…/new/estimates.json`.

#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: a rule set or a stream that fails should stop it, loudly; sizes are reported next to criterion's output"
)]

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use guardrails::{Action, Detector, Guard, Phase, RuleSpec, Source, Stream};
use serde_json::{Value, json};
use translate::Protocol;
use translate::json::Scratch;
use translate::screen::{self, StreamScreen};
use translate::sse::Splitter;
use translate::stream::{Step, Translator};

use testkit::bench_streams::{self, ctx, short};

fn rule(name: &str, pattern: Option<&str>, detector: Option<Detector>, action: Action) -> RuleSpec {
    RuleSpec {
        name: name.into(),
        pattern: pattern.map(str::to_owned),
        detector,
        on: Source::Both,
        action,
        replacement: None,
        models: Vec::new(),
        keys: Vec::new(),
    }
}

/// The typical rule set (the same as `benches/load/run.sh` with `GUARDRAILS=1`).
fn typical() -> Vec<RuleSpec> {
    let mut rules: Vec<RuleSpec> = Detector::ALL
        .into_iter()
        .map(|d| rule(d.name(), None, Some(d), Action::Redact))
        .collect();
    rules.push(rule(
        "codeword",
        Some(r"\bbluebird-omega\b"),
        None,
        Action::Block,
    ));
    rules.push(rule(
        "internal_id",
        Some(r"ACME-[0-9]{6}"),
        None,
        Action::Redact,
    ));
    rules.push(rule(
        "confidential",
        Some(r"(?i)\bconfidential\b"),
        None,
        Action::Log,
    ));
    rules
}

/// Prose as a model writes it: mixed case, punctuation, a few numbers that are none of the
/// detectors' (years, versions, counts, a time).
const PROSE: &str = "The migration plan has three stages. First, the service keeps writing to the \
old table while a background job copies rows in batches of 500; each batch is checked against \
its source before the next one starts. Second, reads move to the new table behind a flag, which \
we turn on for 5% of traffic on Monday at 09:30 and widen over the week. Third, once the error \
rate has stayed flat for 72 hours, the old table is dropped. In 2023 a similar change to the \
billing schema took two weeks, mostly because the copy job had no way to resume after a crash; \
version 4.2 of the job fixes that by recording the last key it wrote. ";

/// `PROSE` repeated to exactly `size` bytes (ASCII, so any cut is a char boundary).
fn clean(size: usize) -> String {
    let mut s = PROSE.repeat(size / PROSE.len() + 1);
    s.truncate(size);
    s
}

/// `clean(size)` with four matches written over it at fixed places: an email, a Luhn-valid card
/// number, an internal id (all redacted) and the logged word. Same size.
fn with_matches(size: usize) -> String {
    let mut s = clean(size);
    let inserts = [
        " mail jane.doe@example.com ",
        " card 4111 1111 1111 1111 ",
        " ticket ACME-123456 ",
        " this is confidential ",
    ];
    for (k, m) in inserts.iter().enumerate() {
        let at = (k + 1) * size / (inserts.len() + 1);
        s.replace_range(at..at + m.len(), m);
    }
    assert_eq!(s.len(), size);
    s
}

fn sizes() -> [(&'static str, usize); 2] {
    [("1KiB", 1024), ("16KiB", 16 * 1024)]
}

fn apply(c: &mut Criterion) {
    let guard = Guard::compile(&typical()).unwrap();
    let sel = guard.select(Phase::Response, "bench-model", None);
    let none = Guard::compile(&[]).unwrap();
    let none_sel = none.select(Phase::Response, "bench-model", None);
    let mut g = c.benchmark_group("guardrails_apply");
    for (label, size) in sizes() {
        let texts = [("clean", clean(size)), ("matches", with_matches(size))];
        for (kind, text) in &texts {
            let mut probe = text.clone();
            let o = guard.apply(&sel, &mut probe, false);
            let want = if *kind == "clean" { 0 } else { 4 };
            assert_eq!(o.hits.len(), want, "{kind} {label}: {:?}", o.hits);
            assert!(o.blocked.is_none());
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_function(format!("{kind}/{label}"), |b| {
                b.iter_batched_ref(
                    || text.clone(),
                    |t| guard.apply(&sel, black_box(t), false),
                    BatchSize::SmallInput,
                );
            });
        }
        let text = clean(size);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(format!("no_rules/{label}"), |b| {
            b.iter_batched_ref(
                || text.clone(),
                |t| none.apply(&none_sel, black_box(t), false),
                BatchSize::SmallInput,
            );
        });
    }
    g.finish();
}

/// `text` cut into deltas of 20 bytes.
fn deltas(text: &str) -> Vec<&str> {
    text.as_bytes()
        .chunks(20)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect()
}

fn stream_push(c: &mut Criterion) {
    let guard = Guard::compile(&typical()).unwrap();
    let sel = guard.select(Phase::Response, "bench-model", None);
    let mut g = c.benchmark_group("guardrails_stream_push");
    for (label, size) in sizes() {
        for (kind, text) in [("clean", clean(size)), ("matches", with_matches(size))] {
            let ds = deltas(&text);
            let run = |out: &mut String| {
                let mut st = Stream::new(false);
                let mut hits = 0;
                for d in &ds {
                    hits += st.push(&guard, &sel, black_box(d), out).hits.len();
                }
                hits + st.finish(&guard, &sel, out).hits.len()
            };
            let mut out = String::new();
            let hits = run(&mut out);
            assert_eq!(hits, if kind == "clean" { 0 } else { 4 }, "{kind} {label}");
            g.throughput(Throughput::Elements(ds.len() as u64));
            g.bench_function(format!("{kind}/{label}"), |b| {
                let mut out = String::with_capacity(size + 1024);
                b.iter(|| {
                    out.clear();
                    run(&mut out)
                });
            });
        }
    }
    g.finish();
}

/// A whole stream through the splitter and a new translator (screened when `guard` is given),
/// one chunk per event. Returns the caller's bytes.
fn whole(
    up: Protocol,
    caller: Protocol,
    chunks: &[Bytes],
    screen: Option<(&Arc<Guard>, guardrails::Selection)>,
    scratch: &mut Scratch,
) -> usize {
    let mut t = Translator::new(up, caller, &ctx());
    if let Some((g, sel)) = screen {
        t.screen(StreamScreen::new(Arc::clone(g), sel));
    }
    let mut splitter = Splitter::default();
    let mut out = 0;
    let mut step = Step::Continue;
    for c in chunks {
        splitter.push(c.clone());
        while let Some(ev) = splitter.next_event().unwrap() {
            step = t.feed(&ev, scratch);
            if let Some(b) = t.take() {
                out += b.len();
            }
        }
    }
    if step == Step::Continue {
        step = t.eof();
        if let Some(b) = t.take() {
            out += b.len();
        }
    }
    assert_eq!(step, Step::Done, "{}->{}", short(up), short(caller));
    assert!(t.blocked().is_none() && t.take_hits().is_empty());
    out
}

fn translate(c: &mut Criterion) {
    let guard = Arc::new(Guard::compile(&typical()).unwrap());
    let sel = guard.select(Phase::Response, "bench-model", None);
    let up = Protocol::ChatCompletions;
    let s = bench_streams::stream(up, 200, 20);
    let body = Bytes::copy_from_slice(s.body());
    let mut at = 0;
    let chunks: Vec<Bytes> = s
        .events()
        .map(|e| {
            let c = body.slice(at..at + e.len());
            at += e.len();
            c
        })
        .collect();
    let mut g = c.benchmark_group("guardrails_translate");
    g.throughput(Throughput::Elements(s.len() as u64));
    for caller in [Protocol::ChatCompletions, Protocol::Messages] {
        let id = format!("{}->{}", short(up), short(caller));
        let mut scratch = Scratch::new();
        let plain = whole(up, caller, &chunks, None, &mut scratch);
        let screened = whole(up, caller, &chunks, Some((&guard, sel)), &mut scratch);
        // Not byte-equal: the screen holds up to `WINDOW` bytes of text and of arguments, so
        // it releases some of them in fewer, larger frames (the text is the same).
        eprintln!("{id}: caller bytes {plain} plain, {screened} screened");
        g.bench_function(format!("{id}/plain"), |b| {
            b.iter(|| whole(up, caller, &chunks, None, &mut scratch));
        });
        g.bench_function(format!("{id}/screened"), |b| {
            b.iter(|| whole(up, caller, &chunks, Some((&guard, sel)), &mut scratch));
        });
    }
    g.finish();
}

fn text(n: usize) -> String {
    "The quick brown fox jumps over the lazy dog. ".repeat(n)
}

/// A typical Chat Completions request (~1.5 KB: a system prompt, three turns, one tool), the
/// last user message optionally carrying an email.
fn chat_request(email: bool) -> Vec<u8> {
    let mut messages = vec![json!({"role": "system", "content": text(6)})];
    for t in 0..3 {
        messages.push(json!({"role": "user", "content": format!("question {t}: {}", text(2))}));
        messages.push(json!({"role": "assistant", "content": text(3)}));
    }
    let last = if email {
        "and now? write to jane.doe@example.com"
    } else {
        "and now? write to the team"
    };
    messages.push(json!({"role": "user", "content": last}));
    let tools = vec![
        json!({"type": "function", "function": {"name": "tool_0", "description": text(1), "parameters": {
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "What the tool runs, in full."},
                "timeout": {"type": "number", "description": "Milliseconds."},
            },
            "required": ["command"],
        }}}),
    ];
    let v = json!({"model": "gpt-4.1", "messages": messages, "tools": tools, "stream": true, "stream_options": {"include_usage": true}, "temperature": 0.2});
    serde_json::to_vec(&v).unwrap()
}

fn request(c: &mut Criterion) {
    let guard = Guard::compile(&typical()).unwrap();
    let sel = guard.select(Phase::Request, "gpt-4.1", None);
    let p = Protocol::ChatCompletions;
    let mut g = c.benchmark_group("guardrails_request");
    for (kind, body) in [
        ("clean", chat_request(false)),
        ("email", chat_request(true)),
    ] {
        let mut probe: Value = serde_json::from_slice(&body).unwrap();
        let o = screen::check(&guard, &sel, p, true, &mut probe);
        assert_eq!(o.hits.len(), usize::from(kind == "email"), "{kind}");
        eprintln!("chat request {kind}: {} bytes", body.len());
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(format!("chat/{kind}/parse"), |b| {
            b.iter(|| serde_json::from_slice::<Value>(black_box(&body)).unwrap());
        });
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        g.bench_function(format!("chat/{kind}/check"), |b| {
            b.iter_batched_ref(
                || parsed.clone(),
                |v| screen::check(&guard, &sel, p, true, black_box(v)),
                BatchSize::SmallInput,
            );
        });
        g.bench_function(format!("chat/{kind}/parse+check+serialize"), |b| {
            b.iter(|| {
                let mut v: Value = serde_json::from_slice(black_box(&body)).unwrap();
                let o = screen::check(&guard, &sel, p, true, &mut v);
                (o, serde_json::to_vec(&v).unwrap())
            });
        });
    }
    g.finish();
}

fn compile(c: &mut Criterion) {
    let rules = typical();
    c.bench_function("guardrails_compile", |b| {
        b.iter(|| Guard::compile(black_box(&rules)).unwrap());
    });
}

criterion_group!(benches, apply, stream_push, translate, request, compile);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
