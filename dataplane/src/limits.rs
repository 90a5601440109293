//! Per-key limits and budgets behind one interface ([`Counting`]): this replica's own counters
//! (`gate::Limiter`, `spend::Account`) or, when the table names `server.limits.store`, a Redis
//! or Valkey every replica shares ([`shared::SharedStore`]). The handler asks [`store`] for the
//! table's and calls the same two methods either way.
//!
//! The store is chosen per table but kept across reloads while `server.limits.store` stays
//! the same ([`Stores`]), so a reload does not drop its connection. A table with a store never
//! falls back to local counting: a store that does not answer in time is `on_store_error`'s
//! case, counted and logged (`shared`).

pub(crate) mod shared;

use std::sync::{Arc, Mutex, PoisonError};

use compiler::table::LimitStore;

use crate::error::ProxyError;
use crate::gate::Caller;
use crate::metrics::Metrics;
use crate::spend::{self, Budget, Reservation};

/// Where a caller's `rpm` and budgets are counted.
pub(crate) trait Counting {
    /// One request by `caller` under its token's `rpm` (nothing to do without one); over it,
    /// the caller's 429 with `Retry-After`.
    async fn admit(&self, caller: &Caller) -> Result<(), ProxyError>;
    /// `amount` micro-USD reserved on every one of `budgets` (one caller's), or on none: the
    /// caller's 429 naming the budget that is used up.
    async fn reserve(&self, budgets: &[Budget], amount: u64) -> Result<Reservation, ProxyError>;
}

/// This replica's own counters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Local;

impl Counting for Local {
    async fn admit(&self, caller: &Caller) -> Result<(), ProxyError> {
        caller.admit_local()
    }

    async fn reserve(&self, budgets: &[Budget], amount: u64) -> Result<Reservation, ProxyError> {
        let now = spend::now();
        Reservation::take(budgets, amount, now).map_err(|o| o.error(now))
    }
}

/// The table's store: local, or the shared one it names.
#[derive(Debug)]
pub(crate) enum Store<'a> {
    Local(Local),
    Shared(&'a Arc<shared::SharedStore>),
}

impl Counting for Store<'_> {
    async fn admit(&self, caller: &Caller) -> Result<(), ProxyError> {
        match self {
            Store::Local(l) => l.admit(caller).await,
            Store::Shared(s) => s.admit(caller).await,
        }
    }

    async fn reserve(&self, budgets: &[Budget], amount: u64) -> Result<Reservation, ProxyError> {
        match self {
            Store::Local(l) => l.reserve(budgets, amount).await,
            Store::Shared(s) => s.reserve(budgets, amount).await,
        }
    }
}

/// The store a table counts in: its prepared shared store, else local.
pub(crate) fn store(shared: Option<&Arc<shared::SharedStore>>) -> Store<'_> {
    match shared {
        Some(s) => Store::Shared(s),
        None => Store::Local(Local),
    }
}

/// The shared store of the tables published so far, kept while their setting stays the same.
#[derive(Debug, Default)]
pub(crate) struct Stores {
    /// Locked only when a table is published.
    current: Mutex<Option<(LimitStore, Arc<shared::SharedStore>)>>,
}

impl Stores {
    /// The store for a table whose `server.limits.store` is `settings`.
    pub(crate) fn get(
        &self,
        settings: Option<&LimitStore>,
        metrics: &Arc<Metrics>,
    ) -> Option<Arc<shared::SharedStore>> {
        let mut cur = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(settings) = settings else {
            *cur = None;
            return None;
        };
        if let Some((s, store)) = &*cur
            && s == settings
        {
            return Some(Arc::clone(store));
        }
        let store = Arc::new(shared::SharedStore::new(settings, Arc::clone(metrics)));
        *cur = Some((settings.clone(), Arc::clone(&store)));
        Some(store)
    }
}
