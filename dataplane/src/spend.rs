//! Spend budgets, reserve then settle, on one replica: a token's `budget` claim and
//! `server.auth.budgets`, both enforced when both apply.
//!
//! Each (key id, window) has one [`Account`] of atomics in micro-USD, kept for the life of the
//! process (so reloads keep it, like the rpm limiter): `used` = spent + reserved is the one
//! counter admission checks and raises in a single compare-and-swap, so concurrent requests
//! never take the same headroom twice — a burst never overshoots. A request reserves its
//! worst-case cost ([`worst_case`]) before anything goes upstream; its [`Reservation`] travels
//! in the request's record and is settled to the actual cost where the record is finished
//! (the same cost the ledger gets), or released by `Drop` on any path that never settles.
//!
//! **Leases.** A reservation that is neither settled nor released (a stream held open for
//! ever) expires after [`LEASE_MINUTES`]: reservations sit in a ring of per-minute buckets,
//! each one atomic packing the minute and the amount, and a bucket is emptied (its amount
//! taken off `used`) when its minute comes round again or a sweep finds it stale. Settling
//! an expired reservation still charges its actual cost.
//!
//! **Windows** are UTC days and months and `total` ([`BudgetWindow::start`]); a counter
//! rolls over lazily, on the first use in a new window. Times are parameters (Unix seconds),
//! so tests move the clock.
//!
//! **Seeds.** The runtime seeds spent-so-far from the ledger at start and every minute
//! ([`Spend::seed`]). A seed only ever raises a counter: the ledger lags the counters by the
//! writer's batch delay, so lowering to it could admit past a budget.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

pub use auth::BudgetWindow;
use compiler::table::Pricing;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use translate::ir::ErrorKind;

use crate::error::ProxyError;

/// Output tokens reserved for a request that names no maximum (`max_tokens` and the like):
/// an answer longer than this is still charged in full when it settles, so such a request
/// can take a budget past its limit by the excess (a caller that wants a hard bound sends
/// `max_tokens`).
pub const DEFAULT_OUTPUT_CAP: u64 = 4096;
/// A reservation expires between this many minutes and one more after it was made.
pub const LEASE_MINUTES: u64 = 15;
/// Per-minute lease buckets (one more than the lease, so a bucket is reused only once stale).
const RING: usize = LEASE_MINUTES as usize + 1;
/// Low bits of a bucket: the amount; high bits: the minute (mod 2^24) it holds.
const AMOUNT_BITS: u32 = 40;
const AMOUNT_MASK: u64 = (1 << AMOUNT_BITS) - 1;
const SHARDS: usize = 16;

/// Spend state for the whole process, by key id and window.
#[derive(Debug, Default)]
pub(crate) struct Spend {
    /// Written when a key is first seen with a budget under a table (or seeded), read when a
    /// caller is first verified under a table; never locked per request.
    shards: [RwLock<Accounts>; SHARDS],
}

type Accounts = FxHashMap<(Box<str>, BudgetWindow), Arc<Account>>;

/// Spent so far by one key in one window, as the ledger recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct Seed {
    pub key_id: String,
    pub window: BudgetWindow,
    /// Unix seconds: when the window began ([`BudgetWindow::start`]; 0 for `total`).
    pub window_start: i64,
    pub micro_usd: u64,
}

/// One key's counters in one window, for tests and operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters {
    /// Unix seconds.
    pub window_start: i64,
    /// Micro-USD settled in the window.
    pub spent: u64,
    /// Micro-USD reserved by requests in flight.
    pub reserved: u64,
}

impl Spend {
    fn shard(&self, key: &str) -> &RwLock<Accounts> {
        use std::hash::{BuildHasher, Hasher};
        let mut h = rustc_hash::FxBuildHasher.build_hasher();
        h.write(key.as_bytes());
        &self.shards[(h.finish() as usize) % SHARDS]
    }

    /// The account of `key` in `window`, made when first asked for.
    pub(crate) fn account(&self, key: &str, window: BudgetWindow) -> Arc<Account> {
        let shard = self.shard(key);
        let k = (Box::<str>::from(key), window);
        if let Some(a) = shard.read().unwrap_or_else(PoisonError::into_inner).get(&k) {
            return Arc::clone(a);
        }
        let mut map = shard.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            map.entry(k)
                .or_insert_with(|| Arc::new(Account::new(window))),
        )
    }

    /// The counters of `key` in `window` at `now`, if it has an account.
    pub(crate) fn counters(&self, key: &str, window: BudgetWindow, now: i64) -> Option<Counters> {
        let k = (Box::<str>::from(key), window);
        let a = Arc::clone(
            self.shard(key)
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&k)?,
        );
        a.roll(now);
        a.sweep(now);
        Some(a.counters())
    }

    /// Raises the key's spent counter to the ledger's figure (never lowers it; see the module
    /// docs). A seed for a window older than the counter's is ignored.
    pub(crate) fn seed(&self, s: &Seed) {
        let a = self.account(&s.key_id, s.window);
        a.roll_to(s.window.start(s.window_start));
        if a.start.load(Ordering::Acquire) != s.window.start(s.window_start) {
            return;
        }
        let _ = a
            .spent
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                (s.micro_usd > cur).then(|| {
                    // `used` first, so `used >= spent` holds for a concurrent roll-over.
                    a.used.fetch_add(s.micro_usd - cur, Ordering::AcqRel);
                    s.micro_usd
                })
            });
    }

    /// Expires stale reservations everywhere (the runtime calls it with each seed).
    pub(crate) fn sweep(&self, now: i64) {
        for shard in &self.shards {
            let accounts: Vec<Arc<Account>> = shard
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
                .cloned()
                .collect();
            for a in accounts {
                a.roll(now);
                a.sweep(now);
            }
        }
    }
}

/// One key's spend in one window; see the module docs.
#[derive(Debug)]
pub(crate) struct Account {
    window: BudgetWindow,
    /// Unix seconds: the current window's start.
    start: AtomicI64,
    /// Spent + reserved: what admission checks.
    used: AtomicU64,
    spent: AtomicU64,
    reserved: AtomicU64,
    leases: [AtomicU64; RING],
}

fn minute_of(now: i64) -> u64 {
    (now.max(0) as u64) / 60
}

fn tag(minute: u64) -> u64 {
    minute & ((1 << (64 - AMOUNT_BITS)) - 1)
}

impl Account {
    fn new(window: BudgetWindow) -> Account {
        Account {
            window,
            start: AtomicI64::new(i64::MIN),
            used: AtomicU64::new(0),
            spent: AtomicU64::new(0),
            reserved: AtomicU64::new(0),
            leases: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    fn counters(&self) -> Counters {
        Counters {
            window_start: self.start.load(Ordering::Acquire),
            spent: self.spent.load(Ordering::Acquire),
            reserved: self.reserved.load(Ordering::Acquire),
        }
    }

    /// Starts the window holding `now`, if it is newer than the current one.
    fn roll(&self, now: i64) {
        self.roll_to(self.window.start(now));
    }

    fn roll_to(&self, start: i64) {
        let cur = self.start.load(Ordering::Acquire);
        if start > cur
            && self
                .start
                .compare_exchange(cur, start, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            // What the old window spent leaves `used`; reservations stay (they settle into
            // the window they end in).
            let old = self.spent.swap(0, Ordering::AcqRel);
            self.used.fetch_sub(old, Ordering::AcqRel);
        }
    }

    /// Empties the lease buckets older than the lease.
    fn sweep(&self, now: i64) {
        let minute = minute_of(now);
        for b in &self.leases {
            let v = b.load(Ordering::Acquire);
            let amount = v & AMOUNT_MASK;
            if amount == 0 {
                continue;
            }
            let age = tag(minute).wrapping_sub(v >> AMOUNT_BITS) & ((1 << (64 - AMOUNT_BITS)) - 1);
            if age > LEASE_MINUTES
                && b.compare_exchange(v, v & !AMOUNT_MASK, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            {
                self.expired(amount);
            }
        }
    }

    fn expired(&self, amount: u64) {
        self.used.fetch_sub(amount, Ordering::AcqRel);
        self.reserved.fetch_sub(amount, Ordering::AcqRel);
    }

    /// Reserves `amount` under `limit`, or returns what is already used.
    fn reserve(&self, limit: u64, amount: u64, now: i64) -> Result<Lease, u64> {
        self.roll(now);
        self.sweep(now);
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(amount).filter(|n| *n <= limit)
            })?;
        self.reserved.fetch_add(amount, Ordering::AcqRel);
        let minute = minute_of(now);
        let want = tag(minute);
        let index = (minute % RING as u64) as usize;
        let mut stale = 0;
        // Cannot fail: the closure always answers. A bucket's amounts are at most `used`,
        // which the limit (clamped to `AMOUNT_MASK`) bounds, so the sum fits.
        let _ = self.leases[index].fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
            if v >> AMOUNT_BITS == want {
                stale = 0;
                Some(v + amount)
            } else {
                // The bucket last held a minute a whole ring ago: what it holds has expired.
                stale = v & AMOUNT_MASK;
                Some((want << AMOUNT_BITS) | amount)
            }
        });
        if stale > 0 {
            self.expired(stale);
        }
        Ok(Lease {
            bucket: index as u8,
            tag: want,
            amount,
        })
    }

    /// Ends `lease`, charging `actual`: the cost is added before the reservation leaves
    /// `used`, so `used` never dips below where it ends.
    fn settle(&self, lease: &Lease, actual: u64) {
        if actual > 0 {
            self.used.fetch_add(actual, Ordering::AcqRel);
            self.spent.fetch_add(actual, Ordering::AcqRel);
        }
        let bucket = &self.leases[usize::from(lease.bucket)];
        let live = bucket
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                (v >> AMOUNT_BITS == lease.tag && v & AMOUNT_MASK >= lease.amount)
                    .then(|| v - lease.amount)
            })
            .is_ok();
        if live {
            self.expired(lease.amount);
        }
    }
}

/// Where one reservation sits in its account's lease ring.
#[derive(Debug)]
struct Lease {
    bucket: u8,
    tag: u64,
    amount: u64,
}

/// Where a budget comes from (what the 429 names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// The token's `budget` claim.
    Token,
    /// `server.auth.budgets.<key>`.
    Config,
}

/// One budget a caller is held to.
#[derive(Debug)]
pub(crate) struct Budget {
    pub(crate) source: Source,
    pub(crate) key: Box<str>,
    pub(crate) window: BudgetWindow,
    /// Micro-USD (at most 2^40, about 1.1 million USD: the lease ring's field).
    pub(crate) limit: u64,
    account: Arc<Account>,
}

impl Budget {
    pub(crate) fn new(
        spend: &Spend,
        source: Source,
        key: &str,
        window: BudgetWindow,
        limit: u64,
    ) -> Budget {
        Budget {
            source,
            key: key.into(),
            window,
            limit: limit.min(AMOUNT_MASK),
            account: spend.account(key, window),
        }
    }
}

/// A request over one of its budgets.
#[derive(Debug)]
pub(crate) struct Over {
    pub(crate) source: Source,
    pub(crate) key: Box<str>,
    pub(crate) window: BudgetWindow,
    pub(crate) limit: u64,
    pub(crate) used: u64,
    pub(crate) amount: u64,
    /// Unix seconds; `None` for `total`.
    pub(crate) resets_at: Option<i64>,
}

impl Over {
    /// The caller's 429 (in its protocol's rate-limit shape): which budget, how much of it is
    /// spent or reserved, and when it resets — `Retry-After` is the seconds to the window's
    /// end (none for `total`, which never resets). OpenAI callers get OpenAI's own spelling
    /// of a spent quota (`insufficient_quota` as type and code, which Codex and the SDKs
    /// treat as final); every caller gets `x-should-retry: false`. 429, not 402: it is the
    /// status all four protocols' services use for an exhausted quota, and what their
    /// official clients map to their rate-limit error.
    pub(crate) fn error(&self, now: i64) -> ProxyError {
        let usd = |m: u64| m as f64 / 1e6;
        let which = match self.source {
            Source::Token => "this API key's `budget`".to_owned(),
            Source::Config => format!("`server.auth.budgets.{}`", self.key),
        };
        let per = match self.window {
            BudgetWindow::Total => "in total".to_owned(),
            w => format!("per {}", w.as_str()),
        };
        let when = match self.resets_at {
            Some(t) => format!("; it resets at {}", auth::utc_label(t)),
            None => "; it does not reset".to_owned(),
        };
        let e = ProxyError::client(
            ErrorKind::RateLimited,
            format!(
                "{which} of {:.6} USD {per} is used up for key `{}` (window {}): {:.6} USD \
                 spent or reserved, and this request may cost up to {:.6} USD{when}",
                usd(self.limit),
                self.key,
                self.window.as_str(),
                usd(self.used),
                usd(self.amount),
            ),
        )
        .with_code("insufficient_quota")
        .with_reason("budget")
        .final_answer();
        match self.resets_at {
            Some(t) => e.with_retry_after(until(t, now)),
            None => e,
        }
    }
}

/// A reservation kept somewhere else (the shared store, `limits::shared`): ended once, with
/// the actual cost in micro-USD (0: released).
pub(crate) trait Settle: Send + Sync + std::fmt::Debug {
    fn settle(self: Box<Self>, actual: u64);
}

/// A request's hold on its budgets: settled where its record is finished, released on drop.
#[derive(Debug, Default)]
pub(crate) struct Reservation {
    holds: SmallVec<[(Arc<Account>, Lease); 2]>,
    /// The same, held in the shared store.
    shared: Option<Box<dyn Settle>>,
}

impl Reservation {
    /// A reservation the shared store holds.
    pub(crate) fn shared(hold: Box<dyn Settle>) -> Reservation {
        Reservation {
            holds: SmallVec::new(),
            shared: Some(hold),
        }
    }

    /// Reserves `amount` micro-USD on every budget in `budgets`, or none of them.
    pub(crate) fn take(budgets: &[Budget], amount: u64, now: i64) -> Result<Reservation, Over> {
        let mut r = Reservation::default();
        for b in budgets {
            match b.account.reserve(b.limit, amount, now) {
                Ok(lease) => r.holds.push((Arc::clone(&b.account), lease)),
                Err(used) => {
                    // `r` drops here and releases what it already holds.
                    let start = b.window.start(now);
                    return Err(Over {
                        source: b.source,
                        key: b.key.clone(),
                        window: b.window,
                        limit: b.limit,
                        used,
                        amount,
                        resets_at: b.window.end(start),
                    });
                }
            }
        }
        Ok(r)
    }

    /// The request's actual cost (micro-USD, as the ledger records it; `None`: unknown, so
    /// nothing is charged) replaces the reservation.
    pub(crate) fn settle(&mut self, cost: Option<f64>) {
        let actual = cost.map_or(0, micro);
        for (a, lease) in self.holds.drain(..) {
            a.settle(&lease, actual);
        }
        if let Some(h) = self.shared.take() {
            h.settle(actual);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.settle(None);
    }
}

/// Micro-USD as a whole number, rounded up (a budget is never under-charged).
pub(crate) fn micro(cost: f64) -> u64 {
    if cost.is_finite() && cost > 0.0 {
        cost.ceil() as u64
    } else {
        0
    }
}

/// The most a request can cost on a route whose endpoints have `prices`: `output_tokens` at
/// the highest output price plus `input_tokens` at the highest prompt-side price (input,
/// cache read or cache write), in micro-USD. `None` when no endpoint has both an input and an
/// output price: such a request cannot be costed, is admitted without a reservation, and the
/// ledger records its cost as unknown (so it never counts against a budget).
pub(crate) fn worst_case<'p>(
    prices: impl Iterator<Item = &'p Pricing>,
    input_tokens: u64,
    output_tokens: u64,
) -> Option<u64> {
    let mut best: Option<(f64, f64)> = None;
    for p in prices {
        let (Some(i), Some(o)) = (p.input, p.output) else {
            continue;
        };
        let i = i
            .max(p.cache_read.unwrap_or(0.0))
            .max(p.cache_write.unwrap_or(0.0));
        let (bi, bo) = best.unwrap_or((0.0, 0.0));
        best = Some((bi.max(i), bo.max(o)));
    }
    let (i, o) = best?;
    Some(micro(input_tokens as f64 * i + output_tokens as f64 * o))
}

/// The most tokens a request can take, as `(input, output)`: [`input_estimate`] of its body
/// and its maximum output tokens (else [`DEFAULT_OUTPUT_CAP`]). What a budget prices
/// ([`worst_case`]) and what a `tpm` limit reserves (their sum).
pub(crate) fn token_estimate(body_bytes: usize, max_output: Option<u64>) -> (u64, u64) {
    (
        input_estimate(body_bytes),
        max_output.unwrap_or(DEFAULT_OUTPUT_CAP),
    )
}

/// The input tokens reserved for a body of `bytes`: a quarter of its length (JSON framing and
/// base64 media make that an over-estimate for most text; see the README on its limits).
pub(crate) fn input_estimate(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(4).max(1)
}

/// Seconds until `resets_at` from `now` (at least 1).
pub(crate) fn until(resets_at: i64, now: i64) -> Duration {
    Duration::from_secs(resets_at.saturating_sub(now).max(1) as u64)
}

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests;
