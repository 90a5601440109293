//! The atomically swappable current routing table.
//!
//! Invariant: a request loads the table once and keeps that `Arc` to the end, so a reload
//! (`publish`) never changes the table under an in-flight request.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::prepared::LoadedTable;

/// The current routing table. `publish` cannot fail: compiling and validating happen before,
/// off the hot path, and so does preparing the per-table values; publishing is one atomic
/// store.
#[derive(Debug)]
pub(crate) struct TableHandle {
    current: ArcSwap<LoadedTable>,
}

impl TableHandle {
    pub(crate) fn new(table: LoadedTable) -> TableHandle {
        TableHandle {
            current: ArcSwap::from_pointee(table),
        }
    }

    /// The table for one request: load once, keep it until the response is done.
    pub(crate) fn load(&self) -> Arc<LoadedTable> {
        self.current.load_full()
    }

    /// Swaps in a new table; requests already holding the old one finish on it.
    pub(crate) fn publish(&self, table: LoadedTable) {
        self.current.store(Arc::new(table));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::Breakers;
    use crate::client::Clients;
    use crate::metrics::Metrics;
    use compiler::table::RoutingTable;
    use compiler::{EnvMode, SourceFile};

    fn table(yaml: &str) -> RoutingTable {
        let src = SourceFile::new("t.yaml", yaml);
        compiler::compile(&src, &(), EnvMode::Lenient)
            .unwrap()
            .table
    }

    fn first_provider(table: &RoutingTable, model: &str) -> String {
        let route = table.route(model).unwrap();
        route.hops().next().unwrap().provider.name.to_string()
    }

    #[test]
    fn in_flight_requests_keep_the_table_they_loaded() {
        let a = "inherit_defaults: false\nproviders:\n  p: { api_base: 'https://a.example/v1', models: [{id: m}] }\n";
        let b = "inherit_defaults: false\nproviders:\n  q: { api_base: 'https://b.example/v1', models: [{id: m}] }\n";
        let (clients, breakers) = (Clients::new(), Breakers::default());
        let m = std::sync::Arc::new(Metrics::default());
        let trust = auth::Trust::default();
        let handle = TableHandle::new(LoadedTable::new(table(a), &clients, &breakers, &trust, &m));
        let in_flight = handle.load();
        handle.publish(LoadedTable::new(table(b), &clients, &breakers, &trust, &m));
        assert_eq!(first_provider(&in_flight, "m"), "p");
        assert_eq!(first_provider(&handle.load(), "m"), "q");
    }
}
