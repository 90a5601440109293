//! Lowering: a validated configuration becomes the immutable [`RoutingTable`].
//!
//! Interns names into dense ids, compiles `api_protocol` rules, precomputes every endpoint's
//! URLs and protocol set, lays all chains out in one array, and finally links presets to
//! routes. It reads only `resolved` (every default was applied there) and cannot fail:
//! everything it relies on was checked by `validate`.

use rustc_hash::FxHashMap;

use crate::resolved::{self, Credential, Spanned};
use crate::table::Secret;
use crate::table::{
    self, AuthSettings, DeclaredId, DeclaredModel, DeclaredSections, Hop, KeyBudget, LimitStore,
    ModelId, NameRef, PresetRoute, Protocol, ProtocolRules, ProtocolSet, ProtocolSource,
    ProviderId, RouteKind, RoutingTable, ServerSettings, Target, TargetId, Timeouts, VirtualModel,
};
use crate::upstream_url;
use crate::validate::Validated;

pub fn lower(cfg: Validated<resolved::Config>) -> RoutingTable {
    let cfg = cfg.into_inner();
    let server = server_settings(&cfg);

    let mut providers = Vec::with_capacity(cfg.providers.len());
    let mut targets: Vec<Target> = Vec::new();
    let mut providers_by_name = FxHashMap::default();
    let mut declared_ids: Vec<(Box<str>, Vec<TargetId>)> = Vec::new();
    let mut declared_index: FxHashMap<Box<str>, usize> = FxHashMap::default();

    for (i, p) in cfg.providers.iter().enumerate() {
        let pid = ProviderId(i as u32);
        let provider = provider(p);
        let mut models = FxHashMap::default();
        for m in &p.models {
            let tid = TargetId(targets.len() as u32);
            targets.push(target(
                pid,
                &provider,
                m.id.as_str(),
                m.upstream_id.as_deref(),
                Some(m),
                true,
            ));
            models.insert(Box::from(m.id.as_str()), tid);
            let slot = *declared_index
                .entry(Box::from(m.id.as_str()))
                .or_insert_with(|| {
                    declared_ids.push((Box::from(m.id.as_str()), Vec::new()));
                    declared_ids.len() - 1
                });
            declared_ids[slot].1.push(tid);
        }
        providers_by_name.insert(provider.name.clone(), pid);
        providers.push(table::Provider { models, ..provider });
    }

    let mut hops: Vec<Hop> = Vec::new();
    let mut declared = Vec::with_capacity(declared_ids.len());
    let mut by_name: FxHashMap<Box<str>, NameRef> = FxHashMap::default();
    for (i, (id, tids)) in declared_ids.into_iter().enumerate() {
        let start = hops.len() as u32;
        hops.extend(tids.into_iter().map(|target| Hop { target, weight: 1 }));
        by_name.insert(id.clone(), NameRef::Declared(DeclaredId(i as u32)));
        declared.push(DeclaredModel {
            id,
            hops: start..hops.len() as u32,
        });
    }

    let mut models = Vec::with_capacity(cfg.models.len());
    for m in &cfg.models {
        let start = hops.len() as u32;
        for e in &m.endpoints {
            // `validate` rejected an endpoint without either, or with an unknown provider.
            let (Some(p), Some(service_id)) = (&e.provider, &e.model) else {
                continue;
            };
            let Some(&pid) = providers_by_name.get(p.value.as_str()) else {
                continue;
            };
            let target = target_for(&mut providers, &mut targets, pid, &service_id.value);
            hops.push(Hop {
                target,
                weight: e.weight.value,
            });
        }
        let id = ModelId(models.len() as u32);
        by_name.insert(Box::from(m.name.value.as_str()), NameRef::Virtual(id));
        models.push(VirtualModel {
            name: m.name.value.as_str().into(),
            strategy: m.strategy,
            description: m.description.as_deref().map(Box::from),
            hops: start..hops.len() as u32,
        });
    }

    let ids_of = |list: &[Spanned<String>]| -> Box<[ProviderId]> {
        list.iter()
            .filter_map(|p| providers_by_name.get(p.value.as_str()).copied())
            .collect()
    };
    let variants: Vec<table::Variant> = cfg
        .variants
        .iter()
        .map(|v| table::Variant {
            name: v.name.value.as_str().into(),
            only: ids_of(&v.providers),
            exclude: ids_of(&v.exclude_providers),
            strategy: v.strategy,
        })
        .collect();
    let variants_by_name = variants
        .iter()
        .enumerate()
        .map(|(i, v)| (v.name.clone(), table::VariantId(i as u32)))
        .collect();

    let names = |names: &mut dyn Iterator<Item = &Spanned<String>>| -> Vec<String> {
        names.map(|n| n.value.clone()).collect()
    };
    let declared_sections = DeclaredSections {
        mcp_enabled: cfg.mcp.enabled,
        mcp_servers: names(&mut cfg.mcp_servers.iter().map(|s| &s.name)),
        agents: names(&mut cfg.agents.iter().map(|a| &a.name)),
        server_tools: names(&mut cfg.server_tools.iter().map(|t| &t.name)),
        plugins: names(&mut cfg.plugins.iter().map(|p| &p.name)),
    };

    let guardrails = guardrails(&cfg.guardrails);
    let mut table = RoutingTable {
        server,
        providers: providers.into_boxed_slice(),
        targets: targets.into_boxed_slice(),
        models: models.into_boxed_slice(),
        declared: declared.into_boxed_slice(),
        hops: hops.into_boxed_slice(),
        presets: Box::new([]),
        variants: variants.into_boxed_slice(),
        by_name,
        providers_by_name,
        presets_by_name: FxHashMap::default(),
        variants_by_name,
        guardrails,
        declared_sections,
        hash: String::new(),
    };
    link(&mut table, &cfg);
    table.hash = table.compute_hash();
    table
}

/// Links presets to routes, creating targets for presets that name a provider's undeclared
/// model. `validate` resolved every preset's model by the same rules as `RoutingTable::route`
/// (`validate/models.rs`), so each one routes here.
fn link(table: &mut RoutingTable, cfg: &resolved::Config) {
    enum Linked {
        Name(NameRef),
        Undeclared(ProviderId, String),
        Single(TargetId),
    }
    let resolve = |table: &RoutingTable, name: &str| -> Option<Linked> {
        let route = table.route(name).ok()?;
        let hop = route.hops().next()?;
        Some(match (route.kind, hop.target) {
            (RouteKind::Virtual | RouteKind::Declared, _) => {
                Linked::Name(table.by_name[route.model])
            }
            (RouteKind::Direct, Some(_)) => {
                Linked::Single(table.providers[hop.provider_id.index()].models[hop.service_id])
            }
            (RouteKind::Direct, None) => {
                Linked::Undeclared(hop.provider_id, hop.service_id.to_owned())
            }
        })
    };

    let mut presets = Vec::new();
    // Lookups need the table as it is; targets for undeclared models are appended afterwards.
    let mut pending: Vec<(usize, ProviderId, String)> = Vec::new();
    for p in &cfg.presets {
        // `validate` rejected a preset without a model.
        let Some(model) = &p.model else {
            continue;
        };
        let Some(linked) = resolve(table, &model.value) else {
            debug_assert!(false, "validated preset `{}` does not route", p.name.value);
            continue;
        };
        let route = match linked {
            Linked::Name(n) => PresetRoute::Name(n),
            Linked::Single(t) => PresetRoute::Target(t),
            Linked::Undeclared(pid, m) => {
                pending.push((presets.len(), pid, m));
                PresetRoute::Target(TargetId(u32::MAX))
            }
        };
        let params = serde_json::Value::Object(p.params.clone()).to_string();
        presets.push(table::Preset {
            name: p.name.value.as_str().into(),
            model: model.value.as_str().into(),
            route,
            system_prompt: p.system_prompt.as_deref().map(Box::from),
            params_json: params.into(),
        });
    }
    if !pending.is_empty() {
        let mut providers = std::mem::take(&mut table.providers).into_vec();
        let mut targets = std::mem::take(&mut table.targets).into_vec();
        for (preset, pid, model) in pending {
            presets[preset].route =
                PresetRoute::Target(target_for(&mut providers, &mut targets, pid, &model));
        }
        table.providers = providers.into_boxed_slice();
        table.targets = targets.into_boxed_slice();
    }
    table.presets_by_name = presets
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.clone(), table::PresetId(i as u32)))
        .collect();
    table.presets = presets.into_boxed_slice();
}

/// The target for `model` at provider `pid`: the declared one, or a new undeclared one.
fn target_for(
    providers: &mut [table::Provider],
    targets: &mut Vec<Target>,
    pid: ProviderId,
    model: &str,
) -> TargetId {
    let provider = &mut providers[pid.index()];
    if let Some(&t) = provider.models.get(model) {
        return t;
    }
    let tid = TargetId(targets.len() as u32);
    targets.push(target(pid, provider, model, None, None, false));
    provider.models.insert(model.into(), tid);
    tid
}

fn target(
    pid: ProviderId,
    p: &table::Provider,
    id: &str,
    upstream: Option<&str>,
    m: Option<&resolved::Model>,
    declared: bool,
) -> Target {
    let (protocols, source) = match m.and_then(|m| m.api_protocol.as_deref()) {
        Some(list) => (
            set_of(list).unwrap_or(p.rules.fallback),
            ProtocolSource::ModelOverride,
        ),
        None => {
            let (set, src) = p.rules.resolve(id);
            (set, src.to_owned())
        }
    };
    let upstream: Box<str> = upstream.unwrap_or(id).into();
    let gemini = protocols.contains(Protocol::GenerateContent).then(|| {
        let prefix = &p.urls[Protocol::GenerateContent.index()];
        (
            table::gemini_url(prefix, &upstream, false).into(),
            table::gemini_url(prefix, &upstream, true).into(),
        )
    });
    let (pricing, context_window, max_output_tokens, capabilities) = match m {
        Some(m) => (
            table::Pricing {
                input: m.pricing.input,
                output: m.pricing.output,
                cache_read: m.pricing.cache_read,
                cache_write: m.pricing.cache_write,
            },
            m.context_window,
            m.max_output_tokens,
            m.capabilities.clone().into_boxed_slice(),
        ),
        None => Default::default(),
    };
    Target {
        provider: pid,
        id: id.into(),
        upstream,
        declared,
        protocols,
        protocol_source: source,
        gemini,
        pricing,
        context_window,
        max_output_tokens,
        capabilities,
    }
}

pub(crate) fn protocol(p: resolved::ProtocolName) -> Protocol {
    match p {
        resolved::ProtocolName::ChatCompletions => Protocol::ChatCompletions,
        resolved::ProtocolName::Responses => Protocol::Responses,
        resolved::ProtocolName::Messages => Protocol::Messages,
        resolved::ProtocolName::GenerateContent => Protocol::GenerateContent,
    }
}

fn set_of(list: &[resolved::ProtocolName]) -> Option<ProtocolSet> {
    ProtocolSet::from_list(list.iter().copied().map(protocol))
}

fn provider(p: &resolved::Provider) -> table::Provider {
    let base = p
        .api_base
        .as_ref()
        .map(|b| b.value.as_str())
        .unwrap_or_default();
    let host = url::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let fallback = ProtocolSet::one(table::protocol::infer_from_host(&host));
    let mut exact = FxHashMap::default();
    let mut prefixes: Vec<(Box<str>, ProtocolSet)> = Vec::new();
    let mut wildcard = None;
    if let Some(proto) = &p.api_protocol {
        match &proto.value {
            resolved::ApiProtocol::Protocols(list) => {
                wildcard = set_of(list).map(|s| (s, ProtocolSource::Provider))
            }
            resolved::ApiProtocol::Patterns(rules) => {
                for rule in rules {
                    let Some(set) = set_of(&rule.protocols) else {
                        continue;
                    };
                    let pat = rule.pattern.value.as_str();
                    if pat == "*" {
                        wildcard.get_or_insert((set, ProtocolSource::Wildcard));
                    } else if let Some(prefix) = pat.strip_suffix('*') {
                        if !prefixes.iter().any(|(p, _)| &**p == prefix) {
                            prefixes.push((prefix.into(), set));
                        }
                    } else {
                        exact.entry(Box::from(pat)).or_insert(set);
                    }
                }
            }
        }
    }
    prefixes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    let urls = upstream_url::endpoint_urls(base).map(String::into_boxed_str);
    let t = &p.timeouts;
    table::Provider {
        name: p.name.as_str().into(),
        api_base: base.into(),
        credential: match &p.credential {
            Credential::None => table::Credential::None,
            Credential::Set(k) => table::Credential::Key(table::Secret::new(k.as_str())),
            Credential::Missing { var } => table::Credential::Missing(var.as_str().into()),
        },
        headers: p
            .headers
            .iter()
            .map(|(k, v)| (Box::from(k.as_str()), table::Secret::new(v.0.as_str())))
            .collect(),
        timeouts: Timeouts {
            connect: t.connect.value,
            first_byte: t.first_byte.value,
            idle: t.idle.value,
            total: t.total.value,
        },
        allow_private: p.allow_private,
        derives_chain: p
            .derives_chain
            .iter()
            .map(|s| Box::from(s.as_str()))
            .collect(),
        builtin: p.builtin,
        in_file: p.span.is_some(),
        protocol_origin: p
            .api_protocol
            .as_ref()
            .map_or_else(|| "inferred".to_owned(), |v| v.origin.describe())
            .into(),
        rules: ProtocolRules {
            exact,
            prefixes: prefixes.into_boxed_slice(),
            wildcard,
            fallback,
        },
        urls,
        models: FxHashMap::default(),
    }
}

fn server_settings(cfg: &resolved::Config) -> ServerSettings {
    let s = &cfg.server;
    ServerSettings {
        listen: s.listen.value.clone(),
        log_level: s.log_level.value.clone(),
        skip_auth: s.skip_auth,
        control_socket: s.control_socket.clone(),
        metrics_listen: s.metrics_listen.as_ref().map(|m| m.value.clone()),
        log_format: s.log_format,
        otel: otel(&cfg.otel),
        max_body_size: s.limits.max_body_size.value,
        max_header_size: s.limits.max_header_size.value,
        max_headers: s.limits.max_headers.value,
        header_read_timeout: s.limits.header_read_timeout.value,
        max_in_flight: s.limits.max_in_flight.value,
        drain_timeout: s.drain.timeout.value,
        drain_accept: s.drain.accept.value,
        max_attempts: s.failover.max_attempts.value,
        breaker_failures: s.failover.breaker_failures.value,
        breaker_cooldown: s.failover.breaker_cooldown.value,
        database_url: cfg.database.url.as_ref().map(|u| u.value.clone()),
        limit_store: s.limits.store.as_ref().map(|u| LimitStore {
            url: Secret::new(u.value.0.as_str()),
            fail_open: s
                .limits
                .on_store_error
                .as_ref()
                .is_some_and(|o| o.value == crate::ast::OnError::FailOpen),
            timeout: s.limits.store_timeout.value,
        }),
        auth: AuthSettings {
            trusted_keys: s
                .auth
                .trusted_keys
                .iter()
                .filter(|k| auth::PublicKey::parse(&k.value).is_ok())
                .map(|k| k.value.trim().to_owned())
                .collect(),
            revoked_jti: s.auth.revoked_jti.iter().map(|j| j.value.clone()).collect(),
            max_token_lifetime: s.auth.max_token_lifetime.value,
            budgets: s
                .auth
                .budgets
                .iter()
                .filter_map(|b| {
                    let usd = b
                        .usd
                        .get()
                        .copied()
                        .filter(|u| u.is_finite() && *u >= 0.0)?;
                    Some(KeyBudget {
                        key: b.key.value.as_str().into(),
                        // To the nearest micro-USD, as a token's claim is.
                        micro_usd: (usd * 1e6).round() as u64,
                        window: b.window.value,
                    })
                })
                .collect(),
        },
        translation: s.translation,
        cors_allowed_origins: s
            .cors_allowed_origins
            .iter()
            .map(|o| o.value.trim_end_matches('/').to_ascii_lowercase())
            .collect(),
        allowed_hosts: s
            .allowed_hosts
            .iter()
            .map(|h| h.value.trim_end_matches('.').to_ascii_lowercase())
            .collect(),
    }
}

/// OTLP export, when it is on (an endpoint, not disabled).
fn otel(o: &resolved::Otel) -> Option<table::Otel> {
    let endpoint = o.endpoint.as_ref().filter(|_| !o.disabled)?;
    Some(table::Otel {
        endpoint: endpoint.value.as_str().into(),
        protocol: o.protocol.value,
        headers: o
            .headers
            .iter()
            .map(|(k, v, _)| (Box::from(k.as_str()), table::Secret::new(v.0.as_str())))
            .collect(),
        service_name: o.service_name.value.as_str().into(),
        sampler: o.sampler.value,
        sampler_arg: o.sampler_arg.value,
    })
}

/// The guardrails, when there are rules (`validate` compiled the guard only then).
fn guardrails(g: &resolved::Guardrails) -> Option<table::Guardrails> {
    let guard = g.guard.clone().filter(|_| !g.disabled)?;
    let mut webhooks = Vec::new();
    let mut lines = Vec::with_capacity(g.rules.len());
    for r in &g.rules {
        let name = r.name.as_ref().map_or("", |n| n.value.as_str());
        let list = |l: &[Spanned<String>]| {
            l.iter()
                .map(|s| s.value.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let (on, action) = (r.on.value.as_str(), r.action.value.as_str());
        let (models, keys) = (list(&r.models), list(&r.keys));
        let line = if let Some(w) = &r.webhook {
            let w = &w.value;
            let url = w.url.as_ref().map_or("", |u| u.value.as_str());
            webhooks.push(table::Webhook {
                name: name.to_owned(),
                url: url.to_owned(),
                timeout: w.timeout.value,
                fail_open: w.on_error == resolved::OnError::FailOpen,
                block: r.action.value == resolved::RuleAction::Block,
                models: r.models.iter().map(|m| m.value.clone()).collect(),
                keys: r.keys.iter().map(|k| k.value.clone()).collect(),
                allow_private: w.allow_private,
            });
            let private = if w.allow_private {
                " allow_private=true"
            } else {
                ""
            };
            format!(
                "guardrail {name} webhook={url} timeout={:?} on_error={}{private} on={on} action={action} models=[{models}] keys=[{keys}]",
                w.timeout.value,
                w.on_error.as_str(),
            )
        } else {
            let source = match (&r.pattern, &r.detector) {
                (Some(p), _) => format!("pattern={:?}", p.value),
                (None, Some(d)) => format!("detector={}", d.value.trim()),
                (None, None) => String::new(),
            };
            let replacement = if r.action.value == resolved::RuleAction::Redact {
                let default = format!("[REDACTED:{name}]");
                let rep = r
                    .replacement
                    .as_ref()
                    .map_or(default.as_str(), |p| &p.value);
                format!(" replacement={rep:?}")
            } else {
                String::new()
            };
            format!(
                "guardrail {name} {source} on={on} action={action}{replacement} models=[{models}] keys=[{keys}]"
            )
        };
        lines.push(line);
    }
    Some(table::Guardrails {
        guard,
        webhooks,
        lines: lines.into_boxed_slice(),
    })
}
