//! The only module that knows the YAML library: text → a spanned [`Node`] tree → `ast::Config`.
//!
//! The text becomes a generic tree whose every node and key carries its byte span: built
//! straight from `granit-parser`'s events ([`events`]) for plain documents, by `serde-saphyr`
//! for anchors, aliases, merge keys, tags, errors and limits (the same tree either way). `${VAR}` references are expanded on the tree's string values (never on raw text, so a
//! value cannot inject YAML). The tree is then read into the typed `ast` by [`de`], which
//! reports every unknown key and wrong type instead of stopping at the first.

pub mod de;
mod events;
mod node;
mod recover;
#[cfg(test)]
mod tests;

pub use node::{Key, Node, NodeKind};
pub use recover::{MAX_SECTIONS, parse_recovering};

use serde_saphyr::{DuplicateKeyPolicy, Options};

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::env::{self, Env, EnvMode};
use crate::source::{SourceFile, Span};

/// Deepest nesting of mappings and lists accepted.
pub const MAX_DEPTH: usize = 32;

/// Parses `source` into a node tree; a YAML syntax error is one diagnostic and no tree.
pub fn parse(source: &SourceFile) -> Result<Node, Box<Diagnostic>> {
    let text = source.text();
    if is_blank(text) {
        return Ok(Node::null(Span::default()));
    }
    read(source, 0, text, None).map_err(|e| Box::new(syntax_error(source, 0, text, &e)))
}

/// Nothing but blank lines and comments: an empty configuration.
fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
}

/// Reads `text`, which starts at byte `base` of `source`, into a node tree with source spans.
/// `share`: `(len, total)` when `text` is one part of a `total`-byte document, which then gets
/// that share of the document's budget (see [`recover`]).
fn read(
    source: &SourceFile,
    base: u32,
    text: &str,
    share: Option<(usize, usize)>,
) -> Result<Node, serde_saphyr::Error> {
    let (options, budget) = options(share);
    // The tree straight from the parser's events when the document is plain (no anchors,
    // aliases, merge keys or tags, far from every limit, no error); `serde-saphyr` otherwise,
    // which then gives the same tree or its own error (see `events`).
    if share.is_none()
        && let Some(node) = events::read(source, base, text, &budget)
    {
        return Ok(node);
    }
    read_serde(source, base, text, options, budget)
}

/// The reader's options and budget (`share`: see [`read`]).
fn options(share: Option<(usize, usize)>) -> (Options, serde_saphyr::Budget) {
    let mut options = Options::default();
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    // YAML 1.2 core-schema booleans: only `true` and `false`. Under YAML 1.1 a plain `on`,
    // `off`, `yes`, `no`, `y` or `n` is a boolean, so the key `on:` of a guardrail rule would be
    // read as `true:`, and `country: no` as `false`.
    options.strict_booleans = true;
    // A configuration is a few levels deep; free-form `params` a few more. The cap keeps every
    // recursive pass (ours and the parser's) far from the end of a 2 MiB thread stack.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    if let Some((len, total)) = share {
        recover::share_budget(&mut budget, len, total);
    }
    (options, budget)
}

/// The tree as `serde-saphyr` reads it: the reference [`events`] is held to.
fn read_serde(
    source: &SourceFile,
    base: u32,
    text: &str,
    mut options: Options,
    budget: serde_saphyr::Budget,
) -> Result<Node, serde_saphyr::Error> {
    options.budget = Some(budget);
    serde_saphyr::from_str_with_options::<serde_saphyr::Spanned<node::Raw>>(text, options)
        .map(|raw| node::lower(source, base, raw))
}

/// Which reader gave the tree of a whole document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// Built from the parser's events ([`events`]).
    Events,
    /// Left to `serde-saphyr` (a feature or limit it owns, or an error).
    SerdeSaphyr,
}

/// Reads `source` both ways and says which reader [`parse`] uses; `Err` describes a
/// disagreement: the event-built tree differs from `serde-saphyr`'s, or exists where
/// `serde-saphyr` reports an error. For tests, the fuzz target and the benchmark.
pub fn compare_readers(source: &SourceFile) -> Result<Reader, String> {
    let text = source.text();
    let (options, budget) = options(None);
    let fast = events::read(source, 0, text, &budget);
    let slow = read_serde(source, 0, text, options, budget);
    match (fast, slow) {
        (None, _) => Ok(Reader::SerdeSaphyr),
        (Some(f), Ok(s)) if f == s => Ok(Reader::Events),
        (Some(f), Ok(s)) => Err(format!(
            "{}: the event-built tree differs from serde-saphyr's:\n{f:#?}\nvs\n{s:#?}",
            source.name()
        )),
        (Some(_), Err(e)) => Err(format!(
            "{}: the event-built tree exists, serde-saphyr says: {e}",
            source.name()
        )),
    }
}

/// Reads `source` with one reader only (the benchmark's comparison); `false` on an error.
pub fn read_with(source: &SourceFile, reader: Reader) -> bool {
    let (options, budget) = options(None);
    match reader {
        Reader::Events => events::read(source, 0, source.text(), &budget).is_some(),
        Reader::SerdeSaphyr => read_serde(source, 0, source.text(), options, budget).is_ok(),
    }
}

/// The diagnostic for `e`, raised reading `text` (at byte `base` of `source`).
fn syntax_error(source: &SourceFile, base: u32, text: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let rendered = e.without_snippet().to_string();
    let first = rendered.lines().next().unwrap_or("invalid YAML");
    let mut msg = first.strip_prefix("error: ").unwrap_or(first);
    if let Some(rest) = msg.strip_prefix("line ") {
        // "line 2 column 1: message" -> "message"; the position is rendered from the span.
        if let Some((_, m)) = rest.split_once(": ") {
            msg = m;
        }
    }
    // The position is rendered from the span; drop the library's own copy of it.
    let msg = msg.split(" at line ").next().unwrap_or(msg);
    let mut d = Diagnostic::error(Code::Syntax, "", format!("invalid YAML: {msg}"));
    if msg.contains("from_str_multiple") {
        d.message = "a configuration file holds one YAML document".to_owned();
        d = d.help("remove the `---` separator and the documents after it");
    } else if msg.starts_with("budget breached: Depth") {
        d.message = format!("nesting is deeper than {MAX_DEPTH} levels");
        d = d.help("a configuration never needs this depth; check the indentation");
    } else if let Some(what) = msg.strip_prefix("budget breached: ") {
        let what = what.split(" at line").next().unwrap_or(what);
        d.message = format!("the document exceeds a size limit of the YAML reader ({what})");
        d = d.help("anchors and aliases that expand exponentially are refused");
    }
    if let Some(key) = msg
        .strip_prefix("duplicate mapping key: ")
        .and_then(|k| k.split(", set DuplicateKeyPolicy").next())
    {
        d = duplicate_key(d, key);
    }
    if let Some(offset) = error_offset(text, e) {
        let start = source.clamp(base.saturating_add(offset));
        d = d.at(one_char(source, start)).label("here");
    }
    d
}

fn duplicate_key(mut d: Diagnostic, key: &str) -> Diagnostic {
    d.message = format!("duplicate key `{key}`");
    d.help("each key may appear only once in a mapping; remove or rename one of them")
}

/// Where in `text` the library places `e`, if it says.
fn error_offset(text: &str, e: &serde_saphyr::Error) -> Option<u32> {
    let loc = e.location()?;
    Some(
        loc.span()
            .byte_offset()
            .map(|o| o as u32)
            .unwrap_or_else(|| offset_of(text, loc.line(), loc.column())),
    )
}

/// The span of the character at `start` (empty at the end of the text).
fn one_char(source: &SourceFile, start: u32) -> Span {
    let end = source.text()[start as usize..]
        .chars()
        .next()
        .map_or(start, |c| start + c.len_utf8() as u32);
    Span::new(start, end)
}

fn offset_of(text: &str, line: u64, column: u64) -> u32 {
    let mut offset = 0usize;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line as usize {
            let col: usize = l
                .chars()
                .take(column.saturating_sub(1) as usize)
                .map(char::len_utf8)
                .sum();
            return (offset + col) as u32;
        }
        offset += l.len();
    }
    offset as u32
}

/// Expands `${VAR}` in every string value of the tree (keys are left alone).
pub fn expand_env(
    node: &mut Node,
    text: &str,
    env: &dyn Env,
    mode: EnvMode,
    path: &mut String,
    acc: &mut Diagnostics,
) {
    match &mut node.kind {
        NodeKind::Str(s) => {
            if s.contains('$') {
                let expanded = env::expand_value(s, node.span, path, text, env, mode, acc);
                node.expanded = expanded != *s;
                *s = expanded;
            }
        }
        NodeKind::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                let _ = std::fmt::Write::write_fmt(path, format_args!("[{i}]"));
                expand_env(item, text, env, mode, path, acc);
                path.truncate(len);
            }
        }
        NodeKind::Map(entries) => {
            for (key, value) in entries.iter_mut() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key.name);
                expand_env(value, text, env, mode, path, acc);
                path.truncate(len);
            }
        }
        NodeKind::Null | NodeKind::Bool(_) | NodeKind::Int(_) | NodeKind::Float(_) => {}
    }
}
