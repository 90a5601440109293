//! Explaining a route: the compiled fallback chain for a model name, each hop with its
//! provider, upstream model, chosen protocol and why (`bitrouter route`, from a file or from
//! the daemon's live table over the control socket). Data and its text rendering; no I/O.

use std::fmt::Write as _;

use compiler::table::{
    Choice, Credential, HopRef, LookupError, Protocol, ProtocolSourceRef, Route, RouteKind,
    RoutingTable, Strategy,
};
use serde::{Deserialize, Serialize};

/// One model's chain, as `route --json` prints it (the control socket sends the same).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteReport {
    pub model: String,
    /// `virtual`, `declared` or `direct`.
    pub kind: String,
    /// `priority`, `round_robin` or `weighted`.
    pub strategy: String,
    pub preset: Option<String>,
    /// The model the preset names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset_model: Option<String>,
    pub variant: Option<String>,
    pub inbound: Option<String>,
    pub chain: Vec<Hop>,
}

/// One endpoint of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub provider: String,
    pub service_id: String,
    pub upstream_model: String,
    pub protocol: String,
    pub protocols: Vec<String>,
    pub api_base: String,
    pub url: String,
    /// `none needed`, `set` or `missing: set VAR` — never the key.
    pub credential: String,
    pub reason: String,
}

/// Why a model does not route: the error line and its hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoRoute {
    pub message: String,
    pub hint: Option<String>,
}

/// The chain `table` gives `model`, for a caller speaking `inbound` (or the preferred protocol).
pub fn explain(
    table: &RoutingTable,
    model: &str,
    inbound: Option<Protocol>,
) -> Result<RouteReport, NoRoute> {
    let route = table.route(model).map_err(|e| no_route(table, &e))?;
    Ok(RouteReport {
        model: model.to_owned(),
        kind: kind(&route).to_owned(),
        strategy: strategy(&route).to_owned(),
        preset: route.preset.map(|p| p.name.to_string()),
        preset_model: route.preset.map(|p| p.model.to_string()),
        variant: route.variant.map(|v| v.name.to_string()),
        inbound: inbound.map(|p| p.as_str().to_owned()),
        chain: route.hops().map(|h| hop(&h, inbound)).collect(),
    })
}

fn no_route(table: &RoutingTable, e: &LookupError<'_>) -> NoRoute {
    let hint = match *e {
        LookupError::UnknownModel { name } if table.suggest(name).is_some() => {
            table.suggest(name).map(|s| format!("did you mean `{s}`?"))
        }
        LookupError::UnknownPreset { name } if table.suggest_preset(name).is_some() => table
            .suggest_preset(name)
            .map(|s| format!("did you mean `@{s}`?")),
        LookupError::UnknownPreset { .. } if table.presets().is_empty() => {
            Some("this configuration defines no presets (`presets:`)".to_owned())
        }
        LookupError::UnknownPreset { .. } => {
            let names: Vec<String> = table
                .presets()
                .iter()
                .map(|p| format!("`@{}`", p.name))
                .collect();
            Some(format!("defined presets: {}", names.join(", ")))
        }
        LookupError::UnknownModel { .. } => Some(
            "use a virtual model from `models`, `provider:model`, or a model id a provider declares"
                .to_owned(),
        ),
        _ => None,
    };
    NoRoute {
        message: e.to_string(),
        hint,
    }
}

fn hop(h: &HopRef<'_>, inbound: Option<Protocol>) -> Hop {
    let (set, source) = h.protocols();
    let (protocol, choice) = set.choose(inbound);
    let origin = &h.provider.protocol_origin;
    let rule = match source {
        ProtocolSourceRef::ModelOverride => "the model's own `api_protocol`".to_owned(),
        ProtocolSourceRef::Exact => format!("exact pattern `{}` ({origin})", h.service_id),
        ProtocolSourceRef::Prefix(p) => format!("pattern `{p}*` ({origin})"),
        ProtocolSourceRef::Wildcard => format!("pattern `*` ({origin})"),
        ProtocolSourceRef::Provider => format!("provider `api_protocol` ({origin})"),
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
        protocol: protocol.as_str().to_owned(),
        protocols: set.iter().map(|p| p.as_str().to_owned()).collect(),
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
        Strategy::Priority => "priority",
        Strategy::RoundRobin => "round_robin",
        Strategy::Weighted => "weighted",
    }
}

impl RouteReport {
    /// The human rendering: a summary line, then each hop with its URL, base, credential
    /// state and reason.
    pub fn human(&self) -> String {
        let mut o = String::new();
        let _ = write!(
            o,
            "{}: {} model, strategy {}",
            self.model, self.kind, self.strategy
        );
        if let Some(p) = &self.preset {
            let _ = write!(
                o,
                ", preset @{p} -> {}",
                self.preset_model.as_deref().unwrap_or("?")
            );
        }
        if let Some(v) = &self.variant {
            let _ = write!(o, ", variant :{v}");
        }
        if let Some(p) = &self.inbound {
            let _ = write!(o, ", inbound {p}");
        }
        let _ = writeln!(o);
        for (i, h) in self.chain.iter().enumerate() {
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
}
