//! Per-table values the hot path would otherwise rebuild or look up on every request: header
//! values for credentials, provider headers and the `x-bitrouter-*` answer headers, parsed
//! upstream URIs, each provider's upstream client and each target's breaker, and the content
//! rules with their webhooks' clients. Built once when a
//! table is published and kept beside it ([`LoadedTable`]); cloning a prepared value is a
//! reference-count increment.

use std::ops::Deref;

use std::sync::Arc;

use compiler::table::{Credential, HopRef, Protocol, RoutingTable};
use http::{HeaderName, HeaderValue, Uri};
use smallvec::SmallVec;

use crate::breaker::{Breaker, Breakers, EndpointKey, Policy};
use crate::client::{Client, Clients};
use crate::gate::Gate;
use crate::metrics::{Metrics, TableLabels};
use crate::screen::PreparedGuard;

/// A routing table and what the data plane prepared from it.
#[derive(Debug)]
pub struct LoadedTable {
    table: RoutingTable,
    pub(crate) prepared: Prepared,
}

impl LoadedTable {
    /// Prepares `table` for serving: clients come from (and stay in) `clients`, breakers from
    /// `breakers`, so both outlive the table; `trust` adds issuers and revocations from outside
    /// the configuration (the home's accounts).
    pub(crate) fn new(
        table: RoutingTable,
        clients: &Clients,
        breakers: &Breakers,
        trust: &auth::Trust,
        metrics: &Arc<Metrics>,
    ) -> LoadedTable {
        let mut prepared = Prepared::new(&table, clients, breakers, trust);
        prepared.labels = metrics.labels(&table);
        prepared.guard = PreparedGuard::new(&table, clients, metrics);
        LoadedTable { table, prepared }
    }

    pub fn table(&self) -> &RoutingTable {
        &self.table
    }
}

impl Deref for LoadedTable {
    type Target = RoutingTable;

    fn deref(&self) -> &RoutingTable {
        &self.table
    }
}

#[derive(Debug)]
pub(crate) struct Prepared {
    providers: Box<[PreparedProvider]>,
    targets: Box<[PreparedTarget]>,
    /// `server.failover`'s breaker thresholds.
    pub(crate) policy: Policy,
    /// Trusted issuers and the tokens verified under this table.
    pub(crate) gate: Gate,
    /// Metric label ids of this table's models and providers.
    pub(crate) labels: TableLabels,
    /// The content rules, when the table has any (`None`: nothing is checked).
    pub(crate) guard: Option<Arc<PreparedGuard>>,
    /// `server.limits.store`, when set: where limits and budgets are counted (`limits`).
    pub(crate) limits: Option<Arc<crate::limits::shared::SharedStore>>,
}

#[derive(Debug)]
pub(crate) struct PreparedProvider {
    pub(crate) name: Option<HeaderValue>,
    /// `Bearer <key>`.
    pub(crate) bearer: Option<HeaderValue>,
    /// The bare key (`x-api-key`, `x-goog-api-key`).
    pub(crate) key: Option<HeaderValue>,
    /// The provider's extra headers, or the name of the first one that is not a valid header.
    pub(crate) headers: Result<Box<[(HeaderName, HeaderValue)]>, Box<str>>,
    /// The pooled client for the provider's connect timeout and `allow_private`.
    pub(crate) client: Client,
}

#[derive(Debug)]
pub(crate) struct PreparedTarget {
    pub(crate) model: Option<HeaderValue>,
    /// The endpoint's breaker (provider + upstream model), shared with every table that has it.
    pub(crate) breaker: Arc<Breaker>,
    uris: SmallVec<[(Protocol, bool, Uri); 2]>,
    /// `Host` for those URIs (set here so the client does not format one per request).
    pub(crate) host: Option<HeaderValue>,
}

impl PreparedTarget {
    pub(crate) fn uri(&self, protocol: Protocol, stream: bool) -> Option<&Uri> {
        self.uris
            .iter()
            .find(|(p, s, _)| *p == protocol && *s == stream)
            .map(|(_, _, u)| u)
    }
}

fn sensitive(s: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(s).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// `host[:port]`, the port only when it is not the scheme's default (as HTTP clients send it).
fn host_header(u: &Uri) -> Option<HeaderValue> {
    let host = u.host()?;
    let default = match u.scheme_str() {
        Some("https") => 443,
        _ => 80,
    };
    match u.port_u16() {
        Some(p) if p != default => HeaderValue::from_str(&format!("{host}:{p}")).ok(),
        _ => HeaderValue::from_str(host).ok(),
    }
}

impl Prepared {
    fn new(
        table: &RoutingTable,
        clients: &Clients,
        breakers: &Breakers,
        trust: &auth::Trust,
    ) -> Prepared {
        let providers = table
            .providers()
            .iter()
            .map(|p| {
                let key = match &p.credential {
                    Credential::Key(k) => Some(k.expose()),
                    _ => None,
                };
                let headers = p
                    .headers
                    .iter()
                    .map(|(n, v)| {
                        let name = HeaderName::try_from(&**n).map_err(|_| n.clone())?;
                        let value = sensitive(v.expose()).ok_or_else(|| n.clone())?;
                        Ok((name, value))
                    })
                    .collect();
                PreparedProvider {
                    name: HeaderValue::from_str(&p.name).ok(),
                    bearer: key.and_then(|k| sensitive(&format!("Bearer {k}"))),
                    key: key.and_then(sensitive),
                    headers,
                    client: clients.get(p.timeouts.connect, p.allow_private),
                }
            })
            .collect();
        let targets = table
            .targets()
            .iter()
            .map(|t| {
                let provider = table.provider(t.provider);
                let mut uris = SmallVec::new();
                for p in t.protocols.iter() {
                    for stream in [false, true] {
                        if let Ok(u) = t.url(provider, p, stream).parse::<Uri>() {
                            uris.push((p, stream, u));
                        }
                    }
                }
                let host = uris.first().and_then(|(_, _, u)| host_header(u));
                PreparedTarget {
                    model: HeaderValue::from_str(&t.upstream).ok(),
                    breaker: breakers.get_or_insert(EndpointKey::new(&provider.name, &t.upstream)),
                    uris,
                    host,
                }
            })
            .collect();
        let settings = table.server();
        Prepared {
            providers,
            targets,
            policy: Policy {
                threshold: settings.breaker_failures,
                cooldown: settings.breaker_cooldown,
            },
            gate: Gate::new(&settings.auth, trust),
            labels: TableLabels::default(),
            guard: None,
            limits: None,
        }
    }

    pub(crate) fn provider(&self, hop: &HopRef<'_>) -> &PreparedProvider {
        &self.providers[hop.provider_id.index()]
    }

    pub(crate) fn target(&self, hop: &HopRef<'_>) -> Option<&PreparedTarget> {
        hop.target_id.map(|t| &self.targets[t.index()])
    }

    /// Each target with its breaker (for `bitrouter_breaker_open`).
    pub(crate) fn breakers(&self) -> impl Iterator<Item = &Breaker> {
        self.targets.iter().map(|t| &*t.breaker)
    }
}
