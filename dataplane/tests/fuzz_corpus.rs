//! The request fuzz target's seed corpus (`fuzz/corpus/request/`) in plain `cargo test`.
//!
//! Every committed input, crash reproducers included, is held to `dataplane::fuzzing::check`,
//! the property `fuzz/fuzz_targets/request.rs` asserts, so CI (which has no fuzzer) guards it.
//! Each input runs in a child process (this test binary, re-run on [`one_input`]) so that a
//! stack overflow, which aborts the process, names its input and leaves the other inputs running.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Set in the child process to the input [`one_input`] checks.
const INPUT_VAR: &str = "BITROUTER_REQUEST_CORPUS_INPUT";

/// The child's stack: requests are parsed on tokio worker threads, which have 2 MiB.
const STACK_BYTES: usize = 2 << 20;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/request")
}

#[test]
fn fuzz_corpus_holds_the_request_properties() {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{} must exist (it is committed): {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    let exe = std::env::current_exe().unwrap();
    let mut problems = Vec::new();
    for f in &files {
        let out = Command::new(&exe)
            .args(["one_input", "--exact", "--nocapture", "--test-threads=1"])
            .env(INPUT_VAR, f)
            .output()
            .unwrap();
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr
                .lines()
                .take_while(|l| !l.starts_with("stack backtrace:"))
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
        "{} of {} input(s) fail:\n{}",
        problems.len(),
        files.len(),
        problems.join("\n")
    );
}

/// Checks the input named by `BITROUTER_REQUEST_CORPUS_INPUT`; passes trivially when it is
/// unset (the test above sets it in the child processes it starts).
#[test]
fn one_input() {
    let Some(path) = std::env::var_os(INPUT_VAR) else {
        return;
    };
    let bytes = std::fs::read(PathBuf::from(path)).unwrap();
    let problems = std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(move || dataplane::fuzzing::check(&bytes))
        .unwrap()
        .join()
        .unwrap_or_else(|_| panic!("request parsing panicked (message above)"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
