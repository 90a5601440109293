//! Diagnostics: every problem the compiler finds, with a stable code, a YAML path and a span.
//!
//! Passes never stop at the first problem: they push into a [`Diagnostics`] accumulator and go
//! on. Rendering (rustc-style text or JSON) lives in [`render`]; the codes in [`codes`].

pub mod codes;
pub mod render;

pub use codes::Code;

use crate::source::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in the configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// One line, lower-case, no trailing period.
    pub message: String,
    /// The YAML path of the offending value, e.g. `providers.openai.api_base`.
    pub path: String,
    /// Where it is written; `None` for a problem with no single place (e.g. an empty file).
    pub span: Option<Span>,
    /// Short text under the caret.
    pub label: Option<String>,
    /// A suggestion: did you mean, the valid values, how to fix it.
    pub help: Option<String>,
    /// Further places that explain this one (e.g. where an inherited value came from).
    pub notes: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn error(code: Code, path: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            path: path.into(),
            span: None,
            label: None,
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn warning(code: Code, path: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, path, message)
        }
    }

    pub fn at(mut self, span: Span) -> Diagnostic {
        self.span = Some(span);
        self
    }

    pub fn at_opt(mut self, span: Option<Span>) -> Diagnostic {
        self.span = span;
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn help_opt(mut self, help: Option<String>) -> Diagnostic {
        self.help = help;
        self
    }

    pub fn note(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.notes.push((span, text.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The accumulator every pass writes into.
///
/// Values that failed to parse leave their path in a "poisoned" list; later passes that report
/// a problem at or below such a path are silenced, so one mistake gives one diagnostic.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    poisoned: Vec<String>,
    /// Top-level sections whose YAML could not be parsed (also poisoned).
    unreadable: Vec<String>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        if self.is_poisoned(&d.path) {
            return;
        }
        if d.is_error() {
            self.poisoned.push(d.path.clone());
        }
        self.items.push(d);
    }

    /// Adds a diagnostic without silencing its path (for a problem with a name, say, that
    /// leaves the values under it worth checking).
    pub fn push_unsilenced(&mut self, d: Diagnostic) {
        if !self.is_poisoned(&d.path) {
            self.items.push(d);
        }
    }

    /// Marks `path` as already reported without adding a diagnostic.
    pub fn poison(&mut self, path: impl Into<String>) {
        self.poisoned.push(path.into());
    }

    /// Marks a top-level section whose YAML could not be parsed: poisoned, and nothing is known
    /// of what it declares, so a check that a name is defined stays silent when this section
    /// could have defined it.
    pub fn unreadable(&mut self, section: impl Into<String>) {
        let section = section.into();
        self.poisoned.push(section.clone());
        self.unreadable.push(section);
    }

    pub fn is_unreadable(&self, section: &str) -> bool {
        self.unreadable.iter().any(|s| s == section)
    }

    pub fn is_poisoned(&self, path: &str) -> bool {
        self.poisoned.iter().any(|p| {
            path.strip_prefix(p.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Diagnostics in source order (then by code), errors and warnings together.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| {
            (a.span.map(|s| s.start), a.code, &a.path).cmp(&(
                b.span.map(|s| s.start),
                b.code,
                &b.path,
            ))
        });
        self.items
    }
}

/// "did you mean" over a list of candidates, by edit distance.
///
/// Cheap enough for a request's error path: long words get no suggestion, and a candidate whose
/// length alone rules it out is skipped before any distance is computed.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    const LONGEST: usize = 64;
    let len = word.chars().count();
    if len == 0 || len > LONGEST {
        return None;
    }
    let max = (len / 3).clamp(1, 3);
    let substring = |c: &str| len > 3 && c.len() > 3 && (word.contains(c) || c.contains(word));
    // The distance is at least the difference in length, so most candidates need no distance.
    let chars = |c: &str| {
        if c.is_ascii() {
            c.len()
        } else {
            c.chars().count()
        }
    };
    candidates
        .into_iter()
        .filter(|c| chars(c).abs_diff(len) <= max || substring(c))
        .filter_map(|c| {
            // Optimal string alignment: edits plus adjacent transpositions, no hash map.
            let d = strsim::osa_distance(word, c);
            (d <= max || substring(c)).then_some((d, c))
        })
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// `did you mean `x`?` or the whole list of valid values when the list is short.
pub fn suggest(word: &str, candidates: &[&str]) -> Option<String> {
    if let Some(c) = did_you_mean(word, candidates.iter().copied()) {
        return Some(format!("did you mean `{c}`?"));
    }
    if !candidates.is_empty() && candidates.len() <= 12 {
        let list: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
        return Some(format!("expected one of {}", list.join(", ")));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_you_mean_finds_close_words_only() {
        assert_eq!(
            did_you_mean("api_bse", ["api_base", "api_key"]),
            Some("api_base")
        );
        assert_eq!(
            did_you_mean("opnai", ["openai", "anthropic"]),
            Some("openai")
        );
        assert_eq!(did_you_mean("zzz", ["openai", "anthropic"]), None);
    }

    #[test]
    fn poisoned_paths_silence_descendants_only() {
        let mut d = Diagnostics::default();
        d.poison("providers.a");
        assert!(d.is_poisoned("providers.a.api_base"));
        assert!(d.is_poisoned("providers.a"));
        assert!(!d.is_poisoned("providers.ab"));
    }
}
