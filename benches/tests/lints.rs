//! `benches/Cargo.toml` copies the workspace lints (see the comment there); this keeps the copy
//! honest: the same lints at the same levels, except `unsafe_code`, which is `deny` here so the
//! counting allocator's one module can allow it.

use std::collections::BTreeSet;
use std::path::Path;

/// `section.key = value` lines of every table whose name starts with `prefix`, with `prefix`
/// removed, comments and blank lines dropped.
fn lint_lines(manifest: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut section: Option<String> = None;
    for line in manifest.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.strip_prefix(prefix).map(str::to_owned);
            continue;
        }
        let line = line.split('#').next().unwrap_or("").trim();
        if let (Some(s), false) = (&section, line.is_empty()) {
            let normalized: String = line.split_whitespace().collect::<Vec<_>>().join(" ");
            out.insert(format!("{s}.{normalized}"));
        }
    }
    out
}

#[test]
fn lints_match_the_workspace_except_unsafe_code() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = std::fs::read_to_string(here.join("../Cargo.toml")).unwrap();
    let ours = std::fs::read_to_string(here.join("Cargo.toml")).unwrap();
    let mut expected = lint_lines(&root, "workspace.lints.");
    assert!(
        expected.remove("rust.unsafe_code = \"forbid\""),
        "the workspace no longer forbids unsafe_code: revisit benches/Cargo.toml"
    );
    expected.insert("rust.unsafe_code = \"deny\"".to_owned());
    assert_eq!(
        lint_lines(&ours, "lints."),
        expected,
        "benches/Cargo.toml [lints] drifted from [workspace.lints]"
    );
}
