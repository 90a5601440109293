//! Semantic checks on the resolved configuration: references, duplicates, URLs, protocol
//! patterns, value ranges. Collects every problem; returns a [`Validated`] token that `lower`
//! requires, so unchecked input cannot be lowered.

use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use crate::ast::{self, Field, Spanned, Strategy};
use crate::diagnostic::{Code, Diagnostic, Diagnostics, suggest};
use crate::resolved::{self, Origin};
use crate::upstream_url::{self, UrlProblem};

/// A configuration that passed [`validate`] (possibly with warnings).
#[derive(Debug)]
pub struct Validated<T>(T);

impl<T> Validated<T> {
    pub fn get(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

pub fn validate(acc: &mut Diagnostics, cfg: resolved::Config) -> Option<Validated<resolved::Config>> {
    server(acc, &cfg.ast.server);
    for p in &cfg.providers {
        provider(acc, p);
    }
    let by_name: Providers<'_> = cfg.providers.iter().map(|p| (p.name.as_str(), p)).collect();
    for (name, m) in &cfg.models {
        virtual_model(acc, name, m, &by_name);
    }
    for (name, p) in &cfg.presets {
        check_name(acc, "presets", name);
        if !p.model.is_written() {
            acc.push(
                Diagnostic::error(Code::MissingKey, format!("presets.{}", name.value), format!("preset `{}` has no `model`", name.value))
                    .at(name.span)
                    .help("add `model: <virtual model, provider:model or model id>`"),
            );
        }
    }
    for (name, v) in &cfg.variants {
        check_name(acc, "variants", name);
        let path = format!("variants.{}", name.value);
        for (key, list) in [("providers", &v.providers), ("exclude_providers", &v.exclude_providers)] {
            for p in list.get().map(Vec::as_slice).unwrap_or_default() {
                provider_ref(acc, &format!("{path}.{key}"), p, &by_name);
            }
        }
    }
    other_sections(acc, &cfg.ast, &by_name);
    (!acc.has_errors()).then_some(Validated(cfg))
}

fn server(acc: &mut Diagnostics, s: &ast::Server) {
    if let Some(l) = s.listen.spanned() {
        if parse_listen(&l.value).is_none() {
            acc.push(
                Diagnostic::error(Code::InvalidValue, "server.listen", format!("`{}` is not a listen address", l.value))
                    .at(l.span)
                    .label("expected `host:port`")
                    .help("write e.g. `127.0.0.1:4356` (loopback only) or `0.0.0.0:4356` (all interfaces)"),
            );
        }
    }
    if let Some(l) = s.log_level.spanned() {
        if let Err(bad) = check_log_filter(&l.value) {
            acc.push(
                Diagnostic::error(Code::InvalidValue, "server.log_level", format!("`{bad}` is not a log level"))
                    .at(l.span)
                    .help("use `trace`, `debug`, `info`, `warn`, `error` or `off`, optionally as `target=level` directives separated by commas"),
            );
        }
    }
    let positive_u32 = [
        ("server.limits.max_headers", &s.limits.max_headers),
        ("server.limits.max_in_flight", &s.limits.max_in_flight),
        ("server.failover.max_attempts", &s.failover.max_attempts),
        ("server.failover.breaker_failures", &s.failover.breaker_failures),
    ];
    for (path, f) in positive_u32 {
        if let Some(v) = f.spanned().filter(|v| v.value == 0) {
            acc.push(Diagnostic::error(Code::InvalidValue, path, "must be at least 1").at(v.span));
        }
    }
    for (path, f) in [("server.limits.max_body_size", &s.limits.max_body_size), ("server.limits.max_header_size", &s.limits.max_header_size)] {
        if let Some(v) = f.spanned().filter(|v| v.value.0 == 0) {
            acc.push(Diagnostic::error(Code::InvalidValue, path, "a size limit of 0 would refuse every request").at(v.span));
        }
    }
    timeouts(acc, "server.timeouts", &s.timeouts);
    for (path, f) in [("server.limits.header_read_timeout", &s.limits.header_read_timeout), ("server.failover.breaker_cooldown", &s.failover.breaker_cooldown)] {
        zero_duration(acc, path, f);
    }
}

/// `host:port` with a literal IP, or `localhost:port`.
pub fn parse_listen(s: &str) -> Option<SocketAddr> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(a);
    }
    let port = s.strip_prefix("localhost:")?.parse::<u16>().ok()?;
    Some(SocketAddr::from(([127, 0, 0, 1], port)))
}

fn check_log_filter(s: &str) -> Result<(), String> {
    const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];
    let is_level = |l: &str| LEVELS.contains(&l.to_ascii_lowercase().as_str());
    let is_target = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || "_:-.".contains(c));
    if s.trim().is_empty() {
        return Err(String::new());
    }
    for directive in s.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        match directive.split_once('=') {
            // `target=level`
            Some((target, level)) if is_target(target) && is_level(level) => {}
            Some((_, level)) if !is_level(level) => return Err(level.to_owned()),
            Some(_) => return Err(directive.to_owned()),
            // A bare word is a level, or a target enabled at every level.
            None if is_level(directive) || is_target(directive) => {}
            None => return Err(directive.to_owned()),
        }
    }
    Ok(())
}

fn timeouts(acc: &mut Diagnostics, path: &str, t: &ast::Timeouts) {
    for (key, f) in [("connect", &t.connect), ("first_byte", &t.first_byte), ("idle", &t.idle), ("total", &t.total)] {
        zero_duration(acc, &format!("{path}.{key}"), f);
    }
}

fn zero_duration(acc: &mut Diagnostics, path: &str, f: &Field<ast::Duration>) {
    if let Some(v) = f.spanned().filter(|v| v.value.0.is_zero()) {
        acc.push(Diagnostic::error(Code::InvalidValue, path, "a timeout of 0 would fail every request").at(v.span).help("remove the key to use the default"));
    }
}

fn check_name(acc: &mut Diagnostics, section: &str, name: &Spanned<String>) {
    let n = &name.value;
    let bad = if n.trim().is_empty() {
        Some("a name cannot be empty")
    } else if n.starts_with('@') {
        Some("a name cannot start with `@` (that selects a preset)")
    } else if section != "models" && (n.contains(':') || n.contains('/')) {
        Some("a name cannot contain `:` or `/` (they separate provider, model and variant)")
    } else {
        None
    };
    if let Some(msg) = bad {
        acc.push(Diagnostic::error(Code::InvalidName, format!("{section}.{n}"), format!("invalid name `{n}`: {msg}")).at(name.span));
    }
}

fn provider(acc: &mut Diagnostics, p: &resolved::Provider) {
    let path = p.path();
    if let Some(span) = p.span {
        check_name(acc, "providers", &Spanned::new(p.name.clone(), span));
    }
    match &p.api_base {
        None if p.span.is_some() => {
            let help = match &p.derives {
                Some(d) => format!("`derives: {}` never passes on `api_base`: a derived provider is a different service and names its own URL", d.value),
                None => "add `api_base: https://...`, or name the provider after a built-in (`openai`, `anthropic`, ...) to inherit its URL".to_owned(),
            };
            acc.push(
                Diagnostic::error(Code::MissingApiBase, format!("{path}.api_base"), format!("provider `{}` has no `api_base`", p.name))
                    .at_opt(p.span)
                    .label("declared here")
                    .help(help),
            );
        }
        None => {}
        Some(base) => {
            let bpath = format!("{path}.api_base");
            if acc.is_poisoned(&bpath) {
                return; // An unset `${VAR}` already reported; the URL is not known yet.
            }
            let problem = match upstream_url::check(&base.value, p.allow_private) {
                Ok(_) => None,
                Err(UrlProblem::Invalid(m)) => Some((Code::InvalidUrl, m, "write the full URL, e.g. `https://api.example.com/v1`".to_owned())),
                Err(UrlProblem::Forbidden(m)) => Some((Code::ForbiddenHost, format!("refusing upstream address: {m}"), "cloud-metadata and link-local addresses are always refused (SSRF guard)".to_owned())),
                Err(UrlProblem::Private(m)) => Some((Code::PrivateHost, format!("refusing upstream address: {m}"), format!("if this is a local model server, set `allow_private: true` on provider `{}`", p.name))),
            };
            if let Some((code, msg, help)) = problem {
                let span = base.origin.span().or(p.span);
                let mut d = Diagnostic::error(code, bpath, msg).at_opt(span).help(help);
                if !matches!(base.origin, Origin::File(_)) {
                    d = d.label(format!("`api_base` from the {}", base.origin.describe()));
                }
                acc.push(d);
            }
        }
    }
    if let Some(proto) = &p.api_protocol {
        if let (ast::ApiProtocol::Patterns(entries), Origin::File(_)) = (&proto.value, &proto.origin) {
            patterns(acc, &format!("{path}.api_protocol"), entries);
        }
    }
    timeouts(acc, &format!("{path}.timeouts"), &p.timeouts);
}

fn patterns(acc: &mut Diagnostics, path: &str, entries: &[Spanned<ast::PatternEntry>]) {
    let mut seen: FxHashMap<&str, crate::source::Span> = FxHashMap::default();
    for (i, e) in entries.iter().enumerate() {
        let pat = &e.value.pattern;
        let p = pat.value.as_str();
        let star = p.find('*');
        let bad = p.is_empty() || star.is_some_and(|s| s != p.len() - 1);
        if bad {
            acc.push(
                Diagnostic::error(Code::InvalidPattern, format!("{path}[{i}]"), format!("invalid pattern `{p}`"))
                    .at(pat.span)
                    .help("a pattern is `*`, `prefix*` (one `*`, at the end) or an exact model id"),
            );
            continue;
        }
        if let Some(first) = seen.insert(p, pat.span) {
            acc.push(
                Diagnostic::error(Code::DuplicatePattern, format!("{path}[{i}]"), format!("pattern `{p}` appears twice"))
                    .at(pat.span)
                    .label("repeated here")
                    .note(first, "first here")
                    .help("two entries with the same pattern are ambiguous; merge them into one list"),
            );
        }
    }
}

/// The providers a reference may name: a hash set for the check, the names for suggestions.
type Providers<'a> = FxHashMap<&'a str, &'a resolved::Provider>;

fn provider_ref(acc: &mut Diagnostics, path: &str, p: &Spanned<String>, providers: &Providers<'_>) -> bool {
    if providers.contains_key(p.value.as_str()) {
        return true;
    }
    let mut providers: Vec<&str> = providers.keys().copied().collect();
    providers.sort_unstable();
    acc.push(
        Diagnostic::error(Code::UnknownProvider, path, format!("unknown provider `{}`", p.value))
            .at(p.span)
            .label("not defined under `providers` nor built in")
            .help_opt(suggest(&p.value, &providers)),
    );
    false
}

fn virtual_model(
    acc: &mut Diagnostics,
    name: &Spanned<String>,
    m: &ast::VirtualModel,
    by_name: &Providers<'_>,
) {
    check_name(acc, "models", name);
    let path = format!("models.{}", name.value);
    let strategy = resolved::strategy(m);
    let endpoints = match &m.endpoints {
        Field::Set(e) => &e.value,
        Field::Invalid => return,
        Field::Absent => {
            acc.push(
                Diagnostic::error(Code::NoEndpoints, path, format!("virtual model `{}` has no `endpoints`", name.value))
                    .at(name.span)
                    .help("add `endpoints:` with at least one `- provider: <id>` / `service_id: <model>`"),
            );
            return;
        }
    };
    if endpoints.is_empty() {
        acc.push(Diagnostic::error(Code::NoEndpoints, format!("{path}.endpoints"), format!("virtual model `{}` has an empty `endpoints` list", name.value)).at_opt(m.endpoints.span()));
    }
    for (i, e) in endpoints.iter().enumerate() {
        let epath = format!("{path}.endpoints[{i}]");
        let known = match e.provider.spanned() {
            Some(p) => provider_ref(acc, &format!("{epath}.provider"), p, by_name),
            None => {
                if !e.provider.is_invalid() {
                    acc.push(Diagnostic::error(Code::MissingKey, &*epath, "endpoint has no `provider`").at_opt(m.endpoints.span()).help("add `provider: <provider id>`"));
                }
                false
            }
        };
        let model = match (e.service_id.spanned(), e.model_id.spanned()) {
            (Some(s), None) | (None, Some(s)) => Some(s),
            (Some(_), Some(m2)) => {
                acc.push(
                    Diagnostic::error(Code::EndpointModel, format!("{epath}.model_id"), "endpoint has both `service_id` and `model_id`")
                        .at(m2.span)
                        .help("`model_id` is another name for `service_id`; keep one"),
                );
                None
            }
            (None, None) => {
                if !e.service_id.is_invalid() && !e.model_id.is_invalid() {
                    acc.push(
                        Diagnostic::error(Code::EndpointModel, &*epath, "endpoint has no `service_id`")
                            .at_opt(e.provider.span().or(m.endpoints.span()))
                            .help("add `service_id: <the provider's model id>`"),
                    );
                }
                None
            }
        };
        if let (true, Some(model), Some(p)) = (known, model, e.provider.get()) {
            let prov = by_name[p.as_str()];
            let declared = prov.models.iter().any(|d| d.id == model.value);
            if !declared && !prov.models.is_empty() {
                let ids: Vec<&str> = prov.models.iter().map(|d| d.id.as_str()).collect();
                acc.push(
                    Diagnostic::warning(Code::UndeclaredModel, format!("{epath}.service_id"), format!("provider `{p}` does not declare model `{}`", model.value))
                        .at(model.span)
                        .label("sent upstream as written")
                        .help_opt(suggest(&model.value, &ids).or_else(|| Some(format!("declare it under `providers.{p}.models` to give it pricing and limits")))),
                );
            }
        }
        match (e.weight.spanned(), strategy) {
            (Some(w), Strategy::Weighted) if w.value == 0 => {
                acc.push(Diagnostic::error(Code::InvalidWeight, format!("{epath}.weight"), "weight 0 would never start at this endpoint").at(w.span).help("use a positive weight, or remove the endpoint"));
            }
            (_, Strategy::Weighted) => {}
            (Some(w), _) => {
                acc.push(
                    Diagnostic::warning(Code::WeightIgnored, format!("{epath}.weight"), "`weight` has no effect with this strategy")
                        .at(w.span)
                        .help("set `strategy: weighted` on the model to use weights"),
                );
            }
            (None, _) => {}
        }
    }
}

fn other_sections(acc: &mut Diagnostics, cfg: &ast::Config, providers: &Providers<'_>) {
    let servers: Vec<&str> = cfg.mcp_servers.names().collect();
    let tools: Vec<&str> = cfg.server_tools.names().collect();
    let refs = |acc: &mut Diagnostics, path: &str, list: &Field<Vec<Spanned<String>>>, known: &[&str], what: &str| {
        for r in list.get().map(Vec::as_slice).unwrap_or_default() {
            if !known.contains(&r.value.as_str()) {
                acc.push(
                    Diagnostic::error(Code::UnknownReference, path, format!("unknown {what} `{}`", r.value))
                        .at(r.span)
                        .help_opt(suggest(&r.value, known).or_else(|| Some(format!("define it under `{what}s`").replace("mcp servers", "mcp_servers")))),
                );
            }
        }
    };
    refs(acc, "mcp.servers", &cfg.mcp.servers, &servers, "mcp server");
    for (name, s) in cfg.mcp_servers.iter() {
        let path = format!("mcp_servers.{}", name.value);
        let transport = s.transport.get().copied().or(if s.command.is_written() {
            Some(ast::McpTransport::Stdio)
        } else if s.url.is_written() {
            Some(ast::McpTransport::Http)
        } else {
            None
        });
        match transport {
            None if !s.transport.is_invalid() => acc.push(
                Diagnostic::error(Code::MissingKey, path, format!("MCP server `{}` has neither `command` nor `url`", name.value))
                    .at(name.span)
                    .help("set `command:` for a local (stdio) server or `url:` for a remote one"),
            ),
            Some(ast::McpTransport::Stdio) if !s.command.is_written() => acc.push(
                Diagnostic::error(Code::MissingKey, path, "a `stdio` MCP server needs `command`").at_opt(s.transport.span().or(Some(name.span))),
            ),
            Some(ast::McpTransport::Http | ast::McpTransport::Sse) => match s.url.spanned() {
                None if !s.url.is_invalid() => acc.push(Diagnostic::error(Code::MissingKey, path, "an `http`/`sse` MCP server needs `url`").at_opt(s.transport.span().or(Some(name.span)))),
                Some(u) => {
                    if let Err(UrlProblem::Invalid(m) | UrlProblem::Forbidden(m)) = upstream_url::check(&u.value, true) {
                        acc.push(Diagnostic::error(Code::InvalidUrl, format!("{path}.url"), m).at(u.span));
                    }
                    if s.command.is_written() {
                        acc.push(Diagnostic::error(Code::Conflict, format!("{path}.command"), "`command` is for `stdio` servers; this one connects to `url`").at_opt(s.command.span()));
                    }
                }
                None => {}
            },
            _ => {}
        }
    }
    for (name, a) in cfg.agents.iter() {
        let path = format!("agents.{}", name.value);
        if !a.model.is_written() {
            acc.push(Diagnostic::error(Code::MissingKey, &*path, format!("agent `{}` has no `model`", name.value)).at(name.span).help("add `model: <a model name>`"));
        }
        refs(acc, &format!("{path}.mcp_servers"), &a.mcp_servers, &servers, "mcp server");
        refs(acc, &format!("{path}.server_tools"), &a.server_tools, &tools, "server tool");
    }
    for (name, t) in cfg.server_tools.iter() {
        let path = format!("server_tools.{}", name.value);
        if !t.kind.is_written() {
            acc.push(Diagnostic::error(Code::MissingKey, &*path, format!("server tool `{}` has no `kind`", name.value)).at(name.span).help("add `kind: web_search` (or the tool's kind)"));
        }
        if let Some(p) = t.provider.spanned() {
            provider_ref(acc, &format!("{path}.provider"), p, providers);
        }
    }
    if let Some(u) = cfg.database.url.spanned() {
        let ok = ["sqlite:", "postgres://", "postgresql://"].iter().any(|s| u.value.starts_with(s));
        if !ok && !acc.is_poisoned("database.url") {
            acc.push(
                Diagnostic::error(Code::InvalidValue, "database.url", "unsupported database URL")
                    .at(u.span)
                    .help("use `sqlite://PATH` or `postgres://USER@HOST/DB`"),
            );
        }
    }
}
