//! `${VAR}` and `${VAR:-default}` in string values, resolved through the [`Env`] the caller hands in.
//!
//! `$$` is a literal `$`; a `$` not followed by `{` is kept as written. `${VAR:-default}` uses the
//! default when `VAR` is unset or empty (as the shell does). An unset variable with no default is
//! an error in [`EnvMode::Strict`] (`serve`, `reload`) and a warning in [`EnvMode::Lenient`]
//! (`config validate` without `--strict`, where CI has no secrets): the reference is then kept
//! literally and the value's path is marked so no further check complains about it.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::Span;

/// The environment the compiler reads variables from. The compiler never reads the process
/// environment itself: the CLI builds this from the process environment plus `.env`.
pub trait Env {
    fn get(&self, name: &str) -> Option<&str>;
}

impl Env for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

impl Env for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).map(String::as_str)
    }
}

/// An environment with nothing in it.
impl Env for () {
    fn get(&self, _: &str) -> Option<&str> {
        None
    }
}

/// An [`Env`] that remembers every variable name the compiler looks up through it, set or not.
///
/// Compiling a configuration through it answers "which variables does this configuration read?"
/// with the compiler's own grammar: references in string values (with or without a default),
/// never `$${escaped}` text or comments, plus the built-in registry's credential variables when
/// the registry is merged. `bitrouter reload` forwards exactly these names from the caller's
/// environment.
pub struct Recording<'a> {
    inner: &'a dyn Env,
    names: RefCell<BTreeSet<String>>,
}

impl<'a> Recording<'a> {
    pub fn new(inner: &'a dyn Env) -> Recording<'a> {
        Recording {
            inner,
            names: RefCell::new(BTreeSet::new()),
        }
    }

    /// The names looked up so far, in order.
    pub fn into_names(self) -> BTreeSet<String> {
        self.names.into_inner()
    }
}

impl Env for Recording<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        if !self.names.borrow().contains(name) {
            self.names.borrow_mut().insert(name.to_owned());
        }
        self.inner.get(name)
    }
}

impl fmt::Debug for Recording<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: the values may be secrets.
        f.debug_struct("Recording")
            .field("names", &self.names.borrow())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvMode {
    /// Unset variables are errors.
    Strict,
    /// Unset variables are warnings and stay unexpanded.
    Lenient,
}

/// Why a value could not be expanded.
#[derive(Debug, PartialEq, Eq)]
pub enum ExpandError {
    Unset { var: String, reference: String },
    Syntax { message: String, reference: String },
}

/// Expands one string. `Ok` also carries the references that were unset (kept literally).
pub fn expand(s: &str, env: &dyn Env) -> (String, Vec<ExpandError>) {
    let mut out = String::with_capacity(s.len());
    let mut problems = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("$$") {
            out.push('$');
            rest = after;
            continue;
        }
        let Some(body_start) = tail.strip_prefix("${") else {
            out.push('$');
            rest = &tail[1..];
            continue;
        };
        let Some(close) = body_start.find('}') else {
            problems.push(ExpandError::Syntax {
                message: "`${` without a closing `}`".to_owned(),
                reference: tail.to_owned(),
            });
            out.push_str(tail);
            rest = "";
            break;
        };
        let body = &body_start[..close];
        let reference = &tail[..close + 3];
        rest = &body_start[close + 1..];
        let (name, default) = match body.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (body, None),
        };
        if !valid_name(name) {
            problems.push(ExpandError::Syntax {
                message: format!(
                    "`{reference}` is not a variable reference; names are letters, digits and `_`, not starting with a digit"
                ),
                reference: reference.to_owned(),
            });
            out.push_str(reference);
            continue;
        }
        match (env.get(name), default) {
            (Some(""), Some(d)) => out.push_str(d),
            (Some(v), _) => out.push_str(v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                problems.push(ExpandError::Unset {
                    var: name.to_owned(),
                    reference: reference.to_owned(),
                });
                out.push_str(reference);
            }
        }
    }
    out.push_str(rest);
    (out, problems)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Expands a value written at `span`, reporting problems; returns the expanded text.
///
/// `text` is the whole source, used to point the caret at the reference itself when it is
/// written verbatim inside the value.
pub fn expand_value(
    value: &str,
    span: Span,
    path: &str,
    text: &str,
    env: &dyn Env,
    mode: EnvMode,
    acc: &mut Diagnostics,
) -> String {
    let (out, problems) = expand(value, env);
    for p in problems {
        let (reference, d) = match p {
            ExpandError::Unset { var, reference } => {
                let (code, help) = match mode {
                    EnvMode::Strict => (
                        Code::EnvUnset,
                        format!(
                            "set `{var}` in the environment or in the `.env` file, or write `${{{var}:-default}}`"
                        ),
                    ),
                    EnvMode::Lenient => (
                        Code::EnvUnsetWarning,
                        format!("`bitrouter serve` will refuse to start unless `{var}` is set"),
                    ),
                };
                let msg = format!("environment variable `{var}` is not set");
                let d = match mode {
                    EnvMode::Strict => Diagnostic::error(code, path, msg),
                    EnvMode::Lenient => Diagnostic::warning(code, path, msg),
                };
                (reference, d.label("not set").help(help))
            }
            ExpandError::Syntax { message, reference } => (
                reference,
                Diagnostic::error(Code::EnvSyntax, path, message)
                    .label("malformed reference")
                    .help("write `${NAME}` or `${NAME:-default}`; `$$` is a literal `$`"),
            ),
        };
        let span = narrow(text, span, &reference);
        acc.push(d.at(span));
        acc.poison(path);
    }
    out
}

fn narrow(text: &str, span: Span, reference: &str) -> Span {
    let written = text.get(span.range()).unwrap_or("");
    match written.find(reference) {
        Some(i) => Span::new(
            span.start + i as u32,
            span.start + (i + reference.len()) as u32,
        ),
        None => span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> HashMap<String, String> {
        [("A", "x"), ("EMPTY", "")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn expands_references_defaults_and_escapes() {
        let e = env();
        assert_eq!(expand("${A}-${B:-d}", &e).0, "x-d");
        assert_eq!(expand("${EMPTY:-d}|${EMPTY}", &e).0, "d|");
        assert_eq!(expand("$$A costs $5 ${A}", &e).0, "$A costs $5 x");
        assert_eq!(expand("${B:-}", &e).0, "");
    }

    #[test]
    fn recording_lists_what_the_compiler_reads() {
        let text = "# ${IN_A_COMMENT}\ninherit_defaults: false\nproviders:\n  p: { api_base: \"${BASE:-http://x.example/v1}\", api_key: \"${P_KEY}\", headers: { x-lit: \"$${NOT_A_REF}\" } }\n";
        let src = crate::SourceFile::new("t.yaml", text);
        let rec = Recording::new(&());
        let _ = crate::compile(&src, &rec, EnvMode::Lenient);
        let names: Vec<String> = rec.into_names().into_iter().collect();
        // The standard `OTEL_*` variables are always read (they configure OTLP export).
        let (otel, names): (Vec<String>, Vec<String>) =
            names.into_iter().partition(|n| n.starts_with("OTEL_"));
        assert_eq!(names, ["BASE", "P_KEY"].map(String::from));
        assert!(
            otel.iter().any(|n| n == "OTEL_EXPORTER_OTLP_ENDPOINT"),
            "{otel:?}"
        );
        // With the registry merged, its credential variables are read as well.
        let src = crate::SourceFile::new("t.yaml", "");
        let rec = Recording::new(&());
        let _ = crate::compile(&src, &rec, EnvMode::Lenient);
        assert!(rec.into_names().contains("OPENAI_API_KEY"));
    }

    #[test]
    fn reports_unset_and_malformed() {
        let e = env();
        let (out, p) = expand("k-${MISSING}", &e);
        assert_eq!(out, "k-${MISSING}");
        assert_eq!(
            p,
            vec![ExpandError::Unset {
                var: "MISSING".into(),
                reference: "${MISSING}".into()
            }]
        );
        assert!(matches!(
            &expand("${1X}", &e).1[..],
            [ExpandError::Syntax { .. }]
        ));
        assert!(matches!(
            &expand("${OPEN", &e).1[..],
            [ExpandError::Syntax { .. }]
        ));
    }
}
