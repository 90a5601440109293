//! The only module that prints: data on stdout, messages on stderr (`error:`, `hint:`).

#![allow(clippy::print_stdout, clippy::print_stderr, reason = "this module is the CLI's output")]

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

/// One clear line, its causes, and an optional hint.
pub(crate) fn error(e: &anyhow::Error) {
    eprintln!("error: {e}");
    for cause in e.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    if let Some(h) = e.downcast_ref::<Hint>() {
        eprintln!("hint: {}", h.0);
    }
}

pub(crate) fn fail(message: &str, hint: Option<&str>) {
    eprintln!("error: {message}");
    if let Some(h) = hint {
        eprintln!("hint: {h}");
    }
}

/// Attached to an error with `.context(Hint(...))`-style wrapping to print a `hint:` line.
#[derive(Debug)]
pub(crate) struct Hint(pub(crate) String);

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
