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

/// The quoted strings of the array `key = [...]` in the `[workspace]` table of the root
/// manifest (the array may span lines).
fn workspace_list(manifest: &str, key: &str) -> Vec<String> {
    let table = format!("\n{manifest}");
    let table = table
        .split("\n[")
        .find(|t| t.starts_with("workspace]"))
        .expect("the root Cargo.toml has a [workspace] table");
    let Some(start) = table.lines().position(|l| {
        l.trim_start().starts_with(&format!("{key} "))
            || l.trim_start().starts_with(&format!("{key}="))
    }) else {
        return Vec::new();
    };
    // Comments end at the line's end; crate paths contain no `#`.
    let rest: String = table
        .lines()
        .skip(start)
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let open = rest.find('[').expect("an array");
    let close = rest[open..].find(']').expect("a closed array") + open;
    rest[open + 1..close]
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Every package directory: the workspace members and the excluded packages (`fuzz`, which has
/// its own lock file), as the root Cargo.toml lists them, so a new crate is checked without
/// editing this file.
fn crates() -> Vec<String> {
    let manifest = std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap();
    let mut crates = workspace_list(&manifest, "members");
    assert!(
        crates.iter().any(|c| c == "compiler"),
        "could not read the workspace members from Cargo.toml: {crates:?}"
    );
    crates.extend(workspace_list(&manifest, "exclude"));
    for c in &crates {
        assert!(
            !c.contains(['*', '?', '[']),
            "workspace entry `{c}` is a glob; list crates one by one (or expand globs here)"
        );
    }
    crates
}

/// Every `.rs` file of every package; each package must contribute at least one, so a crate
/// that moved or a misread list cannot make the checks below vacuous.
fn workspace_rust_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for krate in crates() {
        let before = files.len();
        rust_files(&workspace().join(&krate), &mut files);
        assert!(
            files.len() > before,
            "no .rs files under `{krate}` (listed in Cargo.toml)"
        );
    }
    files
}

#[test]
fn the_crate_list_is_the_workspace() {
    let manifest = "[package]\nname = \"x\"\n\n[workspace]\nresolver = \"3\"\nmembers = [\n  \"a\", # the first\n  \"b\", \"c\"\n]\nexclude = [\"fuzz\"]\n\n[workspace.package]\nedition = \"2024\"\n";
    assert_eq!(workspace_list(manifest, "members"), ["a", "b", "c"]);
    assert_eq!(workspace_list(manifest, "exclude"), ["fuzz"]);
    assert!(workspace_list(manifest, "default-members").is_empty());
    let ours = crates();
    for c in ["compiler", "dataplane", "translate", "testkit", "fuzz"] {
        assert!(ours.iter().any(|o| o == c), "{c} missing from {ours:?}");
    }
}

/// The `[dependencies]` tables (plain, build and per-target) of a manifest: name of each entry.
fn normal_dependencies(manifest: &str) -> Vec<String> {
    let mut deps = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let l = line.trim();
        if let Some(table) = l.strip_prefix('[') {
            let table = table.trim_end_matches(']');
            in_deps = table == "dependencies"
                || table == "build-dependencies"
                || (table.starts_with("target.") && table.ends_with(".dependencies"));
            continue;
        }
        if in_deps && !l.is_empty() && !l.starts_with('#') {
            if let Some(name) = l.split(['=', '.', ' ']).next() {
                deps.push(name.trim().to_owned());
            }
        }
    }
    deps
}

#[test]
fn compiler_has_no_io_or_async_dependencies() {
    let manifest = std::fs::read_to_string(workspace().join("compiler/Cargo.toml")).unwrap();
    let deps = normal_dependencies(&manifest);
    assert!(
        deps.iter().any(|d| d == "serde"),
        "could not read compiler's [dependencies]: {deps:?}"
    );
    for dep in [
        "tokio",
        "hyper",
        "http",
        "arc-swap",
        "reqwest",
        "mio",
        "async-std",
        "futures",
        // Test support (it pulls in tokio) belongs in [dev-dependencies] only.
        "testkit",
    ] {
        assert!(
            !deps.iter().any(|d| d == dep),
            "compiler must not depend on `{dep}`"
        );
    }
}

#[test]
fn every_module_opens_with_a_doc_line() {
    let missing: Vec<String> = workspace_rust_files()
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
    for f in workspace_rust_files() {
        let n = std::fs::read_to_string(&f).unwrap().lines().count();
        assert!(n < 1000, "{} has {n} lines; split it", f.display());
    }
}

/// The data plane sees only `compiler::table` (its tests may compile configs).
#[test]
fn dataplane_uses_only_the_table_api() {
    let mut files = Vec::new();
    rust_files(&workspace().join("dataplane/src"), &mut files);
    assert!(files.len() > 5, "dataplane/src: {files:?}");
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
