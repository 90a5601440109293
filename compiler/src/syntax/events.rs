//! The fast path of [`super::read`]: the spanned [`Node`] tree built straight from the events of
//! `granit-parser` (the parser under `serde-saphyr`), without serde's visitor machinery.
//!
//! It gives exactly the tree `serde-saphyr` would, or nothing: whenever a document uses a
//! feature whose meaning lives in `serde-saphyr` (anchors and aliases with their expansion
//! budget, merge keys `<<`, tags, a non-scalar key, a second document), comes near a limit of
//! its budget, holds a duplicate key or a non-finite number, or does not parse, this returns
//! `None` and the caller reads the text with `serde-saphyr` itself, which then gives the tree or
//! the error with its own message and position. So errors, merges and the alias budget behave
//! as before by construction; what is reimplemented here is only the typing of plain scalars
//! (`serde-saphyr`'s `deserialize_any` with `strict_booleans`, YAML 1.2 core schema), and
//! `syntax/tests.rs` compares the two paths on every configuration in the repository, the fuzz
//! corpus and generated scalars.

use std::borrow::Cow;

use rustc_hash::FxHashSet;
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span as ParserSpan};

use super::node::{Key, Node, NodeKind, byte_span};
use crate::source::SourceFile;

/// Maps up to this many keys are checked for duplicates pairwise; larger ones with a set.
const PAIRWISE_KEYS: usize = 16;

/// Reads `text` (at byte `base` of `source`) into a tree, or `None`: let `serde-saphyr` read it.
pub(super) fn read(
    source: &SourceFile,
    base: u32,
    text: &str,
    budget: &serde_saphyr::Budget,
) -> Option<Node> {
    let mut options = serde_saphyr::granit_parser::Options::default();
    // The options `serde-saphyr` derives from the budget (its `Budget::parser_options`).
    options.simple_key_max_lookahead = budget.simple_key_max_lookahead;
    options.flow_nesting_limit = budget.flow_nesting_limit;
    options.block_nesting_limit = options
        .block_nesting_limit
        .max(budget.max_depth.saturating_add(1));
    options.strict_indentation = false;
    options.emit_comments = false;
    let parser = Parser::new_from_str_with_options(text, options);
    Builder::new(source, base, budget).run(parser)
}

/// An open collection.
enum Frame {
    Seq {
        span: crate::source::Span,
        items: Vec<Node>,
    },
    Map {
        span: crate::source::Span,
        entries: Vec<(Key, Node)>,
        key: Option<Key>,
    },
}

struct Builder<'a> {
    source: &'a SourceFile,
    base: u32,
    stack: Vec<Frame>,
    root: Option<Node>,
    documents: usize,
    // Budget counters, compared against limits with room to spare: near a limit, the exact
    // accounting is `serde-saphyr`'s.
    events: usize,
    nodes: usize,
    scalar_bytes: usize,
    max_events: usize,
    max_nodes: usize,
    max_scalar_bytes: usize,
    max_depth: usize,
}

impl<'a> Builder<'a> {
    fn new(source: &'a SourceFile, base: u32, budget: &serde_saphyr::Budget) -> Self {
        Builder {
            source,
            base,
            stack: Vec::with_capacity(budget.max_depth.min(64)),
            root: None,
            documents: 0,
            events: 0,
            nodes: 0,
            scalar_bytes: 0,
            // Margins: the events this loop does not count the way the budget does (stream
            // and document markers) are a handful.
            max_events: budget.max_events.saturating_sub(16),
            max_nodes: budget.max_nodes.saturating_sub(1),
            max_scalar_bytes: budget.max_total_scalar_bytes.saturating_sub(1),
            max_depth: budget.max_depth.saturating_sub(1),
        }
    }

    fn run<'i>(
        mut self,
        parser: Parser<'i, serde_saphyr::granit_parser::StrInput<'i>>,
    ) -> Option<Node> {
        for item in parser {
            let (event, span) = item.ok()?;
            self.events += 1;
            if self.events >= self.max_events {
                return None;
            }
            match event {
                Event::StreamStart | Event::DocumentEnd => {}
                Event::StreamEnd => break,
                Event::DocumentStart(..) => {
                    self.documents += 1;
                    if self.documents > 1 {
                        return None;
                    }
                }
                Event::Scalar(value, style, anchor, tag) => {
                    if anchor != 0 || tag.is_some() {
                        return None;
                    }
                    self.nodes += 1;
                    self.scalar_bytes = self.scalar_bytes.saturating_add(value.len());
                    if self.nodes >= self.max_nodes || self.scalar_bytes >= self.max_scalar_bytes {
                        return None;
                    }
                    let span = self.span(&span);
                    self.scalar(value, style, span)?;
                }
                Event::SequenceStart(_, anchor, ref tag)
                | Event::MappingStart(_, anchor, ref tag) => {
                    if anchor != 0 || tag.is_some() {
                        return None;
                    }
                    self.nodes += 1;
                    if self.nodes >= self.max_nodes || self.stack.len() >= self.max_depth {
                        return None;
                    }
                    // A collection as a mapping key: `serde-saphyr` refuses it.
                    if matches!(self.stack.last(), Some(Frame::Map { key: None, .. })) {
                        return None;
                    }
                    let span = self.span(&span);
                    self.stack
                        .push(if matches!(event, Event::SequenceStart(..)) {
                            Frame::Seq {
                                span,
                                items: Vec::new(),
                            }
                        } else {
                            Frame::Map {
                                span,
                                entries: Vec::new(),
                                key: None,
                            }
                        });
                }
                Event::SequenceEnd => match self.stack.pop()? {
                    Frame::Seq { span, items } => self.value(Node {
                        kind: NodeKind::Seq(items),
                        span,
                        expanded: false,
                    })?,
                    Frame::Map { .. } => return None,
                },
                Event::MappingEnd => match self.stack.pop()? {
                    Frame::Map {
                        span,
                        entries,
                        key: None,
                    } => {
                        if has_duplicate(&entries) {
                            return None;
                        }
                        self.value(Node {
                            kind: NodeKind::Map(entries),
                            span,
                            expanded: false,
                        })?;
                    }
                    _ => return None,
                },
                // Aliases, anchors and anything else: `serde-saphyr`'s business.
                _ => return None,
            }
        }
        if !self.stack.is_empty() || self.documents != 1 {
            return None;
        }
        self.root
    }

    fn span(&self, span: &ParserSpan) -> crate::source::Span {
        let start = span.start.byte_offset();
        let len = match (start, span.end.byte_offset()) {
            (Some(s), Some(e)) => Some(e.saturating_sub(s) as u64),
            _ => None,
        };
        match len {
            Some(len) => byte_span(self.source, self.base, start.map(|s| s as u64), Some(len)),
            // `serde-saphyr` keeps no byte position without both ends.
            None => byte_span(self.source, self.base, None, None),
        }
    }

    fn scalar(
        &mut self,
        value: Cow<'_, str>,
        style: ScalarStyle,
        span: crate::source::Span,
    ) -> Option<()> {
        if let Some(Frame::Map {
            key: key @ None, ..
        }) = self.stack.last_mut()
        {
            let name = key_text(&value, style)?;
            if name == "<<" {
                // A merge key (or text that looks like one): `serde-saphyr` merges.
                return None;
            }
            *key = Some(Key { name, span });
            return Some(());
        }
        let kind = typed(value, style)?;
        self.value(Node {
            kind,
            span,
            expanded: false,
        })
    }

    /// Places a finished node into its parent (or as the root).
    fn value(&mut self, node: Node) -> Option<()> {
        match self.stack.last_mut() {
            None => {
                if self.root.is_some() {
                    return None;
                }
                self.root = Some(node);
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => {
                let key = key.take()?;
                entries.push((key, node));
            }
        }
        Some(())
    }
}

/// Whether two keys of one mapping have the same text. `serde-saphyr` compares keys by their
/// typed value (an integer whatever its spelling) or their text, so equal keys always have equal
/// text here (`0x10` and `16` are both `16`); the reverse need not hold, which only sends the
/// document to `serde-saphyr`, which then decides.
fn has_duplicate(entries: &[(Key, Node)]) -> bool {
    if entries.len() <= PAIRWISE_KEYS {
        entries
            .iter()
            .enumerate()
            .any(|(i, (k, _))| entries[..i].iter().any(|(p, _)| p.name == k.name))
    } else {
        let mut seen = FxHashSet::default();
        seen.reserve(entries.len());
        !entries.iter().all(|(k, _)| seen.insert(k.name.as_str()))
    }
}

/// A mapping key as `syntax::node::KeyText` spells it; `None` for a key this path leaves to
/// `serde-saphyr` (a float, whose duplicate check is not by spelling).
fn key_text(value: &str, style: ScalarStyle) -> Option<String> {
    Some(match typed(Cow::Borrowed(value), style)? {
        NodeKind::Str(s) => s,
        NodeKind::Null => "null".to_owned(),
        NodeKind::Bool(b) => b.to_string(),
        NodeKind::Int(i) => i.to_string(),
        NodeKind::Float(_) | NodeKind::Seq(_) | NodeKind::Map(_) => return None,
    })
}

/// What `serde-saphyr`'s `deserialize_any` makes of an untagged scalar, with `strict_booleans`
/// on, legacy octals off, as our `node::Raw` visitor records it. `None`: an error there (a
/// non-finite number is refused), so the document is left to it.
pub(super) fn typed(value: Cow<'_, str>, style: ScalarStyle) -> Option<NodeKind> {
    if !matches!(style, ScalarStyle::Plain) {
        return Some(NodeKind::Str(value.into_owned()));
    }
    // Null first, untrimmed: empty, `~`, `null` in any case.
    if value.is_empty() || value == "~" || value.eq_ignore_ascii_case("null") {
        return Some(NodeKind::Null);
    }
    let t = yaml_trim(&value);
    // Strict booleans: only `true` and `false` (in any case), so `yes`, `no`, `on`, `off` stay
    // strings.
    if t.eq_ignore_ascii_case("true") {
        return Some(NodeKind::Bool(true));
    }
    if t.eq_ignore_ascii_case("false") {
        return Some(NodeKind::Bool(false));
    }
    if t.starts_with('-') {
        if !leading_zero_decimal(t)
            && let Some(v) = parse_int_signed(t).and_then(|v| i64::try_from(v).ok())
        {
            return Some(NodeKind::Int(v));
        }
    } else if let Some(v) = parse_int_unsigned(t).and_then(|v| u64::try_from(v).ok()) {
        // `node::Raw`'s `visit_u64`: past `i64::MAX` it is kept as a float.
        return Some(i64::try_from(v).map_or(NodeKind::Float(v as f64), NodeKind::Int));
    }
    match float(t) {
        Float::Finite(v) => Some(NodeKind::Float(v)),
        Float::NonFinite => None,
        Float::Not => Some(NodeKind::Str(value.into_owned())),
    }
}

/// `serde-saphyr`'s `yaml_trim`: YAML spaces, tabs and line breaks; other Unicode whitespace is
/// content.
fn yaml_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\r', '\n'])
}

/// `0127`, `+0127`, `-0127` (not `0`, not `0x…`/`0o…`/`0b…`).
fn leading_zero_decimal(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    match digits.strip_prefix('0').and_then(|r| r.chars().next()) {
        Some(next) => !matches!(next, 'x' | 'X' | 'o' | 'O' | 'b' | 'B'),
        None => false,
    }
}

/// `0x`/`0o`/`0b` (either case) and the digits after it; decimal otherwise.
fn radix_and_digits(rest: &str) -> (u32, &str) {
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(digits) = rest.strip_prefix(prefix) {
            return (radix, digits);
        }
    }
    (10, rest)
}

/// Digits in `radix` with single underscores between them (none first or last, none doubled);
/// `None` on anything else, no digit, or overflow of `u128`.
fn digits_u128(digits: &str, radix: u32) -> Option<u128> {
    let bytes = digits.as_bytes();
    let mut val: u128 = 0;
    let mut saw = false;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'_' {
            let prev_ok = i > 0 && bytes[i - 1] != b'_';
            let next_ok = i + 1 < bytes.len() && bytes[i + 1] != b'_';
            if !prev_ok || !next_ok {
                return None;
            }
            continue;
        }
        let d = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'a'..=b'f' if radix > 10 => 10 + u32::from(b - b'a'),
            b'A'..=b'F' if radix > 10 => 10 + u32::from(b - b'A'),
            _ => return None,
        };
        if d >= radix {
            return None;
        }
        val = val
            .checked_mul(u128::from(radix))?
            .checked_add(u128::from(d))?;
        saw = true;
    }
    saw.then_some(val)
}

/// `parse_int_unsigned::<u64>` without the target: a sign `+`, a radix, no leading zero in
/// decimal.
fn parse_int_unsigned(t: &str) -> Option<u128> {
    if t.starts_with('-') {
        return None;
    }
    let rest = t.strip_prefix('+').unwrap_or(t);
    let (radix, digits) = radix_and_digits(rest);
    if radix == 10 && digits.starts_with('0') && digits != "0" {
        return None;
    }
    digits_u128(digits, radix)
}

/// `parse_int_signed::<i64>` up to the range check, as an `i128`.
fn parse_int_signed(t: &str) -> Option<i128> {
    let (neg, rest) = match t.strip_prefix('+') {
        Some(r) => (false, r),
        None => match t.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, t),
        },
    };
    let (radix, digits) = radix_and_digits(rest);
    if radix == 10 && digits.starts_with('0') && digits != "0" {
        return None;
    }
    let mag = digits_u128(digits, radix)?;
    if neg {
        if mag == (i128::MAX as u128) + 1 {
            Some(i128::MIN)
        } else {
            i128::try_from(mag).ok()?.checked_neg()
        }
    } else {
        i128::try_from(mag).ok()
    }
}

enum Float {
    Finite(f64),
    NonFinite,
    Not,
}

/// `try_parse_float_incl_overflow`: `.inf`/`.nan` spellings (refused later as non-finite),
/// Rust's float syntax when finite, and a numeral that overflows to infinity (`1e999`, also
/// refused). `inf`, `nan`, `infinity` without the dot are strings.
fn float(t: &str) -> Float {
    let lower = t.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        ".nan" | "+.nan" | "-.nan" | ".inf" | "+.inf" | "-.inf"
    ) {
        return Float::NonFinite;
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Float::Finite(v),
        Ok(v) if v.is_infinite() => {
            let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
            if unsigned.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                Float::NonFinite
            } else {
                Float::Not
            }
        }
        _ => Float::Not,
    }
}
