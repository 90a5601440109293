//! Renders diagnostics: rustc-style text through `annotate-snippets`, and the stable JSON report.
//!
//! Colour is the caller's choice (the CLI turns it off for `NO_COLOR` and non-terminals).

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde_json::{Value, json};

use super::{Diagnostic, Severity};
use crate::source::SourceFile;

/// All diagnostics as rustc-style text, blank-line separated, followed by a summary line.
pub fn render_human(source: &SourceFile, diagnostics: &[Diagnostic], color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&renderer.render(&[group(source, d)]));
        out.push_str("\n\n");
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, 0) => {}
        (0, w) => out.push_str(&format!("{}: {}\n", source.name(), plural(w, "warning"))),
        (e, 0) => out.push_str(&format!("{}: {}\n", source.name(), plural(e, "error"))),
        (e, w) => out.push_str(&format!(
            "{}: {}, {}\n",
            source.name(),
            plural(e, "error"),
            plural(w, "warning")
        )),
    }
    out
}

fn group<'a>(source: &'a SourceFile, d: &'a Diagnostic) -> Group<'a> {
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let title = level.primary_title(d.message.as_str()).id(d.code.as_str());
    let mut group = match d.span {
        Some(span) => {
            let span = clamp(source, span);
            let mut ann = AnnotationKind::Primary.span(span);
            if let Some(label) = &d.label {
                ann = ann.label(label.as_str());
            }
            let mut snippet = Snippet::source(source.text())
                .path(source.name())
                .annotation(ann);
            for (span, text) in &d.notes {
                snippet = snippet.annotation(
                    AnnotationKind::Context
                        .span(clamp(source, *span))
                        .label(text.as_str()),
                );
            }
            title.element(snippet)
        }
        None => title.element(Level::NOTE.message(format!("in {}", source.name()))),
    };
    if !d.path.is_empty() {
        group = group.element(Level::NOTE.message(format!("at `{}`", d.path)));
    }
    if let Some(help) = &d.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    group
}

fn clamp(source: &SourceFile, span: crate::source::Span) -> std::ops::Range<usize> {
    let start = source.clamp(span.start) as usize;
    let end = (source.clamp(span.end) as usize).max(start);
    start..end
}

/// The `--json` report: `{"valid", "path", "errors": [...], "warnings": [...]}`.
pub fn render_json(source: &SourceFile, diagnostics: &[Diagnostic]) -> Value {
    let item = |d: &Diagnostic| {
        let pos = d.span.map(|s| source.line_col(s.start));
        json!({
            "code": d.code.as_str(),
            "message": d.message,
            "path": d.path,
            "line": pos.map(|p| p.line),
            "column": pos.map(|p| p.column),
            "help": d.help,
        })
    };
    let errors: Vec<Value> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(item)
        .collect();
    let warnings: Vec<Value> = diagnostics
        .iter()
        .filter(|d| !d.is_error())
        .map(item)
        .collect();
    json!({
        "valid": errors.is_empty(),
        "path": source.name(),
        "errors": errors,
        "warnings": warnings,
    })
}
