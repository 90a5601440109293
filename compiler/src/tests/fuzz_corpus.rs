//! The fuzz seed corpus (`fuzz/corpus/compile/`) in plain `cargo test`: no input panics the
//! compiler or the renderers, and every diagnostic span is a char-boundary range in the input.
//!
//! The same checks as `fuzz/fuzz_targets/compile.rs` (both call `crate::fuzzing::check`), so CI (which has no fuzzer) holds every
//! committed input, crash reproducers included, to the property. Each input runs in a child
//! process (this test binary, re-run on [`one_input`]) so that a stack overflow, which aborts
//! the process, names its input and does not take the other tests down with it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fuzzing::check;

/// Set in the child process to the input [`one_input`] checks.
const INPUT_VAR: &str = "BITROUTER_FUZZ_CORPUS_INPUT";

/// The child's stack: the CLI compiles on the main thread, which has 8 MiB.
const STACK_BYTES: usize = 8 << 20;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/compile")
}

#[test]
fn fuzz_corpus_holds_the_compile_properties() {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{} must exist (it is committed): {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "only {} inputs in {}",
        files.len(),
        dir.display()
    );
    let exe = std::env::current_exe().unwrap();
    let mut problems = Vec::new();
    for f in &files {
        let out = Command::new(&exe)
            .args([
                "tests::fuzz_corpus::one_input",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(INPUT_VAR, f)
            .output()
            .unwrap();
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(12)
                .collect();
            problems.push(format!(
                "{} ({}):\n    {}",
                f.file_name().unwrap().to_string_lossy(),
                out.status,
                tail.join("\n    ")
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} input(s) fail:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Checks the input named by `BITROUTER_FUZZ_CORPUS_INPUT`; passes trivially when it is unset
/// (the test above sets it in the child processes it starts).
#[test]
fn one_input() {
    let Some(path) = std::env::var_os(INPUT_VAR) else {
        return;
    };
    let path = PathBuf::from(path);
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let bytes = std::fs::read(&path).unwrap();
    let problems = std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(move || check(&name, &bytes))
        .unwrap()
        .join()
        .unwrap_or_else(|_| panic!("the compiler panicked (message above)"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
