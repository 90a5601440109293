//! Semantic checks on the resolved configuration: references, duplicates, URLs, protocol
//! patterns, value ranges. Collects every problem; returns a [`Validated`] token that `lower`
//! requires, so unchecked input cannot be lowered.

use std::net::SocketAddr;

use rustc_hash::FxHashMap;

mod guardrails;
mod models;
mod observe;
mod sections;
mod store;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, did_you_mean, suggest};
use crate::resolved::{self, Origin, Setting, Spanned};
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

pub fn validate(
    acc: &mut Diagnostics,
    mut cfg: resolved::Config,
) -> Option<Validated<resolved::Config>> {
    server(acc, &cfg.server);
    for p in &cfg.providers {
        provider(acc, p, cfg.inherit_defaults);
    }
    let cx = Cx {
        providers: cfg.providers.iter().map(|p| (p.name.as_str(), p)).collect(),
        inherit: cfg.inherit_defaults,
    };
    models::check(acc, &cx, &cfg);
    sections::check(acc, &cx, &cfg);
    observe::check(acc, &cfg);
    // Last: it keeps the compiled guard in `cfg` for `lower`.
    guardrails::check(acc, &mut cfg);
    (!acc.has_errors()).then_some(Validated(cfg))
}

/// What reference checks look names up in.
struct Cx<'a> {
    providers: FxHashMap<&'a str, &'a resolved::Provider>,
    inherit: bool,
}

impl Cx<'_> {
    /// Checks a provider reference; reports an unknown one with a suggestion.
    fn provider_ref(&self, acc: &mut Diagnostics, path: &str, p: &Spanned<String>) -> bool {
        if self.providers.contains_key(p.value.as_str()) {
            return true;
        }
        if acc.is_poisoned("providers") {
            return false; // `providers` itself is unreadable and already reported.
        }
        let mut names: Vec<&str> = self.providers.keys().copied().collect();
        names.sort_unstable();
        let label = if self.inherit {
            "not defined under `providers` nor built in"
        } else {
            "not defined under `providers` (built-in providers are off: `inherit_defaults: false`)"
        };
        acc.push(
            Diagnostic::error(
                Code::UnknownProvider,
                path,
                format!("unknown provider `{}`", p.value),
            )
            .at(p.span)
            .label(label)
            .help_opt(suggest(&p.value, &names)),
        );
        false
    }
}

fn server(acc: &mut Diagnostics, s: &resolved::Server) {
    auth(acc, &s.auth);
    if let Some((listen, span)) = s.listen.written() {
        if parse_listen(listen).is_none() {
            acc.push(
                Diagnostic::error(Code::InvalidValue, "server.listen", format!("`{listen}` is not a listen address"))
                    .at(span)
                    .label("expected `host:port`")
                    .help("write e.g. `127.0.0.1:4356` (loopback only) or `0.0.0.0:4356` (all interfaces)"),
            );
        }
    }
    if let Some((level, span)) = s.log_level.written() {
        if let Err((bad, help)) = check_log_filter(level) {
            acc.push(
                Diagnostic::error(Code::InvalidValue, "server.log_level", format!("`{bad}` is not a log level"))
                    .at(span)
                    .help(help.unwrap_or_else(|| "use `trace`, `debug`, `info`, `warn`, `error` or `off`, optionally as `target=level` directives separated by commas".to_owned())),
            );
        }
    }
    let positive_u32 = [
        ("server.limits.max_headers", &s.limits.max_headers),
        ("server.limits.max_in_flight", &s.limits.max_in_flight),
        ("server.failover.max_attempts", &s.failover.max_attempts),
        (
            "server.failover.breaker_failures",
            &s.failover.breaker_failures,
        ),
    ];
    for (path, f) in positive_u32 {
        if let Some((0, span)) = f.written() {
            acc.push(Diagnostic::error(Code::InvalidValue, path, "must be at least 1").at(span));
        }
    }
    for (path, f) in [
        ("server.limits.max_body_size", &s.limits.max_body_size),
        ("server.limits.max_header_size", &s.limits.max_header_size),
    ] {
        if let Some((0, span)) = f.written() {
            acc.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    path,
                    "a size limit of 0 would refuse every request",
                )
                .at(span),
            );
        }
    }
    timeouts(acc, "server.timeouts", &s.timeouts);
    store::check(acc, &s.limits);
    for (i, o) in s.cors_allowed_origins.iter().enumerate() {
        if !is_origin(&o.value) {
            acc.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("server.cors.allowed_origins[{i}]"),
                    format!("`{}` is not an origin", o.value),
                )
                .at(o.span)
                .label("expected `scheme://host[:port]`")
                .help("write the exact origin a browser sends, e.g. `http://localhost:3000` (no path, no wildcard)"),
            );
        }
    }
    for (i, h) in s.allowed_hosts.iter().enumerate() {
        if !is_host_name(&h.value) {
            acc.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("server.allowed_hosts[{i}]"),
                    format!("`{}` is not a host name", h.value),
                )
                .at(h.span)
                .label("expected a DNS name or an IP address, without a port")
                .help("write e.g. `router.internal` or `10.0.0.5`"),
            );
        }
    }
    for (path, f) in [
        (
            "server.limits.header_read_timeout",
            &s.limits.header_read_timeout,
        ),
        (
            "server.failover.breaker_cooldown",
            &s.failover.breaker_cooldown,
        ),
        ("server.drain.timeout", &s.drain.timeout),
    ] {
        zero_duration(acc, path, f);
    }
    if s.drain.accept.value > s.drain.timeout.value {
        let span = s.drain.accept.span.or(s.drain.timeout.span);
        let mut d = Diagnostic::error(
            Code::InvalidValue,
            "server.drain.accept",
            format!(
                "accepting for {:?} after SIGTERM is longer than the drain timeout ({:?})",
                s.drain.accept.value, s.drain.timeout.value
            ),
        )
        .help("make `server.drain.accept` at most `server.drain.timeout`");
        if let Some(span) = span {
            d = d.at(span);
        }
        acc.push(d);
    }
}

/// `scheme://host[:port]` as a browser sends it in `Origin`: `http` or `https`, a host name or
/// IP literal, an optional port, nothing after.
fn is_origin(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
    else {
        return false;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host_ok, port) = match rest.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((ip, tail)) => (ip.parse::<std::net::Ipv6Addr>().is_ok(), tail),
            None => return false,
        },
        None => match rest.rsplit_once(':') {
            Some((h, _)) => (is_host_name(h), &rest[h.len()..]),
            None => (is_host_name(rest), ""),
        },
    };
    // `port` is empty or `:N`.
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    host_ok && port_ok
}

/// A DNS name (letters, digits, `-`, dot-separated labels) or an IP literal; no port.
fn is_host_name(s: &str) -> bool {
    if s.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    if let Some(v6) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return v6.parse::<std::net::Ipv6Addr>().is_ok();
    }
    let name = s.strip_suffix('.').unwrap_or(s);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// `host:port` with a literal IP, or `localhost:port`.
pub fn parse_listen(s: &str) -> Option<SocketAddr> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(a);
    }
    let port = s.strip_prefix("localhost:")?.parse::<u16>().ok()?;
    Some(SocketAddr::from(([127, 0, 0, 1], port)))
}

fn check_log_filter(s: &str) -> Result<(), (String, Option<String>)> {
    const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];
    let is_level = |l: &str| LEVELS.contains(&l.to_ascii_lowercase().as_str());
    let is_target = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_:-.".contains(c))
    };
    let bad = |word: &str| {
        let help = did_you_mean(&word.to_ascii_lowercase(), LEVELS.iter().copied())
            .map(|l| format!("did you mean `{l}`?"));
        Err((word.to_owned(), help))
    };
    if s.trim().is_empty() {
        return bad("");
    }
    for directive in s.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        match directive.split_once('=') {
            // `target=level`
            Some((target, level)) if is_target(target) && is_level(level) => {}
            Some((_, level)) if !is_level(level) => return bad(level),
            Some(_) => return bad(directive),
            None if is_level(directive) => {}
            // A bare word is a target enabled at every level, unless it is a misspelt level
            // (`warning`, `debg`), which would silently log almost nothing.
            None if is_target(directive)
                && did_you_mean(&directive.to_ascii_lowercase(), LEVELS.iter().copied())
                    .is_none() => {}
            None => return bad(directive),
        }
    }
    Ok(())
}

/// Only the keys written at this level: an inherited value was checked where it is written.
fn timeouts(acc: &mut Diagnostics, path: &str, t: &resolved::Timeouts) {
    for (key, f) in [
        ("connect", &t.connect),
        ("first_byte", &t.first_byte),
        ("idle", &t.idle),
        ("total", &t.total),
    ] {
        zero_duration(acc, &format!("{path}.{key}"), f);
    }
}

fn zero_duration(acc: &mut Diagnostics, path: &str, f: &Setting<std::time::Duration>) {
    if let Some((_, span)) = f.written().filter(|(d, _)| d.is_zero()) {
        acc.push(
            Diagnostic::error(
                Code::InvalidValue,
                path,
                "a timeout of 0 would fail every request",
            )
            .at(span)
            .help("remove the key to use the default"),
        );
    }
}

/// Names used in model strings and paths: not empty, not starting with `@`; outside `models`
/// no `:` or `/` either. Reported without silencing the rest of the entry.
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
        acc.push_unsilenced(
            Diagnostic::error(
                Code::InvalidName,
                format!("{section}.{n}"),
                format!("invalid name `{n}`: {msg}"),
            )
            .at(name.span),
        );
    }
}

fn provider(acc: &mut Diagnostics, p: &resolved::Provider, inherit: bool) {
    let path = p.path();
    if let Some(span) = p.span {
        check_name(acc, "providers", &Spanned::new(p.name.clone(), span));
    }
    match &p.api_base {
        None if p.span.is_some() => {
            let help = match &p.derives {
                Some(d) => format!("`derives: {}` never passes on `api_base`: a derived provider is a different service and names its own URL", d.value),
                None if inherit => "add `api_base: https://...`, or name the provider after a built-in (`openai`, `anthropic`, ...) to inherit its URL".to_owned(),
                None => "add `api_base: https://...` (built-in providers are off: `inherit_defaults: false`)".to_owned(),
            };
            acc.push(
                Diagnostic::error(
                    Code::MissingApiBase,
                    format!("{path}.api_base"),
                    format!("provider `{}` has no `api_base`", p.name),
                )
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
                Err(UrlProblem::Invalid(m)) => {
                    let help = m.starts_with("not a valid URL").then(|| {
                        "write the full URL, e.g. `https://api.example.com/v1`".to_owned()
                    });
                    Some((Code::InvalidUrl, m, help))
                }
                Err(UrlProblem::Forbidden(m)) => Some((
                    Code::ForbiddenHost,
                    format!("refusing upstream address: {m}"),
                    Some(
                        "cloud-metadata and link-local addresses are always refused (SSRF guard)"
                            .to_owned(),
                    ),
                )),
                Err(UrlProblem::Private(m)) => Some((
                    Code::PrivateHost,
                    format!("refusing upstream address: {m}"),
                    Some(format!(
                        "if this is a local model server, set `allow_private: true` on provider `{}`",
                        p.name
                    )),
                )),
            };
            if let Some((code, msg, help)) = problem {
                let span = base.origin.span().or(p.span);
                let mut d = Diagnostic::error(code, bpath, msg)
                    .at_opt(span)
                    .help_opt(help);
                if !matches!(base.origin, Origin::File(_)) {
                    d = d.label(format!("`api_base` from the {}", base.origin.describe()));
                }
                acc.push(d);
            }
        }
    }
    if let Some(proto) = &p.api_protocol {
        if let (resolved::ApiProtocol::Patterns(rules), Origin::File(_)) =
            (&proto.value, &proto.origin)
        {
            patterns(acc, &format!("{path}.api_protocol"), rules);
        }
    }
    timeouts(acc, &format!("{path}.timeouts"), &p.timeouts);
}

fn patterns(acc: &mut Diagnostics, path: &str, rules: &[resolved::PatternRule]) {
    let mut seen: FxHashMap<&str, crate::source::Span> = FxHashMap::default();
    for (i, rule) in rules.iter().enumerate() {
        let pat = &rule.pattern;
        let p = pat.value.as_str();
        let star = p.find('*');
        let bad = p.is_empty() || star.is_some_and(|s| s != p.len() - 1);
        if bad {
            acc.push(
                Diagnostic::error(
                    Code::InvalidPattern,
                    format!("{path}[{i}]"),
                    format!("invalid pattern `{p}`"),
                )
                .at(pat.span)
                .help("a pattern is `*`, `prefix*` (one `*`, at the end) or an exact model id"),
            );
            continue;
        }
        if let Some(first) = seen.insert(p, pat.span) {
            acc.push(
                Diagnostic::error(
                    Code::DuplicatePattern,
                    format!("{path}[{i}]"),
                    format!("pattern `{p}` appears twice"),
                )
                .at(pat.span)
                .label("repeated here")
                .note(first, "first here")
                .help("two entries with the same pattern are ambiguous; merge them into one list"),
            );
        }
    }
}

/// `server.auth`: every trusted key an Ed25519 public key, once; token ids plausible; a
/// lifetime that admits a token at all; budgets with a plausible key id and a `usd` of 0 or more.
fn auth(acc: &mut Diagnostics, a: &resolved::Auth) {
    let mut seen: Vec<String> = Vec::new();
    for (i, k) in a.trusted_keys.iter().enumerate() {
        let path = format!("server.auth.trusted_keys[{i}]");
        match auth::PublicKey::parse(&k.value) {
            Err(why) => acc.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    path,
                    format!("not a trusted key: {why}"),
                )
                .at(k.span)
                .label("expected a base64url Ed25519 public key")
                .help("`bitrouter account --export-public <id>` prints one"),
            ),
            Ok(key) if seen.contains(&key.encode()) => acc.push(
                Diagnostic::warning(Code::InvalidValue, path, "this key is listed twice")
                    .at(k.span),
            ),
            Ok(key) => seen.push(key.encode()),
        }
    }
    for (i, j) in a.revoked_jti.iter().enumerate() {
        if j.value.is_empty()
            || j.value.len() > 128
            || !j.value.bytes().all(|b| b.is_ascii_graphic())
        {
            acc.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("server.auth.revoked_jti[{i}]"),
                    "not a token id",
                )
                .at(j.span)
                .help("a `jti` is 1 to 128 printable characters, as `bitrouter keys --show` prints it"),
            );
        }
    }
    for b in &a.budgets {
        let path = format!("server.auth.budgets.{}", b.key.value);
        let k = &b.key.value;
        if k.is_empty() || k.len() > 128 || !k.bytes().all(|c| c.is_ascii_graphic()) {
            acc.push(
                Diagnostic::error(Code::InvalidValue, path.clone(), "not a key id")
                    .at(b.key.span)
                    .help("a key id is the name a key was minted under (`bitrouter keygen --name`), else its `jti`: 1 to 128 printable characters"),
            );
        }
        match &b.usd {
            crate::ast::Field::Set(u) if !u.value.is_finite() || u.value < 0.0 => acc.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("{path}.usd"),
                    "a budget must be a non-negative number of USD",
                )
                .at(u.span),
            ),
            crate::ast::Field::Absent => acc.push(
                Diagnostic::error(
                    Code::MissingKey,
                    format!("{path}.usd"),
                    format!("the budget of `{k}` has no `usd`"),
                )
                .at(b.key.span)
                .help("write the USD it may spend per window, as in `{ usd: 20, window: month }`"),
            ),
            _ => {}
        }
    }
    if let Some((d, span)) = a.max_token_lifetime.written()
        && d.is_zero()
    {
        acc.push(
            Diagnostic::error(
                Code::InvalidValue,
                "server.auth.max_token_lifetime",
                "a lifetime of 0 would refuse every token",
            )
            .at(span),
        );
    }
}
