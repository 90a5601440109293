//! The request fuzz target's seed corpus (`fuzz/corpus/request/`) in plain `cargo test`.
//!
//! Every committed input, crash reproducers included, is held to `dataplane::fuzzing::check`,
//! the property `fuzz/fuzz_targets/request.rs` asserts, so CI (which has no fuzzer) guards it.
//! `testkit::corpus` runs each input in a child process, so that a stack overflow, which aborts
//! the process, names its input and leaves the other inputs running.

use std::path::Path;

#[test]
fn fuzz_corpus_holds_the_request_properties() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/request");
    let replay = testkit::corpus::Replay {
        test: "fuzz_corpus_holds_the_request_properties",
        dir: &dir,
        min_inputs: 1,
        // Requests are parsed on tokio worker threads, which have 2 MiB.
        stack: 2 << 20,
    };
    testkit::corpus::replay(&replay, |_, bytes| dataplane::fuzzing::check(bytes));
}
