//! What every request of one server shares: the current table, the upstream clients,
//! breakers, rate-limit logs and spend counters (which outlive tables), the retry budget, and the in-flight
//! count with its per-request slot ([`InFlight`]), and the live request events.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use compiler::table::RoutingTable;

use auth::Trust;

use crate::breaker::{Breakers, EndpointKey};
use crate::budget::RetryBudget;
use crate::client::Clients;
use crate::gate::RateLimits;
use crate::metrics::Metrics;
use crate::prepared::LoadedTable;
use crate::spend::Spend;
use crate::table_handle::TableHandle;

/// State shared by every request.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) tables: TableHandle,
    pub(crate) clients: Clients,
    pub(crate) breakers: Breakers,
    /// Shared with scrapes and the OTLP exporter.
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) retry_budget: RetryBudget,
    pub(crate) in_flight: AtomicUsize,
    pub(crate) draining: AtomicBool,
    /// Start offset for round-robin and weighted chains.
    pub(crate) rotation: AtomicU64,
    pub(crate) rate_limits: RateLimits,
    /// Spend budgets' counters (they outlive tables, like the rate-limit logs).
    pub(crate) spend: Spend,
    /// The shared limit store of the current table, kept across reloads that keep it.
    pub(crate) stores: crate::limits::Stores,
    /// Where OTLP spans and observations go, once the runtime installs an exporter.
    pub(crate) sink: std::sync::OnceLock<Arc<dyn crate::trace::Sink>>,
    /// Where ledger entries go, once the runtime installs one.
    pub(crate) usage: std::sync::OnceLock<Arc<dyn crate::usage::UsageSink>>,
    /// Live request events for subscribers (the TUI); free when nobody subscribes.
    pub(crate) events: Arc<crate::events::Events>,
}

impl Shared {
    pub(crate) fn new(table: RoutingTable, trust: &Trust) -> Shared {
        let clients = Clients::new();
        let breakers = Breakers::default();
        let metrics = Arc::new(Metrics::default());
        let mut loaded = LoadedTable::new(table, &clients, &breakers, trust, &metrics);
        let stores = crate::limits::Stores::default();
        loaded.prepared.limits = stores.get(loaded.server().limit_store.as_ref(), &metrics);
        Shared {
            tables: TableHandle::new(loaded),
            clients,
            breakers,
            metrics,
            retry_budget: RetryBudget::default(),
            in_flight: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            rotation: AtomicU64::new(0),
            rate_limits: RateLimits::default(),
            spend: Spend::default(),
            stores,
            sink: std::sync::OnceLock::new(),
            usage: std::sync::OnceLock::new(),
            events: Arc::default(),
        }
    }

    /// Prepares `table` (clients, breakers, header values) and swaps it in; then forgets the
    /// breakers of endpoints no table or attempt refers to any more.
    pub(crate) fn publish(&self, table: RoutingTable, trust: &Trust) {
        let mut loaded =
            LoadedTable::new(table, &self.clients, &self.breakers, trust, &self.metrics);
        loaded.prepared.limits = self
            .stores
            .get(loaded.server().limit_store.as_ref(), &self.metrics);
        let keep: rustc_hash::FxHashSet<EndpointKey> = loaded
            .targets()
            .iter()
            .map(|t| EndpointKey::new(&loaded.provider(t.provider).name, &t.upstream))
            .collect();
        self.tables.publish(loaded);
        self.breakers.prune(|k| keep.contains(k));
    }
}

impl Shared {
    /// The metrics exposition, with the live values only the server knows.
    pub(crate) fn scrape(&self) -> String {
        let table = self.tables.load();
        let now = std::time::Instant::now();
        let breakers = table
            .targets()
            .iter()
            .zip(table.prepared.breakers())
            .map(|(t, b)| {
                let provider = table.provider(t.provider).name.to_string();
                (provider, t.upstream.to_string(), b.is_open(now))
            })
            .collect();
        let (ledger_dropped, ledger_spool_bytes) = self
            .usage
            .get()
            .map_or((0, 0), |s| (s.dropped(), s.queued_bytes()));
        crate::metrics::render(
            &self.metrics,
            crate::metrics::Live {
                in_flight: self.in_flight.load(Ordering::Acquire) as u64,
                config_hash: table.content_hash().to_owned(),
                breakers,
                ledger_dropped,
                ledger_spool_bytes,
                events_dropped: self.events.dropped(),
            },
        )
    }
}

/// One in-flight request; the slot is released on drop, whatever path the request took.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Shared>);

impl InFlight {
    pub(crate) fn acquire(shared: &Arc<Shared>, max: u32) -> Option<InFlight> {
        let prev = shared.in_flight.fetch_add(1, Ordering::AcqRel);
        if prev >= max as usize {
            shared.in_flight.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(InFlight(Arc::clone(shared)))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}
