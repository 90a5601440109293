//! `bitrouter route <model>`: the compiled fallback chain, each hop with its protocol and why.

use std::fmt::Write;
use std::process::ExitCode;

use anyhow::Result;
use compiler::diagnostic::render;
use compiler::table::{
    Choice, Credential, HopRef, LookupError, Protocol, ProtocolSourceRef, Route, RouteKind,
    RoutingTable,
};
use compiler::{EnvMode, SourceFile};
use serde_json::json;

use crate::args::{Global, InboundProtocol, RouteArgs};
use crate::{control, home, output};

pub(crate) fn run(g: &Global, a: &RouteArgs) -> Result<ExitCode> {
    if let Some(socket) = &a.socket {
        return live(socket, a);
    }
    let paths = home::resolve(g);
    let text = home::read_config(&paths, false)?.unwrap_or_default();
    let env = home::environment(&paths)?;
    let source = SourceFile::new(paths.config.display().to_string(), text);
    let compiled = match compiler::compile(&source, &env, EnvMode::Lenient) {
        Ok(c) => c,
        Err(d) => {
            output::message(&render::render_human(&source, &d, output::color()));
            output::fail(
                "the configuration is invalid",
                Some("fix the errors above; `bitrouter config validate` checks the file"),
            );
            return Ok(ExitCode::from(1));
        }
    };
    let inbound = a.inbound.map(inbound_protocol);
    match chain_text(&compiled.table, &a.model, inbound, a.json) {
        Ok(out) => {
            output::data(&out);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            output::fail(&e.message, e.hint.as_deref());
            Ok(ExitCode::from(1))
        }
    }
}

/// The chain from the daemon's live table, through the control socket.
fn live(socket: &std::path::Path, a: &RouteArgs) -> Result<ExitCode> {
    let inbound = a.inbound.map(|p| inbound_protocol(p).as_str());
    let reply = control::client::request(
        socket,
        &json!({"v": control::proto::VERSION, "op": "route", "model": a.model, "inbound": inbound, "json": a.json}),
        std::time::Duration::from_secs(10),
    )
    .map_err(|e| output::Hinted::wrap(e, "is the daemon running? `bitrouter status` shows it"))?;
    match reply["output"].as_str() {
        Some(out) if reply["ok"] == true => {
            output::data(out);
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            output::fail(
                reply["error"].as_str().unwrap_or("the daemon refused"),
                reply["hint"].as_str(),
            );
            Ok(ExitCode::from(1))
        }
    }
}

fn inbound_protocol(p: InboundProtocol) -> Protocol {
    match p {
        InboundProtocol::ChatCompletions => Protocol::ChatCompletions,
        InboundProtocol::Responses => Protocol::Responses,
        InboundProtocol::Messages => Protocol::Messages,
        InboundProtocol::GenerateContent => Protocol::GenerateContent,
    }
}

/// Why a model does not route: the error line and its hint.
#[derive(Debug)]
pub(crate) struct NoRoute {
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}

/// The chain for `model` as `bitrouter route` prints it (human text or pretty JSON); shared
/// with the control socket's `route`, which answers from the daemon's live table.
pub(crate) fn chain_text(
    table: &RoutingTable,
    model: &str,
    inbound: Option<Protocol>,
    json: bool,
) -> Result<String, NoRoute> {
    let route = match table.route(model) {
        Ok(r) => r,
        Err(e) => {
            let message = e.to_string();
            let hint = match e {
                LookupError::UnknownModel { name } if table.suggest(name).is_some() => {
                    table.suggest(name).map(|s| format!("did you mean `{s}`?"))
                }
                LookupError::UnknownPreset { name } if table.suggest_preset(name).is_some() => {
                    table.suggest_preset(name).map(|s| format!("did you mean `@{s}`?"))
                }
                LookupError::UnknownPreset { .. } if table.presets().is_empty() => {
                    Some("this configuration defines no presets (`presets:`)".to_owned())
                }
                LookupError::UnknownPreset { .. } => {
                    let names: Vec<String> = table.presets().iter().map(|p| format!("`@{}`", p.name)).collect();
                    Some(format!("defined presets: {}", names.join(", ")))
                }
                LookupError::UnknownModel { .. } => Some(
                    "use a virtual model from `models`, `provider:model`, or a model id a provider declares".to_owned(),
                ),
                _ => None,
            };
            return Err(NoRoute { message, hint });
        }
    };
    let hops: Vec<Hop> = route.hops().map(|h| hop(&h, inbound)).collect();
    if json {
        let chain: Vec<_> = hops
            .iter()
            .map(|h| {
                json!({
                    "provider": h.provider, "service_id": h.service_id, "upstream_model": h.upstream_model,
                    "protocol": h.protocol, "protocols": h.protocols, "api_base": h.api_base,
                    "url": h.url, "credential": h.credential, "reason": h.reason,
                })
            })
            .collect();
        let v = json!({
            "model": model,
            "kind": kind(&route),
            "strategy": strategy(&route),
            "preset": route.preset.map(|p| &*p.name),
            "variant": route.variant.map(|v| &*v.name),
            "inbound": inbound.map(Protocol::as_str),
            "chain": chain,
        });
        Ok(serde_json::to_string_pretty(&v).unwrap_or_default())
    } else {
        Ok(human(model, &route, inbound, &hops))
    }
}

struct Hop {
    provider: String,
    service_id: String,
    upstream_model: String,
    protocol: &'static str,
    protocols: Vec<&'static str>,
    api_base: String,
    url: String,
    credential: String,
    reason: String,
}

fn hop(h: &HopRef<'_>, inbound: Option<Protocol>) -> Hop {
    let (set, source) = h.protocols();
    let (protocol, choice) = set.choose(inbound);
    let rule = match source {
        ProtocolSourceRef::ModelOverride => "the model's own `api_protocol`".to_owned(),
        ProtocolSourceRef::Exact => format!(
            "exact pattern `{}` ({})",
            h.service_id, h.provider.protocol_origin
        ),
        ProtocolSourceRef::Prefix(p) => format!("pattern `{p}*` ({})", h.provider.protocol_origin),
        ProtocolSourceRef::Wildcard => format!("pattern `*` ({})", h.provider.protocol_origin),
        ProtocolSourceRef::Provider => {
            format!("provider `api_protocol` ({})", h.provider.protocol_origin)
        }
        ProtocolSourceRef::Inferred => {
            "no `api_protocol`: inferred from the api_base host".to_owned()
        }
    };
    let why = match (choice, inbound) {
        (Choice::Native, Some(p)) => format!("inbound `{p}` is in the set: passthrough"),
        (Choice::Preferred, Some(p)) => {
            format!("inbound `{p}` is not in the set: translate to the preferred `{protocol}`")
        }
        (_, None) => format!("preferred protocol `{protocol}`"),
    };
    let credential = match &h.provider.credential {
        Credential::None => "none needed".to_owned(),
        Credential::Key(_) => "set".to_owned(),
        Credential::Missing(v) => format!("missing: set {v}"),
    };
    let mut reason = format!("{why}; set from {rule}");
    if h.target.is_none_or(|t| !t.declared) {
        reason.push_str("; model not declared by the provider (sent as written)");
    }
    Hop {
        provider: h.provider.name.to_string(),
        service_id: h.service_id.to_owned(),
        upstream_model: h.upstream_model.to_owned(),
        protocol: protocol.as_str(),
        protocols: set.iter().map(Protocol::as_str).collect(),
        api_base: h.provider.api_base.to_string(),
        url: h.url(protocol, false).into_owned(),
        credential,
        reason,
    }
}

fn kind(r: &Route<'_>) -> &'static str {
    match r.kind {
        RouteKind::Virtual => "virtual",
        RouteKind::Declared => "declared",
        RouteKind::Direct => "direct",
    }
}

fn strategy(r: &Route<'_>) -> &'static str {
    match r.strategy {
        compiler::table::Strategy::Priority => "priority",
        compiler::table::Strategy::RoundRobin => "round_robin",
        compiler::table::Strategy::Weighted => "weighted",
    }
}

fn human(name: &str, r: &Route<'_>, inbound: Option<Protocol>, hops: &[Hop]) -> String {
    let mut o = String::new();
    let _ = write!(o, "{name}: {} model, strategy {}", kind(r), strategy(r));
    if let Some(p) = r.preset {
        let _ = write!(o, ", preset @{} -> {}", p.name, p.model);
    }
    if let Some(v) = r.variant {
        let _ = write!(o, ", variant :{}", v.name);
    }
    if let Some(p) = inbound {
        let _ = write!(o, ", inbound {p}");
    }
    let _ = writeln!(o);
    for (i, h) in hops.iter().enumerate() {
        let model = if h.upstream_model == h.service_id {
            h.service_id.clone()
        } else {
            format!("{} (upstream `{}`)", h.service_id, h.upstream_model)
        };
        let _ = writeln!(
            o,
            "  {}. {} / {} via {} [{}]",
            i + 1,
            h.provider,
            model,
            h.protocol,
            h.protocols.join(", ")
        );
        let _ = writeln!(o, "     url:  {}", h.url);
        let _ = writeln!(
            o,
            "     base: {}   credential: {}",
            h.api_base, h.credential
        );
        let _ = writeln!(o, "     why:  {}", h.reason);
    }
    o
}
