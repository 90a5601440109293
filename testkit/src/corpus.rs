//! Replays a fuzz target's seed corpus in plain `cargo test`, each input in a child process.
//!
//! CI has no fuzzer, so every committed input (crash reproducers included) is held to the
//! target's property by an ordinary test that calls [`replay`]. A stack overflow aborts the
//! whole process, so each input runs in a child: the test binary re-runs itself filtered to the
//! very test that called [`replay`], with [`INPUT_VAR`] naming the input; in the child, the same
//! call checks that one input on a thread with the given stack and reports back. The parent
//! counts an input as passed only when its child printed the success line for it, so a child
//! that ran no test (a wrong test name) or skipped the check fails the input instead of
//! passing it.
//!
//! Used by `compiler/tests/fuzz_corpus.rs`, `dataplane/tests/fuzz_corpus.rs` and
//! `translate/tests/it/wellformed.rs`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Set in a child process to the input it checks.
pub const INPUT_VAR: &str = "TESTKIT_CORPUS_INPUT";

/// What a child prints after its input passed.
const PASSED: &str = "testkit-corpus: passed";

/// One corpus and how to check it.
#[derive(Clone, Copy, Debug)]
pub struct Replay<'a> {
    /// The calling test's name as the test binary knows it: `module::function` inside a
    /// multi-module binary, the bare function name in a single-file one.
    pub test: &'a str,
    /// The corpus directory; every file in it is an input.
    pub dir: &'a Path,
    /// Fewer inputs than this fails the test (a moved or emptied corpus must not pass).
    pub min_inputs: usize,
    /// Stack size of the thread that checks one input, as in production.
    pub stack: usize,
}

/// The property: the input's file name and bytes in, the problems found out (a panic
/// propagates as itself).
pub type Check = fn(&str, &[u8]) -> Vec<String>;

/// Checks every input of `r.dir` with `check`, each in a child process, and panics listing
/// every input that failed. Returns how many inputs passed.
pub fn replay(r: &Replay<'_>, check: Check) -> usize {
    if let Some(input) = std::env::var_os(INPUT_VAR) {
        child(r, check, &PathBuf::from(input));
        return 1;
    }
    if let Some(name) = std::thread::current().name() {
        // libtest names each test's thread after the test; "main" means it ran on the main
        // thread, where the name is not known.
        assert!(
            name == "main" || name == r.test,
            "replay was given the test name `{}` but runs in `{name}`",
            r.test
        );
    }
    let inputs = inputs(r.dir);
    assert!(
        inputs.len() >= r.min_inputs.max(1),
        "{} has {} input(s), expected at least {}",
        r.dir.display(),
        inputs.len(),
        r.min_inputs.max(1)
    );
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("no test binary path: {e}"));
    let next = AtomicUsize::new(0);
    let problems = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while let Some(input) = inputs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if let Err(p) = run_child(&exe, r.test, input) {
                        problems.lock().unwrap_or_else(|e| e.into_inner()).push(p);
                    }
                }
            });
        }
    });
    let mut problems = problems.into_inner().unwrap_or_else(|e| e.into_inner());
    problems.sort();
    assert!(
        problems.is_empty(),
        "{} of {} input(s) in {} fail:\n{}",
        problems.len(),
        inputs.len(),
        r.dir.display(),
        problems.join("\n")
    );
    inputs.len()
}

/// The corpus files, sorted.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} must exist (it is committed): {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// In the child: checks the one input and prints the success line.
fn child(r: &Replay<'_>, check: Check, input: &Path) {
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = std::fs::read(input).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
    let problems = std::thread::Builder::new()
        .stack_size(r.stack)
        .spawn(move || check(&name, &bytes))
        .unwrap_or_else(|e| panic!("cannot start the checking thread: {e}"))
        .join()
        .unwrap_or_else(|_| panic!("the check panicked (message above)"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let mut out = std::io::stdout().lock();
    // libtest has already written `test NAME ... ` without a newline.
    let _ = writeln!(out, "\n{PASSED} {}", input.display());
    let _ = out.flush();
}

/// In the parent: runs one child; the error says what went wrong.
fn run_child(exe: &Path, test: &str, input: &Path) -> Result<(), String> {
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let out = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(INPUT_VAR, input)
        .output()
        .map_err(|e| format!("{name}: cannot run {}: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let passed = format!("{PASSED} {}", input.display());
    if out.status.success() && stdout.lines().any(|l| l.trim_end() == passed) {
        return Ok(());
    }
    if out.status.success() {
        return Err(format!(
            "{name}: the child exited cleanly without checking the input (is `{test}` the \
             calling test's exact name?)"
        ));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr
        .lines()
        .take_while(|l| !l.starts_with("stack backtrace:"))
        .filter(|l| !l.trim().is_empty())
        .take(12)
        .collect();
    Err(format!(
        "{name} ({}):\n    {}",
        out.status,
        tail.join("\n    ")
    ))
}
