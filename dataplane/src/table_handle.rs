//! The atomically swappable current routing table.
//!
//! Invariant: a request loads the table once and keeps that `Arc` to the end, so a reload
//! (`publish`) never changes the table under an in-flight request.

use std::sync::Arc;

use arc_swap::ArcSwap;
use compiler::table::RoutingTable;

use crate::prepared::LoadedTable;

/// The current routing table. `publish` cannot fail: compiling and validating happen before,
/// off the hot path; publishing prepares the per-table header values and URIs, then makes one
/// atomic store.
#[derive(Debug)]
pub struct TableHandle {
    current: ArcSwap<LoadedTable>,
}

impl TableHandle {
    pub fn new(table: RoutingTable) -> TableHandle {
        TableHandle {
            current: ArcSwap::from_pointee(LoadedTable::new(table)),
        }
    }

    /// The table for one request: load once, keep it until the response is done.
    pub fn load(&self) -> Arc<LoadedTable> {
        self.current.load_full()
    }

    /// Swaps in a new table; requests already holding the old one finish on it.
    pub fn publish(&self, table: RoutingTable) {
        self.current.store(Arc::new(LoadedTable::new(table)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let handle = TableHandle::new(table(a));
        let in_flight = handle.load();
        handle.publish(table(b));
        assert_eq!(first_provider(&in_flight, "m"), "p");
        assert_eq!(first_provider(&handle.load(), "m"), "q");
    }
}
