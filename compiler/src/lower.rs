//! Lowering: a validated configuration becomes the immutable [`RoutingTable`].
//!
//! Interns names into dense ids, compiles `api_protocol` rules, precomputes every endpoint's
//! URLs, protocol set and timeouts, lays all chains out in one array, and finally links presets
//! to routes. It cannot fail: everything it relies on was checked by `validate`.

use std::time::Duration;

use rustc_hash::FxHashMap;

use crate::ast::{self, Field};
use crate::resolved::{self, Credential};
use crate::table::{
    self, DeclaredId, DeclaredModel, DeclaredSections, Hop, ModelId, NameRef, PresetRoute,
    Protocol, ProtocolRules, ProtocolSet, ProtocolSource, ProviderId, RouteKind, RoutingTable,
    ServerSettings, Target, TargetId, Timeouts, VirtualModel,
};
use crate::upstream_url;
use crate::validate::Validated;

pub fn lower(cfg: Validated<resolved::Config>) -> RoutingTable {
    let cfg = cfg.into_inner();
    let server = server_settings(&cfg.ast);
    let defaults = server_timeouts(&cfg.ast.server.timeouts);

    let mut providers = Vec::with_capacity(cfg.providers.len());
    let mut targets: Vec<Target> = Vec::new();
    let mut providers_by_name = FxHashMap::default();
    let mut declared_ids: Vec<(Box<str>, Vec<TargetId>)> = Vec::new();
    let mut declared_index: FxHashMap<Box<str>, usize> = FxHashMap::default();

    for (i, p) in cfg.providers.iter().enumerate() {
        let pid = ProviderId(i as u32);
        let provider = provider(p, &defaults);
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
    for (name, m) in &cfg.models {
        let start = hops.len() as u32;
        for e in m.endpoints.items().iter().map(|e| &e.value) {
            let (Some(p), Some(service_id)) =
                (e.provider.get(), e.service_id.get().or(e.model_id.get()))
            else {
                continue;
            };
            let Some(&pid) = providers_by_name.get(p.as_str()) else {
                continue;
            };
            let target = target_for(&mut providers, &mut targets, pid, service_id);
            hops.push(Hop {
                target,
                weight: e.weight.get().copied().unwrap_or(1),
            });
        }
        let id = ModelId(models.len() as u32);
        by_name.insert(Box::from(name.value.as_str()), NameRef::Virtual(id));
        models.push(VirtualModel {
            name: name.value.as_str().into(),
            strategy: resolved::strategy(m),
            description: m.description.get().map(|d| d.as_str().into()),
            hops: start..hops.len() as u32,
        });
    }

    let ids_of = |list: &Field<ast::List<ast::Spanned<String>>>| -> Box<[ProviderId]> {
        list.items()
            .iter()
            .filter_map(|p| providers_by_name.get(p.value.as_str()).copied())
            .collect()
    };
    let variants: Vec<table::Variant> = cfg
        .variants
        .iter()
        .map(|(name, v)| table::Variant {
            name: name.value.as_str().into(),
            only: ids_of(&v.providers),
            exclude: ids_of(&v.exclude_providers),
            strategy: v.strategy.get().copied(),
        })
        .collect();
    let variants_by_name = variants
        .iter()
        .enumerate()
        .map(|(i, v)| (v.name.clone(), table::VariantId(i as u32)))
        .collect();

    let a = &cfg.ast;
    let declared_sections = DeclaredSections {
        mcp_enabled: a.mcp.enabled.get().copied().unwrap_or(false),
        mcp_servers: a.mcp_servers.names().map(str::to_owned).collect(),
        agents: a.agents.names().map(str::to_owned).collect(),
        server_tools: a.server_tools.names().map(str::to_owned).collect(),
        plugins: a.plugins.names().map(str::to_owned).collect(),
    };

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
    for (name, p) in &cfg.presets {
        let Some(model) = p.model.spanned() else {
            continue;
        };
        let Some(linked) = resolve(table, &model.value) else {
            debug_assert!(false, "validated preset `{}` does not route", name.value);
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
        let params = p
            .params
            .get()
            .map(|m| serde_json::Value::Object(m.clone()).to_string())
            .unwrap_or_else(|| "{}".to_owned());
        presets.push(table::Preset {
            name: name.value.as_str().into(),
            model: model.value.as_str().into(),
            route,
            system_prompt: p.system_prompt.get().map(|s| s.as_str().into()),
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
    let (protocols, source) = match m.and_then(|m| m.api_protocol.as_ref()) {
        Some(list) => (
            ProtocolSet::from_list(list.value.0.iter().map(|p| protocol(p.value)))
                .unwrap_or(p.rules.fallback),
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

pub(crate) fn protocol(p: ast::ProtocolName) -> Protocol {
    match p {
        ast::ProtocolName::ChatCompletions => Protocol::ChatCompletions,
        ast::ProtocolName::Responses => Protocol::Responses,
        ast::ProtocolName::Messages => Protocol::Messages,
        ast::ProtocolName::GenerateContent => Protocol::GenerateContent,
    }
}

fn set_of(list: &ast::ProtocolList) -> Option<ProtocolSet> {
    ProtocolSet::from_list(list.0.iter().map(|p| protocol(p.value)))
}

fn provider(p: &resolved::Provider, defaults: &Timeouts) -> table::Provider {
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
            ast::ApiProtocol::Protocols(list) => {
                wildcard = set_of(list).map(|s| (s, ProtocolSource::Provider))
            }
            ast::ApiProtocol::Patterns(entries) => {
                for e in entries {
                    let Some(set) = set_of(&e.value.protocols.value) else {
                        continue;
                    };
                    let pat = e.value.pattern.value.as_str();
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
    let pick = |f: &Field<ast::Duration>, d: Duration| f.get().map_or(d, |v| v.0);
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
            connect: pick(&t.connect, defaults.connect),
            first_byte: pick(&t.first_byte, defaults.first_byte),
            idle: pick(&t.idle, defaults.idle),
            total: pick(&t.total, defaults.total),
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

fn server_timeouts(t: &ast::Timeouts) -> Timeouts {
    let pick = |f: &Field<ast::Duration>, d: u64| f.get().map_or(Duration::from_secs(d), |v| v.0);
    Timeouts {
        connect: pick(&t.connect, 10),
        first_byte: pick(&t.first_byte, 120),
        idle: pick(&t.idle, 120),
        total: pick(&t.total, 600),
    }
}

fn server_settings(cfg: &ast::Config) -> ServerSettings {
    let s = &cfg.server;
    ServerSettings {
        listen: s
            .listen
            .get()
            .cloned()
            .unwrap_or_else(|| "127.0.0.1:4356".to_owned()),
        log_level: s
            .log_level
            .get()
            .cloned()
            .unwrap_or_else(|| "info".to_owned()),
        skip_auth: s.skip_auth.get().copied().unwrap_or(false),
        control_socket: s.control_socket.get().cloned(),
        max_body_size: s.limits.max_body_size.get().map_or(32 << 20, |b| b.0),
        max_header_size: s.limits.max_header_size.get().map_or(64 << 10, |b| b.0),
        max_headers: s.limits.max_headers.get().copied().unwrap_or(100),
        header_read_timeout: s
            .limits
            .header_read_timeout
            .get()
            .map_or(Duration::from_secs(10), |d| d.0),
        max_in_flight: s.limits.max_in_flight.get().copied().unwrap_or(4096),
        max_attempts: s.failover.max_attempts.get().copied().unwrap_or(3),
        breaker_failures: s.failover.breaker_failures.get().copied().unwrap_or(5),
        breaker_cooldown: s
            .failover
            .breaker_cooldown
            .get()
            .map_or(Duration::from_secs(30), |d| d.0),
        database_url: cfg.database.url.get().cloned(),
    }
}
