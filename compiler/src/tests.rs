//! Golden tests over `compiler/test_data/`: each `NAME.yaml` sits next to its expected output.
//!
//! - `ok/`: must compile in strict mode; `NAME.table` is the table dump plus any warnings.
//! - `err/`: must fail in strict mode; `NAME.diagnostics` is the rendered diagnostics.
//! - `lenient/`: compiled as `config validate` does without `--strict` (unset variables are
//!   warnings); `NAME.out` is the outcome.
//!
//! Every case sees the same environment, `test_data/env` (`KEY=VALUE` lines), unless a
//! `NAME.env` sits beside it. `UPDATE_EXPECT=1 cargo test -p compiler` rewrites the expectations.

#![allow(
    clippy::disallowed_methods,
    reason = "tests read their fixtures; the compiler itself stays pure"
)]

mod guardrails;
mod tidy;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use expect_test::expect_file;

use crate::diagnostic::render::render_human;
use crate::{Code, EnvMode, SourceFile, compile};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data")
}

fn read_env(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// Runs every case in `dir`, returning all expected-output texts (for the coverage check).
fn run_dir(dir: &str, mode: EnvMode, ext: &str, expect_ok: Option<bool>) -> Vec<String> {
    let default_env = read_env(&data_dir().join("env"));
    let mut cases: Vec<PathBuf> = std::fs::read_dir(data_dir().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {dir}");
    let orphans = orphans(&data_dir().join(dir), ext);
    assert!(
        orphans.is_empty(),
        "{dir}: files without a case (an expected output or env whose `.yaml` is gone, or a \
         stray file): {orphans:?}"
    );
    let mut outputs = Vec::new();
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let env_path = case.with_extension("env");
        let env = if env_path.exists() {
            read_env(&env_path)
        } else {
            default_env.clone()
        };
        let text = std::fs::read_to_string(&case).unwrap();
        let source = SourceFile::new(format!("{dir}/{name}"), text);
        let out = match compile(&source, &env, mode) {
            Ok(c) => {
                if expect_ok == Some(false) {
                    panic!("{dir}/{name} compiled but must fail");
                }
                let mut s = c.table.dump();
                if !c.warnings.is_empty() {
                    s.push_str("\n--- warnings ---\n");
                    s.push_str(&render_human(&source, &c.warnings, false));
                }
                s
            }
            Err(d) => {
                if expect_ok == Some(true) {
                    panic!(
                        "{dir}/{name} must compile:\n{}",
                        render_human(&source, &d, false)
                    );
                }
                render_human(&source, &d, false)
            }
        };
        expect_file![case.with_extension(ext)].assert_eq(&out);
        outputs.push(out);
    }
    outputs
}

/// Files in a case directory that belong to no case: anything but `NAME.yaml` and, beside it,
/// `NAME.<ext>` (the expected output) and `NAME.env`.
fn orphans(dir: &Path, ext: &str) -> Vec<String> {
    let mut orphans: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let belongs = match p.extension().and_then(|e| e.to_str()) {
                Some("yaml") => true,
                Some(e) if e == ext || e == "env" => p.with_extension("yaml").is_file(),
                _ => false,
            };
            !belongs
        })
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    orphans.sort();
    orphans
}

#[test]
fn orphaned_expected_files_are_found() {
    let dir = std::env::temp_dir().join(format!("bitrouter-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in [
        "a.yaml",
        "a.table",
        "a.env",
        "b.table",
        "c.env",
        "notes.txt",
    ] {
        std::fs::write(dir.join(f), "").unwrap();
    }
    let found = orphans(&dir, "table");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found, ["b.table", "c.env", "notes.txt"]);
}

#[test]
fn golden_ok() {
    run_dir("ok", EnvMode::Strict, "table", Some(true));
}

#[test]
fn golden_err() {
    run_dir("err", EnvMode::Strict, "diagnostics", Some(false));
}

#[test]
fn golden_lenient() {
    run_dir("lenient", EnvMode::Lenient, "out", None);
}

/// Every diagnostic code is produced by at least one golden case.
#[test]
fn every_code_has_a_golden_case() {
    let mut all = run_dir("err", EnvMode::Strict, "diagnostics", Some(false));
    all.extend(run_dir("lenient", EnvMode::Lenient, "out", None));
    all.extend(run_dir("ok", EnvMode::Strict, "table", Some(true)));
    let text = all.join("\n");
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !text.contains(&format!("[{c}]")))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a golden case: {missing:?}"
    );
}

/// A secret written in the file, or read from the environment, shows in no `Debug` output of
/// any layer, in the table dump, or in the diagnostics.
#[test]
fn secrets_never_print() {
    const SENTINEL: &str = "SENTINEL-sk-9f8e7d";
    let text = format!(
        "providers:\n  openai:\n    api_key: {SENTINEL}-literal\n    headers:\n      X-Auth: {SENTINEL}-header\n  anthropic:\n    api_key: ${{ANTHROPIC_API_KEY}}\n    api_bse: typo\nmcp_servers:\n  files:\n    command: mcp\n    env: {{ TOKEN: {SENTINEL}-mcp }}\n"
    );
    let env: HashMap<String, String> =
        [("ANTHROPIC_API_KEY".to_owned(), format!("{SENTINEL}-env"))]
            .into_iter()
            .collect();
    let source = SourceFile::new("secrets.yaml", text);

    let mut acc = crate::diagnostic::Diagnostics::default();
    let mut node = crate::syntax::parse(&source).unwrap();
    crate::syntax::expand_env(
        &mut node,
        source.text(),
        &env,
        EnvMode::Strict,
        &mut String::new(),
        &mut acc,
    );
    let ast: crate::ast::Config = crate::syntax::de::from_node(&node, "", &mut acc).unwrap();
    let ast_debug = format!("{ast:?}");
    let cx = crate::resolve::Context {
        env: &env,
        mode: EnvMode::Strict,
    };
    let resolved = crate::resolve::resolve(&mut acc, &cx, ast);
    let resolved_debug = format!("{resolved:?}");
    let diagnostics = render_human(&source, &acc.into_sorted(), false);

    // The unknown key makes the file invalid; compile the rest without it for the table.
    let fixed = SourceFile::new(
        "secrets.yaml",
        source.text().replace("    api_bse: typo\n", ""),
    );
    let compiled = compile(&fixed, &env, EnvMode::Strict).unwrap();
    let table_debug = format!("{:?}", compiled.table);
    let dump = compiled.table.dump();

    for (what, text) in [
        ("ast Debug", &ast_debug),
        ("resolved Debug", &resolved_debug),
        ("table Debug", &table_debug),
        ("table dump", &dump),
    ] {
        assert!(!text.contains(SENTINEL), "{what} shows a secret:\n{text}");
    }
    // Diagnostics quote the file's own lines only where the error is; the env value never.
    assert!(
        !diagnostics.contains(&format!("{SENTINEL}-env")),
        "{diagnostics}"
    );
}
