//! Checks on the observability settings: `server.metrics_listen`, and the OTLP export of the
//! `bitrouter-observe` plugin (its endpoint URL, sampler ratio, headers, and the `OTEL_*`
//! values that could not be read), each reported at the file position or naming the variable.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::resolve::defaults::OBSERVE_PLUGIN;
use crate::resolved::{self, From};

use super::parse_listen;

const OTEL: &str = "plugins.bitrouter-observe.otel";

pub(super) fn check(acc: &mut Diagnostics, cfg: &resolved::Config) {
    metrics_listen(acc, &cfg.server);
    for p in &cfg.plugins {
        if let Some(span) = p.otel_span.filter(|_| p.name.value != OBSERVE_PLUGIN) {
            acc.push(
                Diagnostic::error(
                    Code::UnknownKey,
                    format!("plugins.{}.otel", p.name.value),
                    format!("plugin `{}` takes no `otel` block", p.name.value),
                )
                .at(span)
                .help(format!(
                    "OTLP export is configured under `plugins.{OBSERVE_PLUGIN}.otel`"
                )),
            );
        }
    }
    otel(acc, &cfg.otel);
}

fn metrics_listen(acc: &mut Diagnostics, s: &resolved::Server) {
    let Some(m) = &s.metrics_listen else { return };
    let path = "server.metrics_listen";
    match parse_listen(&m.value) {
        None => acc.push(
            Diagnostic::error(Code::InvalidValue, path, format!("`{}` is not a listen address", m.value))
                .at(m.span)
                .label("expected `host:port`")
                .help("write e.g. `127.0.0.1:9464` (a port of its own, reachable by Prometheus only)"),
        ),
        Some(addr) if parse_listen(&s.listen.value) == Some(addr) => acc.push(
            Diagnostic::error(
                Code::Conflict,
                path,
                format!("`{}` is also `server.listen`", m.value),
            )
            .at(m.span)
            .help("give the metrics listener a port of its own, or remove the key to serve `/metrics` on `listen` (with an admin token)"),
        ),
        Some(_) => {}
    }
}

/// Where a diagnostic about an OTLP setting points: the file, or the variable's name.
fn located(mut d: Diagnostic, from: From) -> Diagnostic {
    match from {
        From::File(span) => d.at(span),
        From::Env(var) => {
            d.message = format!("{} (from `{var}`)", d.message);
            d
        }
        From::Default => d,
    }
}

fn otel(acc: &mut Diagnostics, o: &resolved::Otel) {
    for bad in &o.bad_env {
        acc.push(
            Diagnostic::error(
                Code::InvalidValue,
                bad.var,
                format!(
                    "`{}` is `{}`, which is not {}",
                    bad.var, bad.value, bad.expected
                ),
            )
            .help(format!("fix or unset `{}`; it overrides `{OTEL}`", bad.var)),
        );
    }
    if o.disabled {
        return;
    }
    let Some(endpoint) = &o.endpoint else {
        if let Some(span) = o.span {
            acc.push(
                Diagnostic::warning(
                    Code::InvalidValue,
                    OTEL,
                    "OTLP export has no endpoint: nothing is exported",
                )
                .at(span)
                .help("set `endpoint` (e.g. `http://127.0.0.1:4318`) or `OTEL_EXPORTER_OTLP_ENDPOINT`"),
            );
        }
        return;
    };
    let ok = url::Url::parse(&endpoint.value)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if ok.is_none() {
        acc.push(located(
            Diagnostic::error(
                Code::InvalidValue,
                format!("{OTEL}.endpoint"),
                format!("`{}` is not an OTLP endpoint URL", endpoint.value),
            ),
            endpoint.from,
        )
        .help("write the collector's base URL, e.g. `http://127.0.0.1:4318` (HTTP) or `http://127.0.0.1:4317` (gRPC)"));
    }
    let arg = &o.sampler_arg;
    if !(arg.value.is_finite() && (0.0..=1.0).contains(&arg.value)) {
        acc.push(located(
            Diagnostic::error(
                Code::InvalidValue,
                format!("{OTEL}.sampler_arg"),
                format!("a sampling ratio of {} is not between 0 and 1", arg.value),
            ),
            arg.from,
        ));
    }
    if o.service_name.value.trim().is_empty() {
        acc.push(located(
            Diagnostic::error(
                Code::InvalidValue,
                format!("{OTEL}.service_name"),
                "the service name is empty",
            ),
            o.service_name.from,
        ));
    }
    for (name, value, from) in &o.headers {
        let bad_name = name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        // The value is never echoed: it is usually a credential.
        let bad_value = value.0.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f);
        if bad_name || bad_value {
            let what = if bad_name {
                "is not a valid header name"
            } else {
                "has a value that is not a valid header value"
            };
            acc.push(located(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("{OTEL}.headers.{name}"),
                    format!("header `{name}` {what}"),
                ),
                *from,
            ));
        }
    }
}
