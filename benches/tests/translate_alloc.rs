//! The stream translator allocates nothing per event once warmed up, for all 12 cross
//! (upstream, caller) pairs: 100 text deltas and 100 argument fragments after the first of each.
//! Where the caller's encoder accumulates (Responses keeps the output for `response.completed`;
//! Gemini buffers a call's arguments) amortised growth is allowed and reported.
//!
//! `cargo test -p benches --test translate_alloc -- --nocapture` prints the table
//! (also `cargo run --release -p benches --example alloc_per_event`).
//!
//! The test lives here, not in `translate/tests/`, because the counting allocator needs
//! `unsafe impl GlobalAlloc`, which the workspace's `unsafe_code = "forbid"` rules out in the
//! translate crate; `benches` is the one package that allows it (in `src/alloc.rs`).

use benches::alloc::{self, CountingAlloc};
use benches::alloc_per_event as measure;
use testkit::bench_streams as vectors;
use translate::Protocol;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn the_counting_allocator_is_installed() {
    assert!(alloc::is_installed());
}

#[test]
fn the_streams_are_what_the_measurement_expects() {
    for p in vectors::PROTOCOLS {
        let s = vectors::stream(p, measure::STEADY + 1, measure::STEADY + 1);
        assert_eq!(s.text.len(), measure::STEADY + 1, "{p:?}");
        let want_args = if p == Protocol::GenerateContent {
            0
        } else {
            measure::STEADY + 1
        };
        assert_eq!(s.args.len(), want_args, "{p:?}");
        // Every event is a whole SSE event with JSON (or `[DONE]`) data.
        let mut scratch = translate::json::Scratch::new();
        for ev in s.events() {
            assert!(ev.ends_with(b"\n\n"));
            let f = translate::sse::fields(ev);
            let mut join = Vec::new();
            let data = f.data(&mut join).unwrap();
            assert!(
                data == b"[DONE]" || scratch.parse(data, |_| ()).is_ok(),
                "{p:?}: {}",
                String::from_utf8_lossy(ev)
            );
        }
        // The call's arguments, reassembled, are the JSON object the fragments were cut from.
        let args = vectors::arguments(measure::STEADY + 1);
        assert!(
            serde_json::from_str::<serde_json::Value>(&args)
                .unwrap()
                .is_object()
        );
        assert_eq!(
            vectors::fragments(&args, measure::STEADY + 1).concat(),
            args
        );
    }
}

#[test]
fn steady_state_events_do_not_allocate() {
    let rows = measure::measure_all();
    assert_eq!(rows.len(), 12);
    println!("{}", measure::table(&rows));
    let failures: Vec<String> = rows.iter().flat_map(measure::Row::failures).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
