//! Allocations per upstream event through a `translate::stream::Translator`, for the 12 cross
//! (upstream, caller) pairs: the warm-up (Start, the first text delta, the tool call's start
//! and first fragment) and the steady state (further text deltas and argument fragments), over
//! the long streams of `testkit::bench_streams`.
//!
//! Used by `benches/tests/translate_alloc.rs` (asserts) and `benches/examples/alloc_per_event.rs`
//! (prints). Needs [`crate::alloc::CountingAlloc`] installed as the global allocator.

use std::fmt::Write as _;

use crate::alloc;
use translate::Protocol;
use translate::json::Scratch;
use translate::stream::{Step, Translator};

use testkit::bench_streams::{self, Stream, ctx, pairs, short};

/// Steady-state events measured per kind (after one warm-up event of that kind).
pub const STEADY: usize = 100;

/// Most allocations an accumulating encoder may make per [`STEADY`] events: amortised growth
/// of one buffer (doubling from a few KiB) stays well under it; an allocation per event does not.
pub const AMORTISED_MAX: u64 = 20;

/// The counts for one pair.
#[derive(Clone, Debug)]
pub struct Row {
    pub upstream: Protocol,
    pub caller: Protocol,
    /// `Translator::new`.
    pub new: u64,
    /// The first upstream event.
    pub first: u64,
    /// The rest of the warm-up: up to and including the first text delta.
    pub warm: u64,
    /// Over [`STEADY`] further text deltas.
    pub text: u64,
    /// Steady text deltas that produced no output for the caller.
    pub text_silent: usize,
    /// Closing the text, starting the call, its first fragment.
    pub tool_start: u64,
    /// Over [`STEADY`] further argument fragments; `None` when the upstream sends calls whole.
    pub args: Option<u64>,
    /// Steady fragments that produced output for the caller.
    pub args_loud: usize,
    /// The upstream's end (and `eof` where needed).
    pub end: u64,
    /// The translator's last step.
    pub last: Step,
}

impl Row {
    /// Whether the caller's encoder legitimately accumulates this kind of event (Responses keeps
    /// the whole output for `response.completed`; Gemini buffers a call's arguments until the
    /// call is complete).
    pub fn accumulates(&self, args: bool) -> bool {
        match self.caller {
            Protocol::Responses => true,
            Protocol::GenerateContent => args,
            _ => false,
        }
    }

    pub fn label(&self) -> String {
        format!("{} → {}", short(self.upstream), short(self.caller))
    }

    pub fn total(&self) -> u64 {
        self.new
            + self.first
            + self.warm
            + self.text
            + self.tool_start
            + self.args.unwrap_or(0)
            + self.end
    }

    /// What is wrong with this row, if anything.
    pub fn failures(&self) -> Vec<String> {
        let mut f = Vec::new();
        let mut check = |what: &str, n: u64, args: bool| {
            if self.accumulates(args) {
                if n > AMORTISED_MAX {
                    f.push(format!(
                        "{}: {n} allocations per {STEADY} {what} (amortised growth allows {AMORTISED_MAX})",
                        self.label()
                    ));
                }
            } else if n != 0 {
                f.push(format!(
                    "{}: {n} allocations per {STEADY} {what} (expected 0)",
                    self.label()
                ));
            }
        };
        check("text deltas", self.text, false);
        if let Some(a) = self.args {
            check("argument fragments", a, true);
        }
        if self.text_silent > 0 {
            f.push(format!(
                "{}: {} of {STEADY} text deltas produced no output",
                self.label(),
                self.text_silent
            ));
        }
        if self.args.is_some() {
            let want_loud = if self.caller == Protocol::GenerateContent {
                0
            } else {
                STEADY
            };
            if self.args_loud != want_loud {
                f.push(format!(
                    "{}: {} of {STEADY} argument fragments produced output (expected {want_loud})",
                    self.label(),
                    self.args_loud
                ));
            }
        }
        if self.last != Step::Done {
            f.push(format!(
                "{}: the stream ended with {:?}, not Done",
                self.label(),
                self.last
            ));
        }
        f
    }
}

/// Feeds events `range` of `s`, taking (and dropping) the output after each; returns the
/// allocations made, how many events produced output, and the last step.
fn feed(
    t: &mut Translator,
    s: &Stream,
    range: std::ops::Range<usize>,
    scratch: &mut Scratch,
) -> (u64, usize, Step) {
    let mut loud = 0;
    let mut last = Step::Continue;
    let mut allocations = 0;
    for i in range {
        let ev = s.event(i);
        let ((step, out), n) = alloc::count(|| {
            let step = t.feed(ev, scratch);
            let out = t.take().map_or(0, |b| b.len());
            (step, out)
        });
        allocations += n;
        loud += usize::from(out > 0);
        if step != Step::Continue {
            last = step;
            break;
        }
    }
    (allocations, loud, last)
}

/// Measures one pair on a fresh translator.
pub fn measure(s: &Stream, caller: Protocol) -> Row {
    let mut scratch = Scratch::new();
    let (mut t, new) = alloc::count(|| Translator::new(s.protocol, caller, &ctx()));
    let (first, _, _) = feed(&mut t, s, 0..1, &mut scratch);
    let (warm, _, _) = feed(&mut t, s, 1..s.text.start + 1, &mut scratch);
    let steady_text = s.text.start + 1..s.text.end;
    let (text, text_loud, _) = feed(&mut t, s, steady_text.clone(), &mut scratch);
    let has_args = !s.args.is_empty();
    let tool_end = if has_args {
        s.args.start + 1
    } else {
        s.tool_start.end
    };
    let (tool_start, _, _) = feed(&mut t, s, s.text.end..tool_end, &mut scratch);
    let (args, args_loud, _) = feed(&mut t, s, tool_end..s.args.end.max(tool_end), &mut scratch);
    let rest = s.args.end.max(tool_end)..s.len();
    let (mut end, _, mut last) = feed(&mut t, s, rest, &mut scratch);
    if s.ends_at_eof && last == Step::Continue {
        let (step, n) = alloc::count(|| {
            let step = t.eof();
            drop(t.take());
            step
        });
        end += n;
        last = step;
    }
    Row {
        upstream: s.protocol,
        caller,
        new,
        first,
        warm,
        text,
        text_silent: steady_text.len() - text_loud,
        tool_start,
        args: has_args.then_some(args),
        args_loud,
        end,
        last,
    }
}

/// All 12 pairs, on streams with one warm-up and [`STEADY`] steady events of each kind.
pub fn measure_all() -> Vec<Row> {
    let streams: Vec<Stream> = bench_streams::PROTOCOLS
        .into_iter()
        .map(|p| bench_streams::stream(p, STEADY + 1, STEADY + 1))
        .collect();
    pairs()
        .filter_map(|(up, caller)| {
            let s = streams.iter().find(|s| s.protocol == up)?;
            // Once to warm process-wide lazies (thread-locals, the first simd-json use), then
            // the measured run.
            measure(s, caller);
            Some(measure(s, caller))
        })
        .collect()
}

/// The rows as a markdown table.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "allocations per translated stream, by phase ({STEADY} steady events of each kind after one warm-up)\n"
    );
    let _ = writeln!(
        out,
        "| upstream → caller | new | 1st event | warm-up to 1st delta | per {STEADY} text deltas | tool start + 1st fragment | per {STEADY} arg fragments | end | whole stream |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let mark = |n: u64, args: bool| {
            if n > 0 && r.accumulates(args) {
                format!("{n} (amortised)")
            } else {
                n.to_string()
            }
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label(),
            r.new,
            r.first,
            r.warm,
            mark(r.text, false),
            r.tool_start,
            r.args
                .map_or_else(|| "— (whole calls)".to_owned(), |a| mark(a, true)),
            r.end,
            r.total()
        );
    }
    out
}
