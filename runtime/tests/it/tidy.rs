//! The runtime's own architecture checks (the compiler's tidy test covers the other crates):
//! every module opens with a `//!` line, files stay under 1,000 lines, and neither the
//! compiler nor the data plane depends on the runtime.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn modules_open_with_a_doc_line_and_stay_small() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("tests"), &mut files);
    assert!(files.len() > 10, "{files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} lacks a `//!` line",
            f.display()
        );
        let n = text.lines().count();
        assert!(n < 1000, "{} has {n} lines; split it", f.display());
    }
}

#[test]
fn the_hot_path_and_the_compiler_do_not_depend_on_the_runtime() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for krate in ["compiler", "dataplane", "translate"] {
        let manifest = std::fs::read_to_string(root.join(krate).join("Cargo.toml")).unwrap();
        assert!(
            !manifest
                .lines()
                .any(|l| l.trim_start().starts_with("runtime")),
            "{krate} must not depend on runtime"
        );
    }
}
