//! Model-name lookup: `[@preset | model][:variant]` → a [`Route`], without allocating.
//!
//! Order: a `:suffix` naming a defined variant is stripped (any other suffix is part of the
//! name); `@name` selects a preset; then a virtual model; a bare id declared by providers;
//! `provider:model`; `provider/model`. A bare id such as `openai/gpt-4o` declared by a provider
//! wins over the `provider/model` reading.

use std::borrow::Cow;

use super::{
    Hop, NameRef, Preset, PresetRoute, Protocol, ProtocolSet, ProtocolSourceRef, Provider,
    ProviderId, RoutingTable, Strategy, Target, TargetId, Variant,
};
use crate::diagnostic::did_you_mean;

/// What kind of name was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteKind {
    Virtual,
    /// A bare model id declared by one or more providers.
    Declared,
    /// `provider:model` or `provider/model`.
    Direct,
}

/// The resolved chain for one request.
#[derive(Clone, Copy, Debug)]
pub struct Route<'a> {
    table: &'a RoutingTable,
    pub kind: RouteKind,
    /// The model name after removing `@preset` and `:variant` (for a preset, the preset's model).
    pub model: &'a str,
    pub strategy: Strategy,
    pub preset: Option<&'a Preset>,
    pub variant: Option<&'a Variant>,
    hops: Hops<'a>,
}

#[derive(Clone, Copy, Debug)]
enum Hops<'a> {
    Chain(&'a [Hop]),
    One(TargetId),
    /// A provider and a model it does not declare, sent upstream as written.
    Undeclared(ProviderId, &'a str),
}

/// One endpoint of a route, with everything needed to call it.
#[derive(Clone, Copy, Debug)]
pub struct HopRef<'a> {
    pub provider_id: ProviderId,
    pub provider: &'a Provider,
    /// `None` for a model the provider does not declare.
    pub target: Option<&'a Target>,
    /// The target's id, to key per-target state kept outside the table.
    pub target_id: Option<TargetId>,
    /// The model id sent upstream.
    pub upstream_model: &'a str,
    /// The model id as declared/asked.
    pub service_id: &'a str,
    pub weight: u32,
}

impl<'a> HopRef<'a> {
    /// The protocol set for this endpoint and the rule that chose it.
    pub fn protocols(&self) -> (ProtocolSet, ProtocolSourceRef<'a>) {
        match self.target {
            Some(t) => (t.protocols, source_ref(&t.protocol_source)),
            None => self.provider.rules.resolve(self.service_id),
        }
    }

    /// The upstream URL for `protocol`.
    pub fn url(&self, protocol: Protocol, stream: bool) -> Cow<'a, str> {
        match self.target {
            Some(t) => t.url(self.provider, protocol, stream),
            None => self.provider.url(protocol, self.upstream_model, stream),
        }
    }
}

fn source_ref(s: &super::ProtocolSource) -> ProtocolSourceRef<'_> {
    use super::ProtocolSource as S;
    match s {
        S::ModelOverride => ProtocolSourceRef::ModelOverride,
        S::Exact => ProtocolSourceRef::Exact,
        S::Prefix(p) => ProtocolSourceRef::Prefix(p),
        S::Wildcard => ProtocolSourceRef::Wildcard,
        S::Provider => ProtocolSourceRef::Provider,
        S::Inferred => ProtocolSourceRef::Inferred,
    }
}

/// Why a name did not route. Building it allocates nothing; a "did you mean" is computed only
/// on request ([`RoutingTable::suggest`], [`RoutingTable::suggest_preset`]), so a flood of bad
/// names costs the data plane no more than good ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupError<'a> {
    UnknownModel {
        name: &'a str,
    },
    /// `name` is without the `@`.
    UnknownPreset {
        name: &'a str,
    },
    /// The variant excludes every endpoint of the model.
    NoEndpoints {
        model: &'a str,
        variant: &'a str,
    },
}

impl std::fmt::Display for LookupError<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupError::UnknownModel { name } => write!(f, "unknown model `{name}`"),
            LookupError::UnknownPreset { name } => write!(f, "unknown preset `@{name}`"),
            LookupError::NoEndpoints { model, variant } => {
                write!(
                    f,
                    "variant `{variant}` leaves model `{model}` with no endpoint"
                )
            }
        }
    }
}

impl RoutingTable {
    /// Resolves a model name as a caller sends it. Allocates nothing, on success or failure.
    pub fn route<'a>(&'a self, name: &'a str) -> Result<Route<'a>, LookupError<'a>> {
        let (base, variant) = match name.rsplit_once(':') {
            Some((base, suffix)) => match self.variants_by_name.get(suffix) {
                Some(&v) => (base, Some(&self.variants[v.index()])),
                None => (name, None),
            },
            None => (name, None),
        };
        let mut route = if let Some(preset_name) = base.strip_prefix('@') {
            let Some(&pid) = self.presets_by_name.get(preset_name) else {
                return Err(LookupError::UnknownPreset { name: preset_name });
            };
            let preset = &self.presets[pid.index()];
            let mut r = match preset.route {
                PresetRoute::Name(n) => self.name_route(n),
                PresetRoute::Target(t) => self.target_route(t, RouteKind::Direct),
            };
            r.preset = Some(preset);
            r
        } else {
            self.lookup_model(base)
                .ok_or(LookupError::UnknownModel { name: base })?
        };
        if let Some(v) = variant {
            route.variant = Some(v);
            if let Some(s) = v.strategy {
                route.strategy = s;
            }
            if route.hops().next().is_none() {
                return Err(LookupError::NoEndpoints {
                    model: route.model,
                    variant: &v.name,
                });
            }
        }
        Ok(route)
    }

    fn lookup_model<'a>(&'a self, name: &'a str) -> Option<Route<'a>> {
        if let Some(&n) = self.by_name.get(name) {
            return Some(self.name_route(n));
        }
        for sep in [':', '/'] {
            if let Some((p, model)) = name.split_once(sep) {
                if let Some(&pid) = self.providers_by_name.get(p) {
                    if model.is_empty() {
                        return None;
                    }
                    let provider = &self.providers[pid.index()];
                    return Some(match provider.models.get(model) {
                        Some(&t) => self.target_route(t, RouteKind::Direct),
                        None => Route {
                            table: self,
                            kind: RouteKind::Direct,
                            model,
                            strategy: Strategy::Priority,
                            preset: None,
                            variant: None,
                            hops: Hops::Undeclared(pid, model),
                        },
                    });
                }
            }
        }
        None
    }

    fn name_route(&self, n: NameRef) -> Route<'_> {
        match n {
            NameRef::Virtual(id) => {
                let m = &self.models[id.index()];
                Route {
                    table: self,
                    kind: RouteKind::Virtual,
                    model: &m.name,
                    strategy: m.strategy,
                    preset: None,
                    variant: None,
                    hops: Hops::Chain(&self.hops[m.hops.start as usize..m.hops.end as usize]),
                }
            }
            NameRef::Declared(id) => {
                let d = &self.declared[id.index()];
                Route {
                    table: self,
                    kind: RouteKind::Declared,
                    model: &d.id,
                    strategy: Strategy::Priority,
                    preset: None,
                    variant: None,
                    hops: Hops::Chain(&self.hops[d.hops.start as usize..d.hops.end as usize]),
                }
            }
        }
    }

    fn target_route(&self, t: TargetId, kind: RouteKind) -> Route<'_> {
        Route {
            table: self,
            kind,
            model: &self.targets[t.index()].id,
            strategy: Strategy::Priority,
            preset: None,
            variant: None,
            hops: Hops::One(t),
        }
    }

    /// The nearest preset name (without `@`), for "did you mean".
    pub fn suggest_preset(&self, name: &str) -> Option<&str> {
        did_you_mean(name, self.presets.iter().map(|p| &*p.name))
    }

    /// The nearest routable name, for "did you mean". Bounded, but it compares against every
    /// name in the table: callers on a hot path should decide whether to pay for it.
    pub fn suggest(&self, name: &str) -> Option<&str> {
        let names = self.by_name.keys().map(|k| &**k).chain(
            self.providers
                .iter()
                .flat_map(|p| p.models.keys().map(|k| &**k)),
        );
        did_you_mean(name, names)
    }
}

impl<'a> Route<'a> {
    /// The endpoints in failover order, with the variant's filter applied.
    pub fn hops(&self) -> impl Iterator<Item = HopRef<'a>> + 'a {
        let table = self.table;
        let variant = self.variant;
        let (chain, single): (&'a [Hop], Option<HopRef<'a>>) = match self.hops {
            Hops::Chain(c) => (c, None),
            Hops::One(t) => (&[], Some(hop_ref(table, t, 1))),
            Hops::Undeclared(pid, model) => (
                &[],
                Some(HopRef {
                    provider_id: pid,
                    provider: &table.providers[pid.index()],
                    target: None,
                    target_id: None,
                    upstream_model: model,
                    service_id: model,
                    weight: 1,
                }),
            ),
        };
        single
            .into_iter()
            .chain(
                chain
                    .iter()
                    .map(move |h| hop_ref(table, h.target, h.weight)),
            )
            .filter(move |h| variant.is_none_or(|v| v.allows(h.provider_id)))
    }

    /// Number of endpoints after the variant's filter.
    pub fn len(&self) -> usize {
        self.hops().count()
    }

    pub fn is_empty(&self) -> bool {
        self.hops().next().is_none()
    }
}

fn hop_ref(table: &RoutingTable, t: TargetId, weight: u32) -> HopRef<'_> {
    let target = &table.targets[t.index()];
    HopRef {
        provider_id: target.provider,
        provider: &table.providers[target.provider.index()],
        target: Some(target),
        target_id: Some(t),
        upstream_model: &target.upstream,
        service_id: &target.id,
        weight,
    }
}
