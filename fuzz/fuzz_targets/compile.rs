//! Fuzz target: compiling any text never panics, and every diagnostic span is in bounds.
//!
//! The bytes are read as UTF-8 with invalid sequences replaced by U+FFFD (the CLI rejects
//! invalid UTF-8 before compiling, so only valid text is reachable; lossy decoding keeps every
//! input useful instead of throwing away the many mutations that break UTF-8, and the 3-byte
//! replacement character exercises multi-byte span arithmetic for free).
//!
//! The property itself is `compiler::fuzzing::check`, which the seed-corpus test
//! (`compiler/src/tests/fuzz_corpus.rs`) runs in ordinary `cargo test` too.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let problems = compiler::fuzzing::check("fuzz.yaml", data);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
});
