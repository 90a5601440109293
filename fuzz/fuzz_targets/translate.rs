//! Fuzz target: any upstream event sequence, for every (upstream, caller) pair, translates
//! without a panic into a stream its caller's SDK accepts (well-formed frames, valid JSON,
//! contiguous Anthropic indices, increasing Responses sequence numbers, Gemini `data:` lines
//! only, nothing after the end, a terminal frame after a relay `fail()`).
//!
//! The property is `testkit::translate_fuzz::check` (with `testkit::drive` and
//! `testkit::wellformed`), which `translate/tests/it/wellformed.rs` also runs over the seed
//! corpus (`fuzz/corpus/translate/`) in ordinary `cargo test`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let problems = testkit::translate_fuzz::check(data);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
});
