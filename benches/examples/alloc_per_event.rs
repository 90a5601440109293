//! Allocations per upstream event through the stream translator, for the 12 cross
//! (upstream, caller) pairs, with a counting global allocator.
//!
//! `cargo run --release -p benches --example alloc_per_event`
//!
//! Prints one row per pair: `Translator::new`, the first event, the rest of the warm-up, then
//! allocations per 100 steady text deltas and per 100 argument fragments (0 expected, except
//! where the caller's encoder accumulates: Responses keeps the output for `response.completed`,
//! Gemini buffers a call's arguments), the call's start and the end. The same measurement is
//! asserted by `cargo test -p benches --test translate_alloc`.

use benches::alloc::{self, CountingAlloc};
use benches::alloc_per_event as measure;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[allow(clippy::print_stdout, reason = "the measurement's report")]
fn main() {
    assert!(
        alloc::is_installed(),
        "the counting allocator is not installed"
    );
    let rows = measure::measure_all();
    println!("{}", measure::table(&rows));
    let failures: Vec<String> = rows.iter().flat_map(measure::Row::failures).collect();
    if failures.is_empty() {
        println!("steady state: no allocation where none is expected");
    } else {
        println!("steady state: {} problem(s)", failures.len());
        for f in &failures {
            println!("- {f}");
        }
    }
}
