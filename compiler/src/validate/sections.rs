//! Checks on the sections the data plane does not serve yet (`mcp`, `mcp_servers`, `agents`,
//! `server_tools`, `database`): their required keys, URLs and the references between them.

use super::Cx;
use crate::diagnostic::{Code, Diagnostic, Diagnostics, suggest};
use crate::resolved::{self, McpTransport, Spanned};
use crate::upstream_url::{self, UrlProblem};

pub(super) fn check(acc: &mut Diagnostics, cx: &Cx<'_>, cfg: &resolved::Config) {
    let servers: Vec<&str> = cfg
        .mcp_servers
        .iter()
        .map(|s| s.name.value.as_str())
        .collect();
    let tools: Vec<&str> = cfg
        .server_tools
        .iter()
        .map(|t| t.name.value.as_str())
        .collect();
    if let resolved::McpServers::Listed(listed) = &cfg.mcp.servers {
        refs(
            acc,
            "mcp.servers",
            listed,
            &servers,
            "MCP server",
            "mcp_servers",
        );
    }
    for s in &cfg.mcp_servers {
        mcp_server(acc, s);
    }
    for a in &cfg.agents {
        let name = &a.name;
        let path = format!("agents.{}", name.value);
        // A `model` written but invalid was reported at this path already, which silences this.
        if a.model.is_none() {
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
    for t in &cfg.server_tools {
        let name = &t.name;
        let path = format!("server_tools.{}", name.value);
        if t.kind.is_none() {
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
        if let Some(p) = &t.provider {
            cx.provider_ref(acc, &format!("{path}.provider"), p);
        }
    }
    if let Some(u) = &cfg.database.url {
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
    list: &[Spanned<String>],
    known: &[&str],
    what: &str,
    section: &str,
) {
    if acc.is_unreadable(section) {
        return; // unreadable (a YAML syntax error in it), and already reported
    }
    for (i, r) in list.iter().enumerate() {
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

/// What the transport (as written or inferred by `resolve`) requires of the rest.
fn mcp_server(acc: &mut Diagnostics, s: &resolved::McpServer) {
    use McpTransport::{Http, Sse, Stdio};
    let path = format!("mcp_servers.{}", s.name.value);
    let Some(transport) = s.transport else {
        return; // Undecidable, and reported.
    };
    let at = transport.span.unwrap_or(s.name.span);
    match transport.value {
        Stdio => {
            if s.command.is_none() {
                acc.push(
                    Diagnostic::error(
                        Code::MissingKey,
                        format!("{path}.command"),
                        "a `stdio` MCP server needs `command`",
                    )
                    .at(at),
                );
            }
            if let Some(span) = s.url.as_ref().map(|u| u.span) {
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
            match &s.url {
                // Written but invalid: reported at this path already, which silences this.
                None => {
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
            }
            if let Some(span) = s.command.as_ref().map(|c| c.span) {
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
