//! Per-key limits and budgets behind one interface ([`Counting`]): this replica's own counters
//! (`gate::KeyLimits`, `spend::Account`) or, when the table names `server.limits.store`, a Redis
//! or Valkey every replica shares ([`shared::SharedStore`]). The handler asks [`store`] for the
//! table's and calls the same two methods either way.
//!
//! Admission ([`Counting::admit`]) checks a token's `rpm`, takes a slot under its
//! `concurrency` and reserves the request's tokens under its `tpm`, in that order; what it
//! holds is an [`Admission`], which travels in the request's record and ends with it
//! ([`Admission::end`]: the slot is given back, the tokens settled to what the request used)
//! or, dropped on any other path, gives the slot back and leaves the tokens counted.
//!
//! The store is chosen per table but kept across reloads while `server.limits.store` stays
//! the same ([`Stores`]), so a reload does not drop its connection. A table with a store never
//! falls back to local counting: a store that does not answer in time is `on_store_error`'s
//! case, counted and logged (`shared`).

pub(crate) mod shared;

use std::sync::{Arc, Mutex, PoisonError};

use compiler::table::LimitStore;

use crate::error::ProxyError;
use crate::gate::{Caller, KeyLimits, Slot};
use crate::metrics::Metrics;
use crate::spend::{self, Budget, Reservation};

/// Where a caller's `rpm`, `tpm`, `concurrency` and budgets are counted.
pub(crate) trait Counting {
    /// One request by `caller` under its token's `rpm`, a slot under its `concurrency`, and
    /// `tokens` (a model call's worst case; `None`: not a model call) under its `tpm` —
    /// nothing to do for a limit it does not claim. Over one, the caller's 429 with
    /// `Retry-After`, and a slot taken before is given back (an `rpm` count is not: the
    /// request was made).
    async fn admit(&self, caller: &Caller, tokens: Option<u64>) -> Result<Admission, ProxyError>;
    /// `amount` micro-USD reserved on every one of `budgets` (one caller's), or on none: the
    /// caller's 429 naming the budget that is used up.
    async fn reserve(&self, budgets: &[Budget], amount: u64) -> Result<Reservation, ProxyError>;
}

/// This replica's own counters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Local;

impl Counting for Local {
    async fn admit(&self, caller: &Caller, tokens: Option<u64>) -> Result<Admission, ProxyError> {
        let slot = caller.admit_local()?.map(Held::Local);
        let tokens = match tokens {
            Some(amount) => {
                caller
                    .take_tokens_local(amount)?
                    .map(|(limits, second)| Tokens::Local {
                        limits,
                        second,
                        amount,
                    })
            }
            None => None,
        };
        Ok(Admission { slot, tokens })
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
    async fn admit(&self, caller: &Caller, tokens: Option<u64>) -> Result<Admission, ProxyError> {
        match self {
            Store::Local(l) => l.admit(caller, tokens).await,
            Store::Shared(s) => s.admit(caller, tokens).await,
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

/// What a request holds of its caller's limits while it runs; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Admission {
    slot: Option<Held>,
    tokens: Option<Tokens>,
}

/// A slot under `concurrency`, given back on drop.
#[derive(Debug)]
#[expect(dead_code, reason = "held for its `Drop`, never read")]
pub(crate) enum Held {
    Local(Slot),
    Shared(shared::SharedSlot),
}

/// Tokens reserved under `tpm`: `amount` counted at the second it was taken.
#[derive(Debug)]
pub(crate) enum Tokens {
    Local {
        limits: Arc<KeyLimits>,
        second: u64,
        amount: u64,
    },
    Shared(shared::SharedTokens),
}

impl Admission {
    pub(crate) fn new(slot: Option<Held>, tokens: Option<Tokens>) -> Admission {
        Admission { slot, tokens }
    }

    /// The request ended: its slot is given back, and its reserved tokens become `used`
    /// (`None`: unknown, so the reservation stays as it was).
    pub(crate) fn end(mut self, used: Option<u64>) {
        drop(self.slot.take());
        let Some(used) = used else { return };
        match self.tokens.take() {
            Some(Tokens::Local {
                limits,
                second,
                amount,
            }) => {
                if let Some(w) = &limits.tpm {
                    w.adjust(second, delta(used, amount));
                }
            }
            Some(Tokens::Shared(t)) => t.settle(used),
            None => {}
        }
    }
}

/// `used - reserved` as a signed correction.
pub(crate) fn delta(used: u64, reserved: u64) -> i64 {
    i64::try_from(i128::from(used) - i128::from(reserved)).unwrap_or(if used > reserved {
        i64::MAX
    } else {
        i64::MIN
    })
}
