//! Checks on the sections the data plane does not serve yet (`mcp`, `mcp_servers`, `agents`,
//! `server_tools`, `database`): their shapes and the references between them.

use super::Cx;
use crate::ast::{self, Field, List, Spanned};
use crate::diagnostic::{Code, Diagnostic, Diagnostics, suggest};
use crate::upstream_url::{self, UrlProblem};

pub(super) fn check(acc: &mut Diagnostics, cx: &Cx<'_>, cfg: &ast::Config) {
    let servers: Vec<&str> = cfg.mcp_servers.names().collect();
    let tools: Vec<&str> = cfg.server_tools.names().collect();
    refs(
        acc,
        "mcp.servers",
        &cfg.mcp.servers,
        &servers,
        "MCP server",
        "mcp_servers",
    );
    for (name, s) in cfg.mcp_servers.iter() {
        mcp_server(acc, name, s);
    }
    for (name, a) in cfg.agents.iter() {
        let path = format!("agents.{}", name.value);
        if !a.model.is_written() {
            acc.push(
                Diagnostic::error(
                    Code::MissingKey,
                    format!("{path}.model"),
                    format!("agent `{}` has no `model`", name.value),
                )
                .at(name.span)
                .help("add `model: <a model name>`"),
            );
        }
        refs(
            acc,
            &format!("{path}.mcp_servers"),
            &a.mcp_servers,
            &servers,
            "MCP server",
            "mcp_servers",
        );
        refs(
            acc,
            &format!("{path}.server_tools"),
            &a.server_tools,
            &tools,
            "server tool",
            "server_tools",
        );
    }
    for (name, t) in cfg.server_tools.iter() {
        let path = format!("server_tools.{}", name.value);
        if !t.kind.is_written() {
            acc.push(
                Diagnostic::error(
                    Code::MissingKey,
                    format!("{path}.kind"),
                    format!("server tool `{}` has no `kind`", name.value),
                )
                .at(name.span)
                .help("add `kind: web_search` (or the tool's kind)"),
            );
        }
        if let Some(p) = t.provider.spanned() {
            cx.provider_ref(acc, &format!("{path}.provider"), p);
        }
    }
    if let Some(u) = cfg.database.url.spanned() {
        let ok = ["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|s| u.value.starts_with(s));
        if !ok {
            acc.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    "database.url",
                    "unsupported database URL",
                )
                .at(u.span)
                .help("use `sqlite://PATH` or `postgres://USER@HOST/DB`"),
            );
        }
    }
}

fn refs(
    acc: &mut Diagnostics,
    path: &str,
    list: &Field<List<Spanned<String>>>,
    known: &[&str],
    what: &str,
    section: &str,
) {
    for (i, r) in list.items().iter().enumerate() {
        if !known.contains(&r.value.as_str()) {
            acc.push(
                Diagnostic::error(
                    Code::UnknownReference,
                    format!("{path}[{i}]"),
                    format!("unknown {what} `{}`", r.value),
                )
                .at(r.span)
                .help_opt(
                    suggest(&r.value, known)
                        .or_else(|| Some(format!("define it under `{section}`"))),
                ),
            );
        }
    }
}

fn mcp_server(acc: &mut Diagnostics, name: &Spanned<String>, s: &ast::McpServer) {
    use ast::McpTransport::{Http, Sse, Stdio};
    let path = format!("mcp_servers.{}", name.value);
    let at = s.transport.span().unwrap_or(name.span);
    let transport = match (
        s.transport.get().copied(),
        s.command.is_written(),
        s.url.is_written(),
    ) {
        (Some(t), _, _) => t,
        (None, true, true) => {
            acc.push(
                Diagnostic::error(Code::Conflict, format!("{path}.transport"), format!("MCP server `{}` has both `command` and `url`", name.value))
                    .at(name.span)
                    .help("keep `command` for a local (stdio) server or `url` for a remote one, or set `transport`"),
            );
            return;
        }
        (None, true, false) => Stdio,
        (None, false, true) => Http,
        (None, false, false) => {
            if !s.transport.is_invalid() {
                acc.push(
                    Diagnostic::error(
                        Code::MissingKey,
                        format!("{path}.command"),
                        format!(
                            "MCP server `{}` has neither `command` nor `url`",
                            name.value
                        ),
                    )
                    .at(name.span)
                    .help("set `command:` for a local (stdio) server or `url:` for a remote one"),
                );
            }
            return;
        }
    };
    match transport {
        Stdio => {
            if !s.command.is_written() {
                acc.push(
                    Diagnostic::error(
                        Code::MissingKey,
                        format!("{path}.command"),
                        "a `stdio` MCP server needs `command`",
                    )
                    .at(at),
                );
            }
            if let Some(span) = s.url.span() {
                acc.push(
                    Diagnostic::error(
                        Code::Conflict,
                        format!("{path}.url"),
                        "`url` is for `http` and `sse` MCP servers; this one runs `command`",
                    )
                    .at(span)
                    .help("remove `url`, or set `transport: http`"),
                );
            }
        }
        Http | Sse => {
            match s.url.spanned() {
                None if !s.url.is_invalid() => {
                    acc.push(
                        Diagnostic::error(
                            Code::MissingKey,
                            format!("{path}.url"),
                            "an `http` or `sse` MCP server needs `url`",
                        )
                        .at(at),
                    );
                }
                Some(u) => {
                    let problem = match upstream_url::check(&u.value, true) {
                        Err(UrlProblem::Invalid(m)) => Some((Code::InvalidUrl, m)),
                        Err(UrlProblem::Forbidden(m)) => Some((
                            Code::ForbiddenHost,
                            format!("refusing MCP server address: {m}"),
                        )),
                        Ok(_) | Err(UrlProblem::Private(_)) => None,
                    };
                    if let Some((code, m)) = problem {
                        acc.push(Diagnostic::error(code, format!("{path}.url"), m).at(u.span));
                    }
                }
                None => {}
            }
            if let Some(span) = s.command.span() {
                acc.push(
                    Diagnostic::error(
                        Code::Conflict,
                        format!("{path}.command"),
                        "`command` is for `stdio` MCP servers; this one connects to `url`",
                    )
                    .at(span)
                    .help("remove `command`, or set `transport: stdio`"),
                );
            }
        }
    }
}
