//! The golden fixtures under `tests/golden/{request,response,stream}/<case>/`, as every module of
//! this binary reads them.
//!
//! A case's input for protocol `p` is the file `<p>.<ext>` in its directory, or, when the
//! case's `ctx.json` maps `p` under `"vectors"` (`{"vectors": {"chat": "stream_text.sse"}}`;
//! `"chat/error_401.json"` names another protocol's), that reference vector from
//! `testkit::vectors`, so that no vector is copied into the golden tree. Naming a vector that
//! does not exist, or giving a protocol both a file and a vector, fails.

use std::path::{Path, PathBuf};

use serde_json::Value;
use testkit::drive::PROTOCOLS;
use translate::Protocol;

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The case directories of `kind` (`request`, `response`, `stream`), sorted; never none.
pub(crate) fn case_dirs(kind: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no {kind} cases");
    dirs
}

/// The case's `ctx.json` (`null` when there is none).
pub(crate) fn ctx_json(dir: &Path) -> Value {
    std::fs::read(dir.join("ctx.json"))
        .ok()
        .map(|b| serde_json::from_slice(&b).expect("ctx.json is JSON"))
        .unwrap_or_default()
}

/// The input of protocol `name` (`chat`, …) with extension `ext`, if the case has one.
pub(crate) fn input(dir: &Path, name: &str, ext: &str) -> Option<Vec<u8>> {
    let file = std::fs::read(dir.join(format!("{name}.{ext}"))).ok();
    let ctx = ctx_json(dir);
    let vector = ctx["vectors"][name].as_str().map(|v| {
        // `file` is the protocol's own vector; `protocol/file` another protocol's.
        let (proto, file) = v.split_once('/').unwrap_or((name, v));
        testkit::vectors::all()
            .find(|&(d, f, _)| d == proto && f == file)
            .map(|(_, _, text)| text.as_bytes().to_vec())
            .unwrap_or_else(|| panic!("{}: no vector {name}/{v}", dir.display()))
    });
    assert!(
        file.is_none() || vector.is_none(),
        "{}: {name}.{ext} is both a file and a vector",
        dir.display()
    );
    file.or(vector)
}

/// Every input of a case: (protocol, name, bytes) for each protocol present.
pub(crate) fn inputs(dir: &Path, ext: &str) -> Vec<(Protocol, &'static str, Vec<u8>)> {
    if let Some(vectors) = ctx_json(dir)["vectors"].as_object() {
        for name in vectors.keys() {
            assert!(
                PROTOCOLS.iter().any(|(_, n)| n == name),
                "{}: ctx.json names vectors for `{name}`, which is no protocol",
                dir.display()
            );
        }
    }
    PROTOCOLS
        .iter()
        .filter_map(|&(p, name)| input(dir, name, ext).map(|b| (p, name, b)))
        .collect()
}
