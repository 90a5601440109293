//! Limits and budgets in a Redis or Valkey every replica shares (`server.limits.store`).
//!
//! Each operation is one Lua script, run with `EVALSHA` (loaded on `NOSCRIPT`), so a check and
//! its update are one atomic step on the server: `rpm.lua` (a rolling minute as a sorted set of
//! request ids), `concurrency.lua` and `release.lua` (a token's slots: a sorted set of lease
//! ids scored by expiry, [`SLOT_LEASE_MS`], so a crashed replica's slots free themselves),
//! `tpm.lua` and `tpm_settle.lua` (a rolling minute of tokens as a hash of one-second
//! buckets: reserve the estimate, then add actual less estimate to the bucket it was taken
//! in), `reserve.lua`, `settle.lua` and `seed.lua` (the budgets, the same design as
//! `spend`'s atomics: spent + reserved checked and raised at once, a lease per reservation,
//! settle adds the actual cost and drops the lease). Times come from the server's `TIME`
//! inside the script, never from a replica's clock. Every key of one caller carries its id as
//! a hash tag (`bitrouter:{<id>}:…`), so a script's keys lie in one Redis Cluster slot.
//!
//! A reservation is settled or released where the request's record is finished or dropped
//! (every exit path: answer, error, cancel, disconnect, timeout): the script runs on a task
//! bounded by the store timeout. One the store never saw settle (it was away) is freed by its
//! lease ([`LEASE_MS`]). Slots and token reservations end the same way ([`SharedSlot`],
//! [`SharedTokens`]).
//!
//! Every call is bounded by `server.limits.store_timeout`. A call that fails or times out is
//! `on_store_error`'s case: `fail_closed` refuses with the caller's 503, `fail_open` admits
//! without the check; both count `bitrouter_limit_store_errors_total{action}` and log (at most
//! one line per [`LOG_EVERY_SECS`]). The connection is a `redis::aio::ConnectionManager`: it
//! reconnects by itself with backoff, so the store recovers without a restart.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use compiler::table::LimitStore;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, Script, ScriptInvocation};
use translate::ir::ErrorKind;

use crate::error::ProxyError;
use crate::gate::{self, Caller, Refused};
use crate::limits::{Admission, Held, Tokens};
use crate::metrics::{Metrics, StoreAction};
use crate::spend::{self, Budget, BudgetWindow, Over, Reservation};

/// A reservation the store never saw settled is freed this long after it was made.
pub(crate) const LEASE_MS: u64 = spend::LEASE_MINUTES * 60_000;
/// A concurrency slot the store never saw given back is freed this long after it was taken.
pub(crate) const SLOT_LEASE_MS: u64 = 10 * 60_000;
/// At most one log line per this many seconds about the store being away.
const LOG_EVERY_SECS: u64 = 10;
/// Reconnection: backoff from 50 ms doubling to 2 s between attempts.
const RECONNECT_MIN: Duration = Duration::from_millis(50);
const RECONNECT_MAX: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

macro_rules! budget_script {
    ($file:literal) => {
        LazyLock::new(|| Script::new(concat!(include_str!("common.lua"), include_str!($file))))
    };
}

static RPM: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("rpm.lua")));
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("concurrency.lua")));
static RELEASE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("release.lua")));
static TPM: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("tpm.lua")));
static TPM_SETTLE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("tpm_settle.lua")));
static RESERVE: LazyLock<Script> = budget_script!("reserve.lua");
static SETTLE: LazyLock<Script> = budget_script!("settle.lua");
static SEED: LazyLock<Script> = budget_script!("seed.lua");
static COUNTERS: LazyLock<Script> = budget_script!("counters.lua");

/// One shared store (a URL, its timeout and its error policy) and its connection.
pub(crate) struct SharedStore {
    client: Result<redis::Client, Box<str>>,
    conn: tokio::sync::OnceCell<ConnectionManager>,
    timeout: Duration,
    fail_open: bool,
    metrics: Arc<Metrics>,
    /// This process's ids for requests and leases: `<nonce>-<counter>`.
    nonce: u64,
    seq: AtomicU64,
    /// Unix seconds of the last "store away" log line.
    logged: AtomicU64,
    /// [`LEASE_MS`], shorter in tests.
    lease_ms: u64,
    /// [`SLOT_LEASE_MS`], shorter in tests.
    slot_lease_ms: u64,
}

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password.
        f.debug_struct("SharedStore")
            .field("timeout", &self.timeout)
            .field("fail_open", &self.fail_open)
            .finish_non_exhaustive()
    }
}

/// Why a call to the store did not answer.
#[derive(Debug)]
pub(crate) enum StoreError {
    Redis(redis::RedisError),
    Timeout(Duration),
    Config(Box<str>),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Redis(e) => write!(f, "{e}"),
            StoreError::Timeout(d) => write!(f, "no answer within {d:?}"),
            StoreError::Config(e) => write!(f, "{e}"),
        }
    }
}

fn state_key(key: &str, w: BudgetWindow) -> String {
    format!("bitrouter:{{{key}}}:budget:{}", w.as_str())
}

fn leases_key(key: &str, w: BudgetWindow) -> String {
    format!("bitrouter:{{{key}}}:leases:{}", w.as_str())
}

impl SharedStore {
    pub(crate) fn new(settings: &LimitStore, metrics: Arc<Metrics>) -> SharedStore {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        SharedStore {
            client: redis::Client::open(settings.url.expose())
                // The error names no part of the URL.
                .map_err(|e| format!("`server.limits.store` is not usable: {:?}", e.kind()).into()),
            conn: tokio::sync::OnceCell::new(),
            timeout: settings.timeout,
            fail_open: settings.fail_open,
            metrics,
            nonce: h.finish(),
            seq: AtomicU64::new(0),
            logged: AtomicU64::new(0),
            lease_ms: LEASE_MS,
            slot_lease_ms: SLOT_LEASE_MS,
        }
    }

    fn next_id(&self) -> String {
        format!(
            "{:016x}-{}",
            self.nonce,
            self.seq.fetch_add(1, Ordering::Relaxed)
        )
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let client = self
            .client
            .as_ref()
            .map_err(|e| StoreError::Config(e.clone()))?;
        self.conn
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_min_delay(RECONNECT_MIN)
                    .set_max_delay(RECONNECT_MAX)
                    .set_number_of_retries(usize::MAX)
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(self.timeout));
                ConnectionManager::new_lazy_with_config(client.clone(), config)
            })
            .await
            .cloned()
            .map_err(StoreError::Redis)
    }

    /// Runs one script, bounded by the store timeout.
    async fn run<T: FromRedisValue>(&self, inv: &ScriptInvocation<'_>) -> Result<T, StoreError> {
        let call = async {
            let mut c = self.connection().await?;
            inv.invoke_async(&mut c).await.map_err(StoreError::Redis)
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        }
    }

    /// Counts and logs a failed call; under `fail_closed` also the caller's 503.
    fn failed(&self, what: &str, e: &StoreError) -> Result<(), ProxyError> {
        let action = if self.fail_open {
            StoreAction::Admitted
        } else {
            StoreAction::Refused
        };
        self.note(action, what, e);
        if self.fail_open {
            return Ok(());
        }
        Err(ProxyError::internal(
            ErrorKind::Overloaded,
            "the shared limit store (`server.limits.store`) did not answer, and \
             `on_store_error: fail_closed` refuses requests it cannot check; try again shortly",
        )
        .with_code("limit_store_unavailable")
        .with_reason("limit_store")
        .with_retry_after(Duration::from_secs(1)))
    }

    fn note(&self, action: StoreAction, what: &str, e: &StoreError) {
        self.metrics.limit_store_error(action);
        let now = spend::now().max(0) as u64;
        let last = self.logged.load(Ordering::Relaxed);
        if now >= last + LOG_EVERY_SECS
            && self
                .logged
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                what,
                action = action.as_str(),
                error = %e,
                "the shared limit store (server.limits.store) failed; bitrouter_limit_store_errors_total counts each request"
            );
        }
    }

    /// `rpm`, `concurrency`, then `tpm` (see `limits::Counting::admit`), one script each for
    /// the limits the token claims.
    pub(crate) async fn admit(
        self: &Arc<Self>,
        caller: &Caller,
        tokens: Option<u64>,
    ) -> Result<Admission, ProxyError> {
        let t = &caller.token;
        if let Some(rpm) = t.rpm {
            self.rpm(&t.jti, rpm).await?;
        }
        let slot = match t.concurrency {
            Some(n) => self.acquire(&t.jti, n).await?,
            None => None,
        };
        // Refused here, `slot` drops and gives its place back.
        let tokens = match (t.tpm, tokens) {
            (Some(tpm), Some(amount)) => self.take_tokens(&t.jti, tpm, amount).await?,
            _ => None,
        };
        Ok(Admission::new(
            slot.map(Held::Shared),
            tokens.map(Tokens::Shared),
        ))
    }

    async fn rpm(&self, jti: &str, rpm: u32) -> Result<(), ProxyError> {
        let key = format!("bitrouter:{{{jti}}}:rpm");
        let mut inv = RPM.prepare_invoke();
        inv.key(key).arg(rpm).arg(self.next_id());
        match self.run::<(i64, i64)>(&inv).await {
            Ok((1, _)) => Ok(()),
            Ok((_, wait_ms)) => Err(gate::rate_limited(u64::from(rpm), wait(wait_ms))),
            Err(e) => self.failed("rpm", &e),
        }
    }

    /// A slot under `limit` (`None` when the store did not answer and `fail_open` admits).
    async fn acquire(
        self: &Arc<Self>,
        jti: &str,
        limit: u32,
    ) -> Result<Option<SharedSlot>, ProxyError> {
        let key = format!("bitrouter:{{{jti}}}:inflight");
        let id = self.next_id();
        let mut inv = ACQUIRE.prepare_invoke();
        inv.key(&key).arg(limit).arg(&id).arg(self.slot_lease_ms);
        match self.run::<(i64, i64)>(&inv).await {
            Ok((1, _)) => Ok(Some(SharedSlot {
                store: Arc::clone(self),
                key,
                id,
            })),
            Ok(_) => Err(gate::too_many_in_flight(limit)),
            Err(e) => self.failed("concurrency", &e).map(|()| None),
        }
    }

    /// `amount` tokens under `tpm` (`None` when the store did not answer and `fail_open`
    /// admits).
    async fn take_tokens(
        self: &Arc<Self>,
        jti: &str,
        tpm: u32,
        amount: u64,
    ) -> Result<Option<SharedTokens>, ProxyError> {
        let tpm = u64::from(tpm);
        if amount > tpm {
            return Err(gate::over_tpm(tpm, amount, Refused::TooLarge));
        }
        let key = format!("bitrouter:{{{jti}}}:tpm");
        let mut inv = TPM.prepare_invoke();
        inv.key(&key).arg(tpm).arg(amount);
        match self.run::<(i64, i64, i64)>(&inv).await {
            Ok((1, second, _)) => Ok(Some(SharedTokens {
                store: Arc::clone(self),
                key,
                second,
                amount,
            })),
            Ok((_, wait_ms, _)) if wait_ms < 0 => {
                Err(gate::over_tpm(tpm, amount, Refused::TooLarge))
            }
            Ok((_, wait_ms, _)) => Err(gate::over_tpm(tpm, amount, Refused::Wait(wait(wait_ms)))),
            Err(e) => self.failed("tpm", &e).map(|()| None),
        }
    }

    /// Runs `inv` on a task of its own, bounded by the store timeout: what a request that
    /// ends (or a caller who leaves) gives back; a failure is counted as `unsettled`.
    fn detach(self: Arc<Self>, what: &'static str, inv: ScriptInvocation<'static>) {
        // No runtime (the process is exiting): the lease frees it.
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        rt.spawn(async move {
            if let Err(e) = self.run::<i64>(&inv).await {
                self.note(StoreAction::Unsettled, what, &e);
            }
        });
    }

    pub(crate) async fn reserve(
        self: &Arc<Self>,
        budgets: &[Budget],
        amount: u64,
    ) -> Result<Reservation, ProxyError> {
        let Some(first) = budgets.first() else {
            return Ok(Reservation::default());
        };
        let id = self.next_id();
        let mut inv = RESERVE.prepare_invoke();
        for b in budgets {
            inv.key(state_key(&b.key, b.window))
                .key(leases_key(&b.key, b.window));
        }
        inv.arg(&id).arg(amount).arg(self.lease_ms);
        for b in budgets {
            inv.arg(b.window.as_str()).arg(b.limit);
        }
        match self.run::<(i64, i64, i64, i64)>(&inv).await {
            Ok((1, ..)) => Ok(Reservation::shared(Box::new(Hold {
                store: Arc::clone(self),
                key: first.key.clone(),
                windows: budgets.iter().map(|b| b.window).collect(),
                id,
            }))),
            Ok((_, i, used, now)) => {
                let b = usize::try_from(i - 1)
                    .ok()
                    .and_then(|i| budgets.get(i))
                    .unwrap_or(first);
                let over = Over {
                    source: b.source,
                    key: b.key.clone(),
                    window: b.window,
                    limit: b.limit,
                    used: used.max(0) as u64,
                    amount,
                    resets_at: b.window.end(b.window.start(now)),
                };
                Err(over.error(now))
            }
            Err(e) => self.failed("budget", &e).map(|()| Reservation::default()),
        }
    }

    async fn settle(
        &self,
        key: &str,
        windows: &[BudgetWindow],
        id: &str,
        actual: u64,
    ) -> Result<(), StoreError> {
        let mut inv = SETTLE.prepare_invoke();
        for w in windows {
            inv.key(state_key(key, *w)).key(leases_key(key, *w));
        }
        inv.arg(id).arg(actual);
        for w in windows {
            inv.arg(w.as_str());
        }
        self.run::<i64>(&inv).await.map(|_| ())
    }

    /// Raises `seed`'s counter in the store to the ledger's figure (never lowers it).
    pub(crate) async fn seed(&self, seed: &spend::Seed) -> Result<(), StoreError> {
        let mut inv = SEED.prepare_invoke();
        inv.key(state_key(&seed.key_id, seed.window))
            .key(leases_key(&seed.key_id, seed.window))
            .arg(seed.window.as_str())
            .arg(seed.window.start(seed.window_start))
            .arg(seed.micro_usd);
        self.run::<i64>(&inv).await.map(|_| ())
    }

    /// The counters of `key` in `window` as the store holds them now.
    pub(crate) async fn counters(
        &self,
        key: &str,
        window: BudgetWindow,
    ) -> Result<spend::Counters, StoreError> {
        let mut inv = COUNTERS.prepare_invoke();
        inv.key(state_key(key, window))
            .key(leases_key(key, window))
            .arg(window.as_str());
        let (start, spent, reserved) = self.run::<(i64, i64, i64)>(&inv).await?;
        Ok(spend::Counters {
            window_start: start,
            spent: spent.max(0) as u64,
            reserved: reserved.max(0) as u64,
        })
    }
}

/// Whole seconds for `Retry-After` from a script's milliseconds (at least 1).
fn wait(ms: i64) -> Duration {
    Duration::from_secs((ms.max(0) as u64).div_ceil(1000).max(1))
}

/// A request's slot in the store: given back on drop (every path), on a task of its own.
#[derive(Debug)]
pub(crate) struct SharedSlot {
    store: Arc<SharedStore>,
    key: String,
    id: String,
}

impl Drop for SharedSlot {
    fn drop(&mut self) {
        let mut inv = RELEASE.prepare_invoke();
        inv.key(std::mem::take(&mut self.key))
            .arg(std::mem::take(&mut self.id));
        Arc::clone(&self.store).detach("release", inv);
    }
}

/// A request's tokens in the store's window: corrected to its actual use once it ends.
#[derive(Debug)]
pub(crate) struct SharedTokens {
    store: Arc<SharedStore>,
    key: String,
    second: i64,
    amount: u64,
}

impl SharedTokens {
    /// `used` replaces the estimate, in the second it was counted in.
    pub(crate) fn settle(self, used: u64) {
        let d = crate::limits::delta(used, self.amount);
        if d == 0 {
            return;
        }
        let mut inv = TPM_SETTLE.prepare_invoke();
        inv.key(self.key).arg(self.second).arg(d);
        self.store.detach("tpm_settle", inv);
    }
}

/// A request's reservation in the store: settled (or released) once, on a task of its own.
#[derive(Debug)]
struct Hold {
    store: Arc<SharedStore>,
    key: Box<str>,
    windows: Box<[BudgetWindow]>,
    id: String,
}

impl spend::Settle for Hold {
    fn settle(self: Box<Self>, actual: u64) {
        // No runtime (the process is exiting): the lease frees it.
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        rt.spawn(async move {
            let h = *self;
            if let Err(e) = h.store.settle(&h.key, &h.windows, &h.id, actual).await {
                h.store.note(StoreAction::Unsettled, "settle", &e);
            }
        });
    }
}

#[cfg(test)]
mod tests;
