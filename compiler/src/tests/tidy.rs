//! Architecture checks: the compiler stays pure, modules say what they do, files stay small.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            if !matches!(
                p.file_name().and_then(|n| n.to_str()),
                Some("target" | "corpus" | "artifacts")
            ) {
                rust_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn compiler_has_no_io_or_async_dependencies() {
    let manifest = std::fs::read_to_string(workspace().join("compiler/Cargo.toml")).unwrap();
    for dep in [
        "tokio",
        "hyper",
        "http",
        "arc-swap",
        "reqwest",
        "mio",
        "async-std",
        "futures",
    ] {
        let found = manifest.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with(&format!("{dep} "))
                || l.starts_with(&format!("{dep}="))
                || l.starts_with(&format!("{dep}."))
        });
        assert!(!found, "compiler must not depend on `{dep}`");
    }
}

#[test]
fn every_module_opens_with_a_doc_line() {
    let mut files = Vec::new();
    for krate in [
        "compiler",
        "dataplane",
        "cli",
        "benches",
        "fuzz",
        "testkit",
        "translate",
    ] {
        rust_files(&workspace().join(krate), &mut files);
    }
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a `//!` line: {missing:#?}"
    );
}

#[test]
fn files_stay_under_a_thousand_lines() {
    let mut files = Vec::new();
    for krate in [
        "compiler",
        "dataplane",
        "cli",
        "benches",
        "fuzz",
        "testkit",
        "translate",
    ] {
        rust_files(&workspace().join(krate), &mut files);
    }
    for f in files {
        let n = std::fs::read_to_string(&f).unwrap().lines().count();
        assert!(n < 1000, "{} has {n} lines; split it", f.display());
    }
}

/// The data plane sees only `compiler::table` (its tests may compile configs).
#[test]
fn dataplane_uses_only_the_table_api() {
    let mut files = Vec::new();
    rust_files(&workspace().join("dataplane/src"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (i, line) in code.lines().enumerate() {
            let mut rest = line;
            while let Some(pos) = rest.find("compiler::") {
                let after = &rest[pos + "compiler::".len()..];
                assert!(
                    after.starts_with("table"),
                    "{}:{}: the data plane may use only `compiler::table`",
                    f.display(),
                    i + 1
                );
                rest = after;
            }
        }
    }
}
