//! Resolution: `ast::Config` → `resolved::Config`, in one fixed order.
//!
//! 1. [`defaults`] — `server` with every default filled in; its `timeouts` are also what a
//!    provider's unset timeouts fall back to.
//! 2. [`providers`] — the built-in registry merge (`inherit_defaults`) and `derives` chains,
//!    recording where each value came from ([`resolved::Origin`]).
//! 3. [`sections`] — every other section read into its resolved form, defaults applied.
//!
//! Reading a section into its resolved form reports what that form cannot hold: an entry with
//! two spellings of one key, or neither, a missing list, a header set twice in one map. Those
//! entries are kept with the field unset, so references to them still resolve. `validate`
//! checks references and values; `lower` only builds the table.

pub mod defaults;
mod guardrails;
mod observe;
mod providers;
mod sections;

pub use providers::MAX_DERIVES;

use crate::ast::{self, Field, NameMap, SecretText};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::env::{Env, EnvMode};
use crate::resolved;

/// What resolution reads besides the file: the environment and how strict to be about it.
pub struct Context<'a> {
    pub env: &'a dyn Env,
    pub mode: EnvMode,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

pub fn resolve(acc: &mut Diagnostics, cx: &Context<'_>, file: ast::Config) -> resolved::Config {
    let inherit = file
        .inherit_defaults
        .get()
        .copied()
        .unwrap_or(defaults::INHERIT_DEFAULTS);
    let server = defaults::server(&file.server);
    let providers = providers::resolve(acc, cx, &file, inherit, &server.timeouts);
    let ast::Config {
        models,
        presets,
        variants,
        mcp,
        mcp_servers,
        agents,
        server_tools,
        database,
        plugins,
        ..
    } = file;
    resolved::Config {
        server,
        providers,
        models: sections::models(acc, models),
        presets: sections::presets(presets),
        variants: sections::variants(variants),
        inherit_defaults: inherit,
        mcp: sections::mcp(mcp),
        mcp_servers: sections::mcp_servers(acc, mcp_servers),
        agents: sections::agents(agents),
        server_tools: sections::server_tools(server_tools),
        database: resolved::Database {
            url: database.url.into_spanned(),
        },
        otel: observe::otel(cx, &plugins),
        guardrails: guardrails::guardrails(&plugins),
        plugins: sections::plugins(plugins),
    }
}

/// Adds the set values of a header map written in the file at `path` to `out` (where a header
/// already there, by case-insensitive name, wins), reporting a header written twice in it.
fn headers_into(
    acc: &mut Diagnostics,
    path: &str,
    map: &NameMap<Field<SecretText>>,
    out: &mut Vec<(String, SecretText)>,
) {
    for (i, (k, v)) in map.entries.iter().enumerate() {
        if let Some((first, _)) = map.entries[..i]
            .iter()
            .find(|(s, _)| s.value.eq_ignore_ascii_case(&k.value))
        {
            acc.push(
                Diagnostic::error(
                    Code::Conflict,
                    format!("{path}.{}", k.value),
                    format!("header `{}` is set twice", k.value),
                )
                .at(k.span)
                .note(first.span, "first set here")
                .help("header names are case-insensitive; keep one"),
            );
        }
        add_header(out, &k.value, v);
    }
}

/// Adds a header unless one of the same (case-insensitive) name is there already.
fn add_header(out: &mut Vec<(String, SecretText)>, name: &str, value: &Field<SecretText>) {
    if let Some(v) = value.get() {
        if !out.iter().any(|(h, _)| h.eq_ignore_ascii_case(name)) {
            out.push((name.to_owned(), v.clone()));
        }
    }
}
