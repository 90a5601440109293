//! The two readers of [`super::read`] agree: the tree built from the parser's events
//! (`events`) is `serde-saphyr`'s tree, node for node and span for span, and every document the
//! event reader leaves to `serde-saphyr` (anchors, aliases, merge keys, tags, errors, limits)
//! gives what `serde-saphyr` gives — its tree, or its diagnostic.

#![allow(
    clippy::disallowed_methods,
    reason = "tests read the repository's configurations; the compiler itself stays pure"
)]

use std::path::{Path, PathBuf};

use super::{Key, Node, NodeKind, Reader, compare_readers, parse};
use crate::source::{SourceFile, Span};

/// Both readers on `text`; panics on a disagreement. Returns the reader `parse` uses.
fn agree(text: &str) -> Reader {
    let source = SourceFile::new("t.yaml", text);
    match compare_readers(&source) {
        Ok(reader) => reader,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

/// The tree of `text`, which the event reader must build.
fn fast(text: &str) -> Node {
    assert_eq!(agree(text), Reader::Events, "{text:?} left to serde-saphyr");
    parse(&SourceFile::new("t.yaml", text)).expect("parses")
}

/// The value of the one key of `text` (`k: …`).
fn value(text: &str) -> NodeKind {
    match fast(text).kind {
        NodeKind::Map(mut entries) if entries.len() == 1 => entries.remove(0).1.kind,
        other => panic!("{text:?}: {other:?}"),
    }
}

fn s(v: &str) -> NodeKind {
    NodeKind::Str(v.to_owned())
}

#[test]
fn plain_scalars_are_typed_as_serde_saphyr_types_them() {
    let cases: &[(&str, NodeKind)] = &[
        // Strict booleans: YAML 1.2's `true`/`false` (any case) only.
        ("true", NodeKind::Bool(true)),
        ("False", NodeKind::Bool(false)),
        ("TRUE", NodeKind::Bool(true)),
        ("yes", s("yes")),
        ("no", s("no")),
        ("on", s("on")),
        ("off", s("off")),
        ("y", s("y")),
        ("N", s("N")),
        // Nulls.
        ("~", NodeKind::Null),
        ("null", NodeKind::Null),
        ("NULL", NodeKind::Null),
        ("", NodeKind::Null),
        ("nil", s("nil")),
        // Integers: radices, signs, underscores; decimal leading zeros are not integers.
        ("0", NodeKind::Int(0)),
        ("-0", NodeKind::Int(0)),
        ("+7", NodeKind::Int(7)),
        ("0x10", NodeKind::Int(16)),
        ("0X1f", NodeKind::Int(31)),
        ("0o17", NodeKind::Int(15)),
        ("0b101", NodeKind::Int(5)),
        ("-0x10", NodeKind::Int(-16)),
        ("1_000", NodeKind::Int(1000)),
        ("1__0", s("1__0")),
        ("_1", s("_1")),
        ("0x_1", s("0x_1")),
        ("0127", NodeKind::Float(127.0)),
        ("-0127", NodeKind::Float(-127.0)),
        ("9223372036854775807", NodeKind::Int(i64::MAX)),
        ("-9223372036854775808", NodeKind::Int(i64::MIN)),
        (
            "9223372036854775808",
            NodeKind::Float(9_223_372_036_854_775_808.0),
        ),
        ("0xFFFFFFFFFFFFFFFFFF", s("0xFFFFFFFFFFFFFFFFFF")),
        ("0o8", s("0o8")),
        // Floats.
        ("1e3", NodeKind::Float(1000.0)),
        ("1.5", NodeKind::Float(1.5)),
        ("-.5", NodeKind::Float(-0.5)),
        ("1.", NodeKind::Float(1.0)),
        ("6.02E+23", NodeKind::Float(6.02e23)),
        ("inf", s("inf")),
        ("nan", s("nan")),
        ("infinity", s("infinity")),
        ("1e", s("1e")),
        ("1_0.5", s("1_0.5")),
        // Strings.
        ("1.2.3", s("1.2.3")),
        ("gpt-4o", s("gpt-4o")),
        ("12:30", s("12:30")),
        ("${PORT:-8080}", s("${PORT:-8080}")),
        ("2026-01-01", s("2026-01-01")),
        ("é1", s("é1")),
    ];
    for (text, want) in cases {
        assert_eq!(&value(&format!("k: {text}\n")), want, "k: {text}");
        // The same in a flow sequence (where an empty entry is no entry).
        if !text.is_empty() && !text.contains(['{', ':']) {
            let NodeKind::Seq(items) = value(&format!("k: [{text}]\n")) else {
                panic!("{text:?}: not a list")
            };
            assert_eq!(&items[0].kind, want, "k: [{text}]");
        }
    }
}

#[test]
fn quoted_and_block_scalars_are_strings() {
    for (text, want) in [
        ("'true'", "true"),
        ("\"0x10\"", "0x10"),
        ("'~'", "~"),
        ("\"\"", ""),
        ("'1e3'", "1e3"),
        ("\"a\\tb\"", "a\tb"),
        ("'it''s'", "it's"),
        ("|\n  line 1\n  line 2\n", "line 1\nline 2\n"),
        ("|-\n  12\n", "12"),
        (">\n  folded\n  text\n", "folded text\n"),
        (">-\n  true\n", "true"),
    ] {
        assert_eq!(value(&format!("k: {text}\n")), s(want), "k: {text}");
    }
}

#[test]
fn multi_line_plain_scalars_are_folded_then_typed() {
    assert_eq!(value("k: one\n  two\n\n  three\n"), s("one two\nthree"));
    assert_eq!(value("k: 1\n  2\n"), s("1 2"));
    assert_eq!(value("k:\n  true\n"), NodeKind::Bool(true));
}

#[test]
fn keys_are_read_as_their_spelling_and_spans_cover_the_text() {
    let text = "1: a\n0x10: b\ntrue: c\n~: d\n'q': e\nk:\n";
    let NodeKind::Map(entries) = fast(text).kind else {
        panic!()
    };
    let names: Vec<&str> = entries.iter().map(|(k, _)| k.name.as_str()).collect();
    assert_eq!(names, ["1", "16", "true", "null", "q", "k"]);
    let key = |i: usize| &text[entries[i].0.span.range()];
    assert_eq!((key(1), key(4)), ("0x10", "'q'"));
    // An empty value is a null at the token after the key.
    assert_eq!(entries[5].1.kind, NodeKind::Null);
    // A float key is left to serde-saphyr, which reads it the same.
    assert_eq!(agree("1.5: a\n"), Reader::SerdeSaphyr);
}

#[test]
fn spans_of_collections_and_nested_values() {
    let text = "a:\n  b: [1, {c: x}]\n  d:\n    - 'y'\n";
    let root = fast(text);
    let NodeKind::Map(a) = &root.kind else {
        panic!()
    };
    let NodeKind::Map(inner) = &a[0].1.kind else {
        panic!()
    };
    assert_eq!(&text[inner[0].1.span.range()], "[");
    let NodeKind::Seq(d) = &inner[1].1.kind else {
        panic!()
    };
    assert_eq!(&text[d[0].span.range()], "'y'");
    assert_eq!(
        inner[1].0,
        Key {
            name: "d".to_owned(),
            span: Span::new(22, 23)
        }
    );
}

/// What `parse` gives for `text`: the tree or the rendered diagnostic's message and position.
fn outcome(text: &str) -> Result<Node, (String, Option<Span>)> {
    parse(&SourceFile::new("t.yaml", text)).map_err(|d| (d.message.clone(), d.span))
}

#[test]
fn merge_keys_are_merged_by_serde_saphyr() {
    let text = "base: &b {timeout: 5s, retries: 2}\nx:\n  <<: *b\n  retries: 3\n";
    assert_eq!(agree(text), Reader::SerdeSaphyr);
    let root = outcome(text).expect("parses");
    let NodeKind::Map(entries) = root.kind else {
        panic!()
    };
    let NodeKind::Map(x) = &entries[1].1.kind else {
        panic!()
    };
    let x: Vec<(&str, &NodeKind)> = x.iter().map(|(k, v)| (k.name.as_str(), &v.kind)).collect();
    // The mapping's own keys, then what the merge adds (serde-saphyr's order).
    assert_eq!(x, [("retries", &NodeKind::Int(3)), ("timeout", &s("5s"))]);
    // A quoted `<<` is left to serde-saphyr too, whatever it makes of it.
    assert_eq!(agree("x:\n  '<<': 1\n"), Reader::SerdeSaphyr);
}

#[test]
fn aliases_and_tags_are_left_to_serde_saphyr() {
    for text in [
        "a: &x 1\nb: *x\n",
        "a: &x [1]\n",
        "a: !!str 12\n",
        "a: !custom x\n",
        "? [a]\n: 1\n",
        "a: 1\n---\nb: 2\n",
        "a: .inf\n",
        "a: -.Inf\n",
        "a: .NaN\n",
        "a: 1e999\n",
    ] {
        assert_eq!(agree(text), Reader::SerdeSaphyr, "{text:?}");
    }
    let NodeKind::Map(entries) = outcome("a: !!str 12\n").expect("parses").kind else {
        panic!()
    };
    assert_eq!(entries[0].1.kind, s("12"));
}

#[test]
fn an_alias_bomb_breaches_the_budget_as_before() {
    // Nine levels of ten aliases each: 10^9 nodes if expanded.
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    assert_eq!(agree(&text), Reader::SerdeSaphyr);
    let (message, span) = outcome(&text).expect_err("refused");
    assert!(
        message.starts_with("the document exceeds a size limit of the YAML reader"),
        "{message}"
    );
    assert!(span.is_some());
}

#[test]
fn duplicate_keys_tabs_and_syntax_errors_are_serde_saphyr_diagnostics() {
    for (text, message, at) in [
        ("a: 1\nb: 2\na: 3\n", "duplicate key `a`", 10),
        ("m:\n  x: 1\n  x: 2\n", "duplicate key `x`", 12),
        ("m: {x: 1, x: 2}\n", "duplicate key `x`", 10),
        ("a:\n\tb: 1\n", "invalid YAML", 4),
        ("a: [1, 2\n", "invalid YAML", 3),
    ] {
        assert_eq!(agree(text), Reader::SerdeSaphyr, "{text:?}");
        let (got, span) = outcome(text).expect_err(text);
        assert!(got.starts_with(message), "{text:?}: {got}");
        assert_eq!(span.map(|s| s.start), Some(at), "{text:?}: {got}");
    }
    // Keys that differ only in spelling of one integer are one key to serde-saphyr.
    assert_eq!(agree("0x10: a\n16: b\n"), Reader::SerdeSaphyr);
    assert!(outcome("0x10: a\n16: b\n").is_err());
    // A large mapping is checked with a set, the same way.
    let mut big: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
    assert_eq!(agree(&big), Reader::Events);
    big.push_str("k7: again\n");
    assert_eq!(agree(&big), Reader::SerdeSaphyr);
    assert!(outcome(&big).is_err());
    // A tab inside a value is content, not indentation.
    assert_eq!(value("k: a\tb\n"), s("a\tb"));
}

#[test]
fn depth_and_size_limits_stay_serde_saphyr_s() {
    let deep = |n: usize| "[".repeat(n) + &"]".repeat(n) + "\n";
    // Within the cap but near it: left to serde-saphyr, which decides.
    assert_eq!(
        agree(&format!("k: {}", deep(super::MAX_DEPTH))),
        Reader::SerdeSaphyr
    );
    let (message, _) = outcome(&format!("k: {}", deep(super::MAX_DEPTH + 1))).expect_err("deep");
    assert!(message.starts_with("nesting is deeper than"), "{message}");
    assert_eq!(agree(&format!("k: {}", deep(8))), Reader::Events);
}

/// Every YAML file under `dir` (recursively).
fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

#[test]
fn the_readers_agree_on_every_configuration_in_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in [
        "compiler",
        "benches/data",
        "fuzz/corpus/compile",
        "docs",
        "deploy",
        "tests",
    ] {
        yaml_files(&root.join(dir), &mut files);
    }
    // The fuzz corpus also holds inputs without an extension.
    if let Ok(entries) = std::fs::read_dir(root.join("fuzz/corpus/compile")) {
        files.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_none()),
        );
    }
    assert!(files.len() > 200, "found only {} files", files.len());
    let (mut events, mut serde) = (0, 0);
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let source = SourceFile::new("t.yaml", String::from_utf8_lossy(&bytes).as_ref());
        match compare_readers(&source) {
            Ok(Reader::Events) => events += 1,
            Ok(Reader::SerdeSaphyr) => serde += 1,
            Err(e) => panic!("{}: {e}", f.display()),
        }
    }
    // Most configurations are plain YAML: the event reader is the one that runs.
    assert!(events > serde * 2, "events {events}, serde-saphyr {serde}");
}

/// A small deterministic generator (xorshift), so the generated cases are the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

#[test]
fn the_readers_agree_on_generated_scalars_and_documents() {
    // Pieces that make numbers, near-numbers, keywords and indicators.
    let pieces = [
        "0", "1", "7", "9", "x", "o", "b", "e", "E", "+", "-", ".", "_", "inf", "nan", "true",
        "null", "~", "a", "F", "0x", "0o", "0b", " ", ":", "#", "é", "'", "\"", "[", "]", "{", "}",
        ",", "&", "*", "!", "|", ">", "%", "@", "`", "\t", "\n  ",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut checked = 0;
    for _ in 0..6000 {
        let len = 1 + rng.next() % 6;
        let scalar: String = (0..len).map(|_| rng.pick(&pieces)).collect();
        for text in [
            format!("k: {scalar}\n"),
            format!("{scalar}: v\n"),
            format!("k: [{scalar}, x]\n"),
            format!("k: {{a: {scalar}}}\n"),
            format!("- {scalar}\n- {scalar}\n"),
            format!("m:\n  a: {scalar}\n  {scalar}: b\n"),
        ] {
            let source = SourceFile::new("g.yaml", &text);
            if let Err(e) = compare_readers(&source) {
                panic!("{text:?}: {e}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 36_000);
}
