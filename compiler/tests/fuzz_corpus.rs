//! The fuzz seed corpus (`fuzz/corpus/compile/`) in plain `cargo test`: no input panics the
//! compiler or the renderers, and every diagnostic span is a char-boundary range in the input.
//!
//! The same checks as `fuzz/fuzz_targets/compile.rs` (both call `compiler::fuzzing::check`), so
//! CI (which has no fuzzer) holds every committed input, crash reproducers included, to the
//! property. `testkit::corpus` runs each input in a child process, so that a stack overflow,
//! which aborts the process, names its input and does not take the other inputs down with it.

use std::path::Path;

#[test]
fn fuzz_corpus_holds_the_compile_properties() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/compile");
    let replay = testkit::corpus::Replay {
        test: "fuzz_corpus_holds_the_compile_properties",
        dir: &dir,
        min_inputs: 20,
        // The CLI compiles on the main thread, which has 8 MiB.
        stack: 8 << 20,
    };
    testkit::corpus::replay(&replay, compiler::fuzzing::check);
}
