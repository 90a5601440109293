//! The only module that prints: data on stdout, messages on stderr (`error:`, `hint:`).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "this module is the CLI's output"
)]

use std::io::IsTerminal;

/// Colour for stderr: off with `NO_COLOR` (any value) or when stderr is not a terminal.
pub(crate) fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

pub(crate) fn data(s: &str) {
    print!("{s}");
    if !s.ends_with('\n') {
        println!();
    }
}

pub(crate) fn message(s: &str) {
    eprint!("{s}");
    if !s.ends_with('\n') {
        eprintln!();
    }
}

/// One clear line, its causes, and the hint when the error carries one.
pub(crate) fn error(e: &anyhow::Error) {
    eprintln!("error: {e}");
    for cause in e.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    if let Some(h) = e.downcast_ref::<Hinted>() {
        eprintln!("hint: {}", h.hint);
    }
}

/// An error and its causes on one line (`a: b: c`), as `{:#}` prints an `anyhow` chain.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Rendered diagnostics on stderr, coloured when stderr is a terminal.
pub(crate) fn diagnostics(file: &compiler::SourceFile, d: &[compiler::Diagnostic]) {
    if !d.is_empty() {
        message(&compiler::diagnostic::render::render_human(
            file,
            d,
            color(),
        ));
    }
}

pub(crate) fn fail(message: &str, hint: Option<&str>) {
    eprintln!("error: {message}");
    if let Some(h) = hint {
        eprintln!("hint: {h}");
    }
}

/// An error with a `hint:` line; displays as the error it wraps.
#[derive(Debug)]
pub(crate) struct Hinted {
    error: anyhow::Error,
    hint: String,
}

impl Hinted {
    pub(crate) fn wrap(error: impl Into<anyhow::Error>, hint: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Hinted {
            error: error.into(),
            hint: hint.into(),
        })
    }
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Hinted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}
