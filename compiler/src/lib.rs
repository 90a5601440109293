//! BitRouter's configuration compiler: `bitrouter.yaml` text + an environment map → an
//! immutable, validated [`table::RoutingTable`], or every problem at once as diagnostics.
//!
//! The pipeline, one module per step:
//!
//! 1. [`syntax::parse_recovering`] — YAML → spanned node tree (parser events, or `serde-saphyr`); after a syntax
//!    error, the top-level sections are read one by one; never panics.
//! 2. [`syntax::expand_env`] — `${VAR}` / `${VAR:-default}` on string values ([`env`]).
//! 3. [`syntax::de`] — node tree → [`ast::Config`], reporting unknown keys and wrong types.
//! 4. [`resolve`] — built-in [`registry`] merge, `derives` chains → [`resolved::Config`].
//! 5. [`validate`] — references, URLs (SSRF guard), patterns, ranges → `Validated<_>`.
//! 6. [`lower`] — interned, precomputed [`table::RoutingTable`] plus its content hash.
//!
//! Invariants: the compiler does no I/O, reads no process environment and has no async or
//! networking dependency (clippy's `disallowed_methods` and the tidy test enforce it); every
//! problem is collected before returning; the data plane sees only the [`table`] module.

#![warn(clippy::disallowed_methods)]

pub mod ast;
pub mod diagnostic;
pub mod env;
#[doc(hidden)]
pub mod fuzzing;
pub mod lower;
pub mod registry;
pub mod resolve;
pub mod resolved;
#[cfg(feature = "schema")]
pub mod schema;
pub mod source;
pub mod syntax;
pub mod table;
pub mod upstream_url;
pub mod validate;

#[cfg(test)]
mod tests;

pub use diagnostic::{Code, Diagnostic, Severity};
pub use env::{Env, EnvMode};
pub use source::{SourceFile, Span};
pub use table::RoutingTable;

use diagnostic::Diagnostics;

/// A successful compilation: the table and any warnings.
#[derive(Debug)]
pub struct Compiled {
    pub table: RoutingTable,
    pub warnings: Vec<Diagnostic>,
}

/// Compiles a configuration. `Err` holds every diagnostic (errors and warnings, in source
/// order); `Ok` the table and the warnings.
///
/// `mode` decides whether an unset `${VAR}` is an error ([`EnvMode::Strict`], for `serve` and
/// `reload`) or a warning ([`EnvMode::Lenient`], for `config validate` in CI without secrets).
pub fn compile(
    source: &SourceFile,
    env: &dyn Env,
    mode: EnvMode,
) -> Result<Compiled, Vec<Diagnostic>> {
    let mut acc = Diagnostics::default();
    let table = compile_into(&mut acc, source, env, mode);
    match table {
        Some(table) if !acc.has_errors() => Ok(Compiled {
            table,
            warnings: acc.into_sorted(),
        }),
        _ => Err(acc.into_sorted()),
    }
}

fn compile_into(
    acc: &mut Diagnostics,
    source: &SourceFile,
    env: &dyn Env,
    mode: EnvMode,
) -> Option<RoutingTable> {
    let mut node = syntax::parse_recovering(source, acc)?;
    syntax::expand_env(&mut node, source.text(), env, mode, &mut String::new(), acc);
    let file: ast::Config = syntax::de::from_node(&node, "", acc).unwrap_or_default();
    let cx = resolve::Context { env, mode };
    let resolved = resolve::resolve(acc, &cx, file);
    let validated = validate::validate(acc, resolved)?;
    Some(lower::lower(validated))
}
