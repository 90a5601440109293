//! Fuzz target: request parsing never panics, refuses only with a 400, and the passthrough
//! rewrite always gives JSON carrying the new model; any bytes, as an SSE stream, split into the
//! same events whatever the chunk boundaries and pass every stream inspector without a panic.
//!
//! The property itself is `dataplane::fuzzing::check`, which the seed-corpus test
//! (`dataplane/tests/fuzz_corpus.rs`) runs in ordinary `cargo test` too.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let problems = dataplane::fuzzing::check(data);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
});
