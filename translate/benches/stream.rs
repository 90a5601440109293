//! Stream translation speed for the 12 cross (upstream, caller) pairs, against the passthrough
//! relay's own per-event work (SSE splitting plus a simd-json parse) on the same upstream bytes.
//!
//! `cargo bench -p translate --bench stream` (filter: `-- 'text_delta/messages->chat'`)
//!
//! Groups (throughput = bytes of upstream input):
//! - `text_delta/<up>-><caller>`: one steady-state text delta fed and its output taken, on a
//!   translator already past Start and the first delta. The translator is renewed (untimed)
//!   every 199 deltas, so accumulating encoders stay at a realistic size.
//! - `tool_args/<up>-><caller>`: the same for argument fragments of one call (200 per
//!   translator; Gemini upstreams send calls whole, so they have no such bench).
//! - `stream/<up>-><caller>`: a whole stream (200 text deltas, a call in 20 fragments, the
//!   protocol's end) through `sse::Splitter` and a new translator, frames taken as they come.
//! - `passthrough_event/<up>` and `passthrough_stream/<up>`: the same events through
//!   `sse::fields` + `Scratch::parse` (per event) and `Splitter` + both (per stream): the
//!   passthrough relay's parse of every event, as the yardstick.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: a translator that fails on its input should stop it, loudly"
)]

use std::hint::black_box;
use std::ops::Range;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use translate::Protocol;
use translate::json::Scratch;
use translate::sse::{self, Splitter};
use translate::stream::{Step, Translator};

use testkit::bench_streams::{self, Stream, ctx, pairs, short};

const N_TEXT: usize = 200;
const N_ARGS: usize = 20;

fn id(up: Protocol, caller: Protocol) -> String {
    format!("{}->{}", short(up), short(caller))
}

/// A translator for `s` that has been fed events `0..upto` (each must continue the stream).
fn warmed(s: &Stream, caller: Protocol, upto: usize, scratch: &mut Scratch) -> Translator {
    let mut t = Translator::new(s.protocol, caller, &ctx());
    for i in 0..upto {
        let step = t.feed(s.event(i), scratch);
        assert_eq!(
            step,
            Step::Continue,
            "{}: event {i} of the upstream stream did not continue it: {:?}",
            id(s.protocol, caller),
            String::from_utf8_lossy(s.event(i))
        );
        drop(t.take());
    }
    t
}

/// Times feeding `range` (after warming up to its first event) `iters` times in all, renewing
/// the translator whenever the range runs out; only the feeding is timed.
fn steady(s: &Stream, caller: Protocol, range: &Range<usize>, iters: u64) -> Duration {
    let mut scratch = Scratch::new();
    let first = range.start + 1;
    let per = (range.end - first) as u64;
    let mut left = iters;
    let mut total = Duration::ZERO;
    while left > 0 {
        let mut t = warmed(s, caller, first, &mut scratch);
        let n = left.min(per) as usize;
        let start = Instant::now();
        for i in first..first + n {
            black_box(t.feed(black_box(s.event(i)), &mut scratch));
            black_box(t.take());
        }
        total += start.elapsed();
        left -= n as u64;
    }
    total
}

/// Mean bytes per event over `r` (the throughput of one iteration), excluding the warm-up one.
fn mean_bytes(s: &Stream, r: &Range<usize>) -> u64 {
    let n = r.len().saturating_sub(1).max(1);
    (s.bytes(r.start + 1..r.end) / n) as u64
}

/// A whole stream through the splitter and a new translator, one chunk per event (as the mock
/// and most upstreams write them). Returns the caller's bytes.
fn whole(s: &Stream, chunks: &[Bytes], caller: Protocol, scratch: &mut Scratch) -> usize {
    let mut t = Translator::new(s.protocol, caller, &ctx());
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
    assert_eq!(step, Step::Done, "{}", id(s.protocol, caller));
    out
}

/// What the passthrough relay does with one event before commit: read its fields, parse its
/// data.
fn parse_event(raw: &[u8], scratch: &mut Scratch, join: &mut Vec<u8>) -> bool {
    let f = sse::fields(raw);
    match f.data(join) {
        Some(data) if data != b"[DONE]" => scratch
            .parse(data, |v| {
                black_box(v);
            })
            .is_ok(),
        _ => true,
    }
}

fn chunks(s: &Stream) -> Vec<Bytes> {
    let body = Bytes::copy_from_slice(s.body());
    let mut at = 0;
    s.events()
        .map(|e| {
            let c = body.slice(at..at + e.len());
            at += e.len();
            c
        })
        .collect()
}

fn configure(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.warm_up_time(Duration::from_millis(800))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40);
}

fn translate(c: &mut Criterion) {
    let streams: Vec<Stream> = bench_streams::PROTOCOLS
        .into_iter()
        .map(|p| bench_streams::stream(p, N_TEXT, N_ARGS))
        .collect();
    // Argument fragments in steady state need more of them than one realistic call has.
    let arg_streams: Vec<Stream> = bench_streams::PROTOCOLS
        .into_iter()
        .map(|p| bench_streams::stream(p, 2, 200))
        .collect();
    let find =
        |v: &[Stream], p: Protocol| -> usize { v.iter().position(|s| s.protocol == p).unwrap() };

    let mut g = c.benchmark_group("text_delta");
    configure(&mut g);
    for (up, caller) in pairs() {
        let s = &streams[find(&streams, up)];
        g.throughput(Throughput::Bytes(mean_bytes(s, &s.text)));
        g.bench_function(id(up, caller), |b| {
            b.iter_custom(|iters| steady(s, caller, &s.text, iters));
        });
    }
    g.finish();

    let mut g = c.benchmark_group("tool_args");
    configure(&mut g);
    for (up, caller) in pairs() {
        let s = &arg_streams[find(&arg_streams, up)];
        if s.args.len() < 2 {
            continue;
        }
        g.throughput(Throughput::Bytes(mean_bytes(s, &s.args)));
        g.bench_function(id(up, caller), |b| {
            b.iter_custom(|iters| steady(s, caller, &s.args, iters));
        });
    }
    g.finish();

    let mut g = c.benchmark_group("stream");
    configure(&mut g);
    for (up, caller) in pairs() {
        let s = &streams[find(&streams, up)];
        let cs = chunks(s);
        let mut scratch = Scratch::new();
        g.throughput(Throughput::Bytes(s.body().len() as u64));
        g.bench_function(id(up, caller), |b| {
            b.iter(|| whole(s, &cs, caller, &mut scratch));
        });
    }
    g.finish();
}

fn passthrough(c: &mut Criterion) {
    let mut g = c.benchmark_group("passthrough_event");
    configure(&mut g);
    for p in bench_streams::PROTOCOLS {
        let s = bench_streams::stream(p, N_TEXT, N_ARGS);
        let mut scratch = Scratch::new();
        let mut join = Vec::new();
        let r = s.text.clone();
        g.throughput(Throughput::Bytes(mean_bytes(&s, &r)));
        g.bench_function(short(p), |b| {
            let mut i = r.start + 1;
            b.iter(|| {
                assert!(parse_event(black_box(s.event(i)), &mut scratch, &mut join));
                i = if i + 1 < r.end { i + 1 } else { r.start + 1 };
            });
        });
    }
    g.finish();

    let mut g = c.benchmark_group("passthrough_stream");
    configure(&mut g);
    for p in bench_streams::PROTOCOLS {
        let s = bench_streams::stream(p, N_TEXT, N_ARGS);
        let cs = chunks(&s);
        let mut scratch = Scratch::new();
        let mut join = Vec::new();
        g.throughput(Throughput::Bytes(s.body().len() as u64));
        g.bench_function(short(p), |b| {
            b.iter(|| {
                let mut splitter = Splitter::default();
                let mut n = 0;
                for c in &cs {
                    splitter.push(c.clone());
                    while let Some(ev) = splitter.next_event().unwrap() {
                        assert!(parse_event(&ev, &mut scratch, &mut join));
                        n += 1;
                    }
                }
                n
            });
        });
    }
    g.finish();
}

criterion_group!(benches, translate, passthrough);
criterion_main!(benches);
