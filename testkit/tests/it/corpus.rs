//! `testkit::corpus::replay` itself: an input that fails, panics or overflows its stack fails
//! the replay and is named, the others pass, and a replay that checks nothing cannot pass.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use testkit::corpus::{INPUT_VAR, Replay, replay};

/// A small corpus under the target's scratch directory.
fn corpus(name: &str, files: &[&str]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    if std::env::var_os(INPUT_VAR).is_none() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for f in files {
            std::fs::write(dir.join(f), f.as_bytes()).unwrap();
        }
    }
    dir
}

fn deep(n: u64) -> u64 {
    let pad = std::hint::black_box([n; 256]);
    if n == 0 { 0 } else { deep(n - 1) + pad[7] }
}

fn check(name: &str, _: &[u8]) -> Vec<String> {
    match name {
        "bad" => vec!["bad is bad".to_owned()],
        "panics" => panic!("the check panics"),
        "overflows" => vec![deep(u64::MAX).to_string()],
        _ => Vec::new(),
    }
}

fn message(e: &Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn failing_inputs_fail_the_replay_by_name() {
    let dir = corpus("corpus-failing", &["bad", "good", "overflows", "panics"]);
    let r = Replay {
        test: "corpus::failing_inputs_fail_the_replay_by_name",
        dir: &dir,
        min_inputs: 4,
        stack: 256 << 10,
    };
    if std::env::var_os(INPUT_VAR).is_some() {
        // The child: check the one input as the real tests do.
        replay(&r, check);
        return;
    }
    let err = catch_unwind(AssertUnwindSafe(|| replay(&r, check))).unwrap_err();
    let m = message(&err);
    assert!(m.contains("3 of 4 input(s)"), "{m}");
    assert!(m.contains("bad is bad"), "{m}");
    assert!(m.contains("the check panics"), "{m}");
    assert!(m.contains("\noverflows ("), "{m}");
    assert!(!m.contains("\ngood"), "{m}");
}

#[test]
fn a_replay_that_checks_nothing_fails() {
    // Too few inputs.
    let empty = corpus("corpus-empty", &[]);
    let r = Replay {
        test: "corpus::a_replay_that_checks_nothing_fails",
        dir: &empty,
        min_inputs: 0,
        stack: 256 << 10,
    };
    let m = message(&catch_unwind(AssertUnwindSafe(|| replay(&r, check))).unwrap_err());
    assert!(m.contains("has 0 input(s)"), "{m}");
    // A test name that is not this test's: the children would run nothing.
    let dir = corpus("corpus-misnamed", &["good"]);
    let r = Replay {
        test: "corpus::no_such_test",
        dir: &dir,
        min_inputs: 1,
        stack: 256 << 10,
    };
    let m = message(&catch_unwind(AssertUnwindSafe(|| replay(&r, check))).unwrap_err());
    assert!(
        m.contains("was given the test name") || m.contains("without checking the input"),
        "{m}"
    );
}
