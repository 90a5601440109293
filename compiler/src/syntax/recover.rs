//! Recovery from YAML syntax errors, so one run reports the syntax error of every top-level
//! section and still checks the meaning of the sections that are well formed.
//!
//! Neither `serde-saphyr` nor its parser can go on inside a document after a syntax error (the
//! parser resumes only at the next `---`). So a file that fails to parse as a whole is cut into
//! its top-level sections, and each is read on its own. The cut is sound for a document whose
//! root is a block mapping at column 0: YAML requires everything inside an entry to be
//! indented, so a line at column 0 that is neither blank nor a comment begins the next entry
//! (or is itself the error). The parser tolerates one exception, a flow collection continued
//! at column 0: a section whose bracket is unclosed but which reads together with the next few
//! is taken as one.
//!
//! The whole file is read first with the full budget of the reader (nesting depth, alias
//! expansion, sizes). When cut, each section gets the share of one document's budget that its
//! length is of the file (at least 1/[`MAX_SECTIONS`]), and the retries below get at most
//! `SPARE_BUDGETS` more, so a file that fails costs a few documents' worth at most.
//!
//! A section that fails is reported at its own error and *poisoned* by its key: the passes
//! after stay silent about what it might have declared. An alias to an anchor in another
//! section is read with the sections before it as context; an alias whose anchor sits in a
//! section that failed is left out silently, as a consequence of that failure.
//!
//! Not recovered (the first error is the only one, as without recovery): a root that is not a
//! block mapping at column 0, a document marker (`---`, `...`) after the first key, more than
//! [`MAX_SECTIONS`] sections, and a whole-file error that no section shows on its own.
//! Inside one section only its first error is found.

use super::{Key, Node, NodeKind, duplicate_key, error_offset, one_char, read, syntax_error};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::{SourceFile, Span};

/// Most top-level sections read one by one. A configuration has a dozen at most; past this a
/// file is reported at its first error only.
pub const MAX_SECTIONS: usize = 32;

/// How many following sections a section with an unclosed bracket is retried with (a flow
/// collection continued at column 0).
const MAX_MERGE: usize = 3;

/// Documents' worth of budget for the reads recovery may do without (merges, aliases read in
/// context); each costs its length's share, in units of 1/[`MAX_SECTIONS`] of a document.
const SPARE_BUDGETS: usize = 2;

/// Parses `source` like [`super::parse`]; when the whole text fails, reads it section by
/// section instead. Every syntax error goes into `acc`, the keys of the sections that failed are
/// poisoned, and the tree holds the sections that were read (`None`: nothing could be
/// recovered, the first error is reported alone).
pub fn parse_recovering(source: &SourceFile, acc: &mut Diagnostics) -> Option<Node> {
    let text = source.text();
    if super::is_blank(text) {
        return Some(Node::null(Span::default()));
    }
    let whole = match read(source, 0, text, None) {
        Ok(node) => return Some(node),
        Err(e) => e,
    };
    let first = syntax_error(source, 0, text, &whole);
    let recovered = sections(text).and_then(|sections| {
        let mut r = Recovery::new(source, sections);
        r.run().map(|()| r)
    });
    match recovered {
        Some(r) => r.finish(acc, first),
        None => {
            acc.push_unsilenced(first);
            None
        }
    }
}

/// Scales the reader's budget to a part of `len` bytes of a `total`-byte document: the parts of
/// a file together get about one document's budget (each at least 1/[`MAX_SECTIONS`] of it), so
/// reading a file section by section costs about what reading it whole would.
pub(super) fn share_budget(b: &mut serde_saphyr::Budget, len: usize, total: usize) {
    let share = |limit: usize| -> usize {
        let part = (limit as u128 * len as u128 / total.max(1) as u128) as usize;
        part.max(limit / MAX_SECTIONS)
    };
    b.max_events = share(b.max_events);
    b.max_aliases = share(b.max_aliases);
    b.max_anchors = share(b.max_anchors);
    b.max_recorded_anchor_events = share(b.max_recorded_anchor_events);
    b.max_recorded_anchor_bytes = share(b.max_recorded_anchor_bytes);
    b.max_nodes = share(b.max_nodes);
    b.max_total_scalar_bytes = share(b.max_total_scalar_bytes);
    b.max_merge_keys = share(b.max_merge_keys);
}

/// A top-level entry: its `key:` line at column 0 and every line up to the next one. The first
/// section also holds what precedes its key (comments, directives, `---`).
#[derive(Clone, Copy, Debug)]
struct Section<'t> {
    start: usize,
    end: usize,
    key: &'t str,
}

/// The top-level sections of `text`, or `None` when it cannot be cut (see the module docs).
fn sections(text: &str) -> Option<Vec<Section<'_>>> {
    let mut out: Vec<Section<'_>> = Vec::new();
    let mut offset = 0;
    let mut preamble_markers = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let line = if start == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        let line = line.trim_end_matches(['\n', '\r']);
        if let Some(key) = section_key(line) {
            if let Some(last) = out.last_mut() {
                last.end = start;
            }
            let start = if out.is_empty() { 0 } else { start };
            out.push(Section {
                start,
                end: text.len(),
                key,
            });
            if out.len() > MAX_SECTIONS {
                return None;
            }
            continue;
        }
        let marker = document_marker(line);
        if !out.is_empty() {
            if marker.is_some() {
                return None; // a second document: one is read whole or not at all
            }
            continue;
        }
        // Before the first key: blank lines, comments, directives and one bare `---`.
        let blank = |s: &str| s.trim_start().is_empty() || s.trim_start().starts_with('#');
        match marker {
            Some(("---", rest)) if preamble_markers == 0 && blank(rest) => preamble_markers += 1,
            // The root starts on the marker line, or the file holds an empty document first.
            Some(_) => return None,
            None if blank(line) || line.starts_with('%') => {}
            None => return None, // the root is not a block mapping at column 0
        }
    }
    (out.len() >= 2).then_some(out)
}

/// `---` or `...` at the start of `line`, followed by a space, a tab or the end; with the rest.
fn document_marker(line: &str) -> Option<(&'static str, &str)> {
    ["---", "..."].into_iter().find_map(|m| {
        let rest = line.strip_prefix(m)?;
        (rest.is_empty() || rest.starts_with([' ', '\t'])).then_some((m, rest))
    })
}

/// The key of a line that begins a top-level `key: value` entry: a plain or quoted scalar at
/// column 0, then `:` followed by a space, a tab or the end of the line.
fn section_key(line: &str) -> Option<&str> {
    let first = line.chars().next()?;
    let (key, rest) = match first {
        '"' | '\'' => {
            let close = line[1..].find(first)? + 1;
            (&line[1..close], line[close + 1..].trim_start())
        }
        // Indentation, comments, and YAML indicators that cannot start a plain key.
        c if c.is_whitespace() || "#-?:,[]{}&*!|>%@`".contains(c) => return None,
        _ => {
            let colon = line.char_indices().find_map(|(i, c)| {
                let rest = &line[i + c.len_utf8()..];
                (c == ':' && (rest.is_empty() || rest.starts_with([' ', '\t']))).then_some(i)
            })?;
            let key = &line[..colon];
            if key.contains(" #") || key.contains("\t#") {
                return None; // the colon is inside a comment
            }
            (key.trim_end(), &line[colon..])
        }
    };
    let after = rest.strip_prefix(':')?;
    (!key.is_empty() && (after.is_empty() || after.starts_with([' ', '\t']))).then_some(key)
}

/// A byte range of the file that is not in the tree (a section that failed, or that aliases
/// an anchor in one that did).
#[derive(Clone, Copy)]
struct Skipped {
    start: usize,
    end: usize,
}

struct Recovery<'s> {
    source: &'s SourceFile,
    text: &'s str,
    sections: Vec<Section<'s>>,
    entries: Vec<(Key, Node)>,
    errors: Vec<Diagnostic>,
    skipped: Vec<Skipped>,
    /// Top-level keys whose values are not (all) in the tree.
    poisoned: Vec<String>,
    /// What is left for optional reads, in 1/[`MAX_SECTIONS`] of a document's budget.
    spare: usize,
}

impl<'s> Recovery<'s> {
    fn new(source: &'s SourceFile, sections: Vec<Section<'s>>) -> Recovery<'s> {
        Recovery {
            source,
            text: source.text(),
            sections,
            entries: Vec::new(),
            errors: Vec::new(),
            skipped: Vec::new(),
            poisoned: Vec::new(),
            spare: SPARE_BUDGETS * MAX_SECTIONS,
        }
    }

    /// Reads every section; `None` abandons recovery (a section that is not a mapping).
    fn run(&mut self) -> Option<()> {
        let mut i = 0;
        while let Some(&s) = self.sections.get(i) {
            i += 1;
            let e = match self.read(s.start, s.end) {
                Ok(node) => {
                    self.take(node, s.start)?;
                    continue;
                }
                Err(e) => e,
            };
            let unclosed = e
                .without_snippet()
                .to_string()
                .starts_with("unclosed bracket");
            if let Some((j, node)) = unclosed.then(|| self.merged(i - 1)).flatten() {
                self.take(node, s.start)?;
                i = j + 1;
                continue;
            }
            if matches!(
                e.without_snippet(),
                serde_saphyr::Error::UnknownAnchor { .. }
            ) {
                if let Some(node) = self.in_context(s.end) {
                    self.take(node, s.start)?;
                    continue;
                }
                if self.anchor_was_skipped(s, &e) {
                    self.skip(s);
                    continue;
                }
            }
            let text = &self.text[s.start..s.end];
            self.errors
                .push(syntax_error(self.source, s.start as u32, text, &e));
            self.skip(s);
        }
        Some(())
    }

    fn skip(&mut self, s: Section<'_>) {
        self.skipped.push(Skipped {
            start: s.start,
            end: s.end,
        });
        self.poisoned.push(s.key.to_owned());
    }

    fn read(&self, start: usize, end: usize) -> Result<Node, serde_saphyr::Error> {
        let text = &self.text[start..end];
        read(
            self.source,
            start as u32,
            text,
            Some((text.len(), self.text.len())),
        )
    }

    /// Takes the cost of an optional read of `len` bytes from what is spare; `false` when too
    /// little is left.
    fn afford(&mut self, len: usize) -> bool {
        let cost = len
            .saturating_mul(MAX_SECTIONS)
            .div_ceil(self.text.len().max(1))
            .max(1);
        let ok = cost <= self.spare;
        if ok {
            self.spare -= cost;
        }
        ok
    }

    /// The failing section `i` read together with the next few, if that reads.
    fn merged(&mut self, i: usize) -> Option<(usize, Node)> {
        let start = self.sections[i].start;
        let last = (i + MAX_MERGE).min(self.sections.len() - 1);
        for j in i + 1..=last {
            let end = self.sections[j].end;
            if !self.afford(end - start) {
                return None;
            }
            if let Ok(node) = self.read(start, end) {
                return Some((j, node));
            }
        }
        None
    }

    /// The file up to `end`, with the sections skipped so far blanked out (same byte offsets),
    /// so an alias may refer to an anchor in an earlier section.
    fn in_context(&mut self, end: usize) -> Option<Node> {
        if !self.afford(end) {
            return None;
        }
        let mut bytes = self.text.as_bytes()[..end].to_vec();
        for s in &self.skipped {
            for b in &mut bytes[s.start..s.end] {
                if *b != b'\n' {
                    *b = b' ';
                }
            }
        }
        // Whole lines were replaced by ASCII spaces, so the text is still UTF-8.
        let text = String::from_utf8(bytes).ok()?;
        read(self.source, 0, &text, Some((end, self.text.len()))).ok()
    }

    /// The alias `e` points at names an anchor defined in a section skipped before.
    fn anchor_was_skipped(&self, s: Section<'_>, e: &serde_saphyr::Error) -> bool {
        let text = &self.text[s.start..s.end];
        let is_name = |c: char| !(c.is_whitespace() || ",[]{}".contains(c));
        let Some(name) = error_offset(text, e)
            .and_then(|at| text.get(at as usize..))
            .and_then(|t| t.strip_prefix('*'))
        else {
            return false;
        };
        let name = &name[..name.find(|c| !is_name(c)).unwrap_or(name.len())];
        let anchor = format!("&{name}");
        !name.is_empty()
            && self.skipped.iter().any(|k| {
                let t = &self.text[k.start..k.end];
                t.match_indices(&anchor)
                    .any(|(i, m)| t[i + m.len()..].chars().next().is_none_or(|c| !is_name(c)))
            })
    }

    /// Adds the entries of a section's tree that start at or after `start`. A key the file has
    /// already is the parser's duplicate-key error, across sections; the later entry is dropped.
    fn take(&mut self, node: Node, start: usize) -> Option<()> {
        let NodeKind::Map(entries) = node.kind else {
            return None;
        };
        for (key, value) in entries {
            if (key.span.start as usize) < start {
                continue;
            }
            if self.entries.iter().any(|(k, _)| k.name == key.name) {
                let d = Diagnostic::error(Code::Syntax, "", String::new());
                let at = one_char(self.source, key.span.start);
                self.errors
                    .push(duplicate_key(d, &key.name).at(at).label("here"));
                self.poisoned.push(key.name);
                continue;
            }
            self.entries.push((key, value));
        }
        Some(())
    }

    /// Reports what was found. The whole file's first error must follow from it: it is one of
    /// the errors found here, or lies at or after a section that failed (whose problem the
    /// parser read on past, as with an unclosed bracket). Otherwise the sections do not show
    /// the problem, and it is reported as well, with no tree.
    fn finish(self, acc: &mut Diagnostics, first: Diagnostic) -> Option<Node> {
        let failed_from = self.skipped.iter().map(|s| s.start).min();
        let explained = self
            .errors
            .iter()
            .any(|d| d.span == first.span && d.message == first.message)
            || first
                .span
                .zip(failed_from)
                .is_some_and(|(at, from)| at.start as usize >= from);
        for d in self.errors {
            acc.push_unsilenced(d);
        }
        if !explained {
            acc.push_unsilenced(first);
            return None;
        }
        for key in self.poisoned {
            acc.unreadable(key);
        }
        let end = self.source.clamp(u32::MAX);
        Some(Node {
            kind: NodeKind::Map(self.entries),
            span: Span::new(0, end),
            expanded: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Option<Vec<(&str, &str)>> {
        sections(text).map(|s| s.iter().map(|s| (s.key, &text[s.start..s.end])).collect())
    }

    #[test]
    fn cuts_at_column_zero_keys_only() {
        let text =
            "# c\n---\nserver:\n  listen: x\n# between\n\"models\": {}\nlist:\n- a\nb: |\n  text\n";
        assert_eq!(
            keys(text).unwrap(),
            [
                ("server", "# c\n---\nserver:\n  listen: x\n# between\n"),
                ("models", "\"models\": {}\n"),
                ("list", "list:\n- a\n"),
                ("b", "b: |\n  text\n"),
            ]
        );
    }

    #[test]
    fn does_not_cut_what_is_not_one_block_mapping() {
        assert!(keys("a: 1\n").is_none(), "one section: nothing to recover");
        assert!(keys("{a: 1,\nb: 2\n").is_none(), "flow root");
        assert!(keys("  a: 1\nb: 2\n").is_none(), "indented root");
        assert!(keys("a: 1\n---\nb: 2\n").is_none(), "two documents");
        assert!(keys("a: 1\n...\nb: 2\n").is_none(), "document end");
        assert!(
            keys("--- a\nb: 2\nc: 3\n").is_none(),
            "root on the marker line"
        );
        let many: String = (0..=MAX_SECTIONS).map(|i| format!("k{i}: 1\n")).collect();
        assert!(keys(&many).is_none(), "too many sections");
    }

    #[test]
    fn a_duplicate_across_sections_keeps_the_first() {
        let source = SourceFile::new("t.yaml", "a: 1\nb: 2\na: 3\n");
        let mut acc = Diagnostics::default();
        let node = parse_recovering(&source, &mut acc).expect("recovered");
        let NodeKind::Map(entries) = node.kind else {
            panic!("not a mapping");
        };
        let names: Vec<&str> = entries.iter().map(|(k, _)| k.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(acc.is_unreadable("a"));
        let d = acc.into_sorted();
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].message, "duplicate key `a`");
        assert_eq!(d[0].span, Some(Span::new(10, 11)));
    }

    #[test]
    fn section_keys() {
        assert_eq!(section_key("providers:"), Some("providers"));
        assert_eq!(section_key("a b: 1 # c"), Some("a b"));
        assert_eq!(section_key("'q': x"), Some("q"));
        assert_eq!(section_key("url: http://x"), Some("url"));
        for line in [
            "  a: 1", "- a: 1", "# a: 1", "a:b", "http://x", "x # a: 1", "? a", "",
        ] {
            assert_eq!(section_key(line), None, "{line:?}");
        }
    }
}
