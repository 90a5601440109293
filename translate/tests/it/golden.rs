//! Golden tests: every fixture under `tests/golden/` translated for every other protocol and
//! compared with the expected file next to it. `UPDATE_GOLDENS=1 cargo test -p translate --test
//! it golden` rewrites the expected files (review the diff before committing!).
//!
//! Layout (`<p>` ∈ chat, responses, messages, gemini):
//! - `request/<case>/<caller>.json` → `<caller>-to-<upstream>.json`: the caller's body through
//!   `request::decode` and `request::encode(upstream, .., "test-model", ..)`, pretty-printed.
//! - `response/<case>/<upstream>.json` → `<upstream>-to-<caller>.json`: a whole answer through
//!   `response::decode`/`encode`, or with `"status"` in `ctx.json` an error body through
//!   `decode_error`/`encode_error`.
//! - `stream/<case>/<upstream>.sse` → `<upstream>-to-<caller>.sse`: the caller's bytes from a
//!   [`translate::stream::Translator`] driven like the relay does, after `#>` header lines
//!   naming the outcome. Every stream output is also held to `testkit::wellformed`.
//!
//! `ctx.json` in a case directory overrides `include_usage` (default true), `json_array`
//! (false), `stream` (request side, Gemini callers), `callers` (which callers to render) and
//! `strict` (true: tool arguments must be whole JSON; false where the upstream sends broken JSON),
//! and under `vectors` names the inputs taken from `testkit::vectors` instead of a file
//! (`fixtures.rs`).
//!
//! Every file in a case directory must be an input, `ctx.json` or an expected output some
//! input produces; anything else (an expected file whose input is gone) fails, naming it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;
use testkit::drive::{self, Outcome, PROTOCOLS};
use testkit::wellformed::{self, End, Expect};
use translate::{Protocol, request, response};

use crate::fixtures::{case_dirs, ctx_json, inputs, root};

/// Outputs known to be wrong: not blessed by `UPDATE_GOLDENS`, not compared, listed in the
/// test output. Each names the expected file and what is wrong with the actual output. When
/// a codec is fixed, remove the entry and bless.
const KNOWN_WRONG: &[(&str, &str, &str)] = &[];

/// How a fixed output's header starts (the third field of a [`KNOWN_WRONG`] entry): a
/// well-formed output starting so is reported as fixed.
#[allow(
    dead_code,
    reason = "the marker for KNOWN_WRONG entries; none at present"
)]
const CLEAN: &str = "#> done\n";

fn updating() -> bool {
    std::env::var_os("UPDATE_GOLDENS").is_some_and(|v| v != "0")
}

#[derive(Clone, Debug)]
struct CaseCtx {
    include_usage: bool,
    json_array: bool,
    stream: Option<bool>,
    status: Option<u16>,
    callers: Option<Vec<String>>,
    /// Hold tool arguments to whole JSON (false where the upstream itself sends broken JSON).
    strict: bool,
}

fn case_ctx(dir: &Path) -> CaseCtx {
    let v = ctx_json(dir);
    CaseCtx {
        include_usage: v["include_usage"].as_bool().unwrap_or(true),
        json_array: v["json_array"].as_bool().unwrap_or(false),
        stream: v["stream"].as_bool(),
        status: v["status"].as_u64().map(|s| s as u16),
        strict: v["strict"].as_bool().unwrap_or(true),
        callers: v["callers"].as_array().map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        }),
    }
}

fn targets(c: &CaseCtx, from: Protocol) -> impl Iterator<Item = (Protocol, &'static str)> + '_ {
    PROTOCOLS.iter().copied().filter(move |&(p, name)| {
        p != from
            && c.callers
                .as_ref()
                .is_none_or(|cs| cs.iter().any(|c| c == name))
    })
}

fn pretty(bytes: &[u8]) -> String {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap() + "\n",
        Err(e) => format!("#> not JSON ({e}):\n{}\n", String::from_utf8_lossy(bytes)),
    }
}

/// Collects comparisons and well-formedness problems; fails once at the end with all of them.
#[derive(Default)]
struct Report {
    failures: Vec<String>,
    known: Vec<String>,
    seen: BTreeSet<PathBuf>,
    checked: usize,
}

impl Report {
    fn known_wrong(path: &Path) -> Option<(&'static str, &'static str)> {
        let rel = path.strip_prefix(root()).ok()?.to_str()?.to_owned();
        KNOWN_WRONG
            .iter()
            .find(|(p, _, _)| *p == rel)
            .map(|(_, why, fixed)| (*why, *fixed))
    }

    /// Compares (or with `UPDATE_GOLDENS` writes) one expected file; `problems` are the
    /// mechanical checks' findings for the actual output.
    fn expect(&mut self, path: PathBuf, actual: &str, problems: Vec<String>) {
        self.checked += 1;
        self.seen.insert(path.clone());
        let rel = path.strip_prefix(root()).unwrap().display().to_string();
        if let Some((why, fixed)) = Report::known_wrong(&path) {
            if problems.is_empty() && actual.starts_with(fixed) {
                self.failures.push(format!(
                    "{rel}: listed in KNOWN_WRONG ({why}) but looks fixed: review, remove the \
                     entry and bless; actual:\n{}",
                    indent(actual)
                ));
            } else {
                self.known.push(format!("{rel}: {why}"));
            }
            return;
        }
        if !problems.is_empty() {
            self.failures.push(format!(
                "{rel}: the actual output is malformed:\n  - {}\n{}",
                problems.join("\n  - "),
                indent(actual)
            ));
        }
        if updating() {
            if problems.is_empty() {
                std::fs::write(&path, actual).unwrap();
            }
            return;
        }
        match std::fs::read_to_string(&path) {
            Err(_) => self.failures.push(format!(
                "{rel}: missing (run with UPDATE_GOLDENS=1 and review); actual:\n{}",
                indent(actual)
            )),
            Ok(expected) if expected != actual => self
                .failures
                .push(format!("{rel}: differs\n{}", diff(&expected, actual))),
            Ok(_) => {}
        }
    }

    /// Files no case reads or produces: an expected output whose input is gone, or anything
    /// else that is neither an input nor `ctx.json`. Also a case without any input.
    fn stale(&mut self, kind: &str) {
        let ext = if kind == "stream" { "sse" } else { "json" };
        for dir in case_dirs(kind) {
            if inputs(&dir, ext).is_empty() {
                self.failures
                    .push(format!("{}: a case without inputs", dir.display()));
            }
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_str().unwrap();
                let input = PROTOCOLS.iter().any(|(_, n)| name == format!("{n}.{ext}"));
                if self.seen.contains(&p) || input || name == "ctx.json" {
                    continue;
                }
                let what = if name.contains("-to-") {
                    "stale expected file (no input produces it)"
                } else {
                    "unexpected file (not an input, not ctx.json, not an expected output)"
                };
                self.failures.push(format!("{}: {what}", p.display()));
            }
        }
    }

    fn finish(self, kind: &str) {
        for k in &self.known {
            eprintln!("known wrong (not compared): {k}");
        }
        assert!(self.checked > 0, "{kind}: nothing checked");
        assert!(
            self.failures.is_empty(),
            "{kind}: {} of {} golden outputs fail:\n\n{}",
            self.failures.len(),
            self.checked,
            self.failures.join("\n\n")
        );
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}\n")).collect()
}

/// A line diff (longest common subsequence; the files are small).
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::from("    --- expected\n    +++ actual\n");
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "    +{}", b[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "    -{}", a[i]);
            i += 1;
        }
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        out.push_str("    (the files differ in their final newline)\n");
    }
    out
}

#[test]
fn request_goldens() {
    let mut r = Report::default();
    for dir in case_dirs("request") {
        let c = case_ctx(&dir);
        for (caller, cname, body) in inputs(&dir, "json") {
            let stream = c.stream.unwrap_or(false);
            let decoded = request::decode(caller, &body, stream);
            for (upstream, uname) in targets(&c, caller) {
                let actual = match &decoded {
                    Err(e) => format!("#> decode refused: {e:?}\n"),
                    Ok(req) => match request::encode(upstream, req, "test-model", req.stream) {
                        Ok(b) => pretty(&b),
                        Err(e) => format!("#> encode refused: {e:?}\n"),
                    },
                };
                r.expect(
                    dir.join(format!("{cname}-to-{uname}.json")),
                    &actual,
                    Vec::new(),
                );
            }
        }
    }
    r.stale("request");
    r.finish("request");
}

#[test]
fn response_goldens() {
    let mut r = Report::default();
    for dir in case_dirs("response") {
        let c = case_ctx(&dir);
        let ctx = drive::ctx(c.include_usage, c.json_array);
        for (upstream, uname, body) in inputs(&dir, "json") {
            for (caller, cname) in targets(&c, upstream) {
                let actual = match c.status {
                    Some(status) => {
                        let info = response::decode_error(status, &body);
                        let out = response::encode_error(caller, status, &info);
                        format!("#> HTTP {status}, {:?}\n{}", info.kind, pretty(&out))
                    }
                    None => match response::decode(upstream, &body, &ctx) {
                        Ok(resp) => pretty(&response::encode(caller, &resp, &ctx)),
                        Err(e) => format!("#> decode refused: {e}\n"),
                    },
                };
                r.expect(
                    dir.join(format!("{uname}-to-{cname}.json")),
                    &actual,
                    Vec::new(),
                );
            }
        }
    }
    r.stale("response");
    r.finish("response");
}

/// The expected-file rendering of one translated stream: `#>` outcome lines, then the bytes.
fn render_stream(caller: Protocol, run: &drive::Run) -> String {
    let mut s = String::new();
    match &run.outcome {
        Outcome::Done { failed: false } => s.push_str("#> done\n"),
        Outcome::Done { failed: true } => {
            s.push_str("#> done, failed: ends with a terminal error frame\n")
        }
        Outcome::ErrorBeforeCommit(e) => {
            let status = e.kind.status();
            let body = response::encode_error(caller, status, e);
            let _ = write!(
                s,
                "#> error before the commit point ({:?}): the caller gets HTTP {status} with\n{}",
                e.kind,
                pretty(&body)
            );
        }
        Outcome::MalformedBeforeCommit => s.push_str("#> malformed before the commit point\n"),
        Outcome::TooLarge => s.push_str("#> too large\n"),
        Outcome::Unfinished => s.push_str("#> UNFINISHED after eof\n"),
    }
    for p in &run.problems {
        let _ = writeln!(s, "#> contract breach: {p}");
    }
    s.push_str(&String::from_utf8_lossy(&run.out));
    s
}

#[test]
fn stream_goldens() {
    let mut r = Report::default();
    for dir in case_dirs("stream") {
        let c = case_ctx(&dir);
        let ctx = drive::ctx(c.include_usage, c.json_array);
        for (upstream, uname, body) in inputs(&dir, "sse") {
            for (caller, cname) in targets(&c, upstream) {
                let run = drive::run(upstream, caller, &ctx, &[&body]);
                let mut problems = run.problems.clone();
                let end = match run.outcome {
                    Outcome::Done { failed } => Some(if failed { End::Failed } else { End::Clean }),
                    Outcome::ErrorBeforeCommit(_) | Outcome::MalformedBeforeCommit => {
                        if run.committed {
                            problems.push("pre-commit outcome but committed".into());
                        }
                        None
                    }
                    _ => {
                        problems.push(format!("outcome {:?}", run.outcome));
                        None
                    }
                };
                if let Some(end) = end {
                    problems.extend(wellformed::check(
                        &Expect {
                            caller,
                            end,
                            model: ctx.model,
                            include_usage: ctx.include_usage,
                            json_array: ctx.json_array,
                            strict: c.strict,
                        },
                        &run.out,
                    ));
                }
                let actual = render_stream(caller, &run);
                r.expect(
                    dir.join(format!("{uname}-to-{cname}.sse")),
                    &actual,
                    problems,
                );
            }
        }
    }
    r.stale("stream");
    r.finish("stream");
}
