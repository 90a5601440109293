//! Per-endpoint circuit breakers and `Retry-After` cool-downs.
//!
//! An endpoint is a provider name plus an upstream model. It opens after `threshold`
//! consecutive failed attempts (or when an upstream says `Retry-After`), stays open for the
//! cool-down, then admits exactly one probe: success closes it, failure re-opens it.
//!
//! Each attempt is classified once, at its end — a whole answer when it has been read and
//! checked, a stream when it ends (cleanly, or cut, idle, or with an error frame) — and that
//! one outcome is recorded through the attempt's [`Ticket`], as linkerd classifies a response
//! at its end. A stream that dies after its first token is a failure, not a success at the
//! commit point. An attempt whose caller leaves records nothing (it was cancelled, not failed)
//! and frees the probe slot.
//!
//! The same ticket counts the attempt in `bitrouter_upstream_attempts_total` with its result
//! class, at the same moment (or as `cancelled` when it is dropped unrecorded).
//!
//! No lock on the hot path: each endpoint's state is three atomics in a [`Breaker`] that the
//! table's prepared values point at (built at publish, `prepared.rs`); the registry that maps
//! names to breakers — so state survives reloads — is locked only at publish and for routes to
//! models a provider does not declare.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use rustc_hash::{FxBuildHasher, FxHashMap};

use crate::metrics::{AttemptResult, Id, Metrics};

/// Identifies an endpoint across reloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct EndpointKey(u64);

impl EndpointKey {
    pub(crate) fn new(provider: &str, upstream_model: &str) -> EndpointKey {
        let mut h = FxBuildHasher.build_hasher();
        provider.hash(&mut h);
        upstream_model.hash(&mut h);
        EndpointKey(h.finish())
    }
}

/// The thresholds a table configures (`server.failover`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    pub(crate) threshold: u32,
    pub(crate) cooldown: Duration,
}

/// What the breaker allows for one attempt.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    Yes,
    /// The one half-open probe.
    Probe,
    /// Open: try again after this long.
    No(Duration),
}

/// How an attempt ended, as far as the endpoint's health goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    /// `retry_after` is the upstream's own minimum wait.
    Failure {
        retry_after: Option<Duration>,
    },
}

/// One endpoint's state. Times are nanoseconds since `origin` (+1, so 0 means closed).
#[derive(Debug)]
pub(crate) struct Breaker {
    origin: Instant,
    failures: AtomicU32,
    open_until: AtomicU64,
    probing: AtomicBool,
}

impl Breaker {
    fn new() -> Breaker {
        Breaker {
            origin: Instant::now(),
            failures: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            probing: AtomicBool::new(false),
        }
    }

    fn at(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.origin).as_nanos())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    pub(crate) fn admit(&self, now: Instant) -> Admission {
        let until = self.open_until.load(Ordering::Acquire);
        if until == 0 {
            return Admission::Yes;
        }
        let n = self.at(now);
        if n < until {
            return Admission::No(Duration::from_nanos(until - n));
        }
        match self
            .probing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Admission::Probe,
            Err(_) => Admission::No(Duration::from_secs(1)),
        }
    }

    fn success(&self) {
        self.failures.store(0, Ordering::Release);
        self.open_until.store(0, Ordering::Release);
        self.probing.store(false, Ordering::Release);
    }

    /// Records a failure; `retry_after` (from the upstream) is a minimum open time. Racing
    /// failures may each set the deadline; all of them are "now plus the cool-down".
    fn failure(&self, now: Instant, policy: Policy, retry_after: Option<Duration>) {
        let failures = self
            .failures
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |f| {
                Some(f.saturating_add(1))
            })
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let was_probing = self.probing.swap(false, Ordering::AcqRel);
        let n = self.at(now);
        let mut until = if was_probing {
            0
        } else {
            self.open_until.load(Ordering::Acquire)
        };
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        if was_probing || failures >= policy.threshold.max(1) {
            until = n.saturating_add(nanos(policy.cooldown));
        }
        if let Some(ra) = retry_after {
            until = until.max(n.saturating_add(nanos(ra)));
        }
        self.open_until.store(until, Ordering::Release);
    }

    fn release_probe(&self) {
        self.probing.store(false, Ordering::Release);
    }

    /// Open now (refusing attempts until its cool-down ends).
    pub(crate) fn is_open(&self, now: Instant) -> bool {
        let until = self.open_until.load(Ordering::Acquire);
        until != 0 && self.at(now) < until
    }

    /// Closed, open, or past its cool-down and admitting one probe.
    pub(crate) fn state(&self, now: Instant) -> BreakerState {
        match self.open_until.load(Ordering::Acquire) {
            0 => BreakerState::Closed,
            until if self.at(now) < until => BreakerState::Open,
            _ => BreakerState::HalfOpen,
        }
    }
}

/// A breaker's state, as operators see it (`Server::endpoints`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    /// The cool-down is over; the next attempt is the probe.
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

/// Most breakers kept for models a provider does not declare (`provider:anything` routes);
/// beyond it such routes go unguarded rather than letting callers grow the map without end.
const MAX_UNDECLARED: usize = 4096;

/// Breakers by endpoint name, shared by every table the process publishes.
#[derive(Debug, Default)]
pub(crate) struct Breakers {
    /// Locked for writing at publish and when an undeclared model is first used; read-locked
    /// once per attempt for undeclared models after that. Declared targets — every route the
    /// load bench (`benches/load/run.sh`) drives — never touch it.
    /// TODO(perf): undeclared `provider:model` routes take a read lock per attempt; not
    /// measured separately, as such routes are the exception in a configured router.
    map: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: FxHashMap<EndpointKey, Entry>,
    /// How many entries are undeclared (the cap's count).
    undeclared: usize,
}

#[derive(Debug)]
struct Entry {
    breaker: Arc<Breaker>,
    /// Made at publish for a target of the table (pruned when no table has it), rather than
    /// on first use of a model the provider does not declare (kept, up to the cap).
    declared: bool,
}

impl Entry {
    fn new(declared: bool) -> Entry {
        Entry {
            breaker: Arc::new(Breaker::new()),
            declared,
        }
    }
}

impl Breakers {
    /// The breaker for `key`, created if new (at publish, for every declared target).
    pub(crate) fn get_or_insert(&self, key: EndpointKey) -> Arc<Breaker> {
        let mut inner = self.map.write().unwrap_or_else(PoisonError::into_inner);
        let inner = &mut *inner;
        let e = inner.entries.entry(key).or_insert_with(|| Entry::new(true));
        if !e.declared {
            e.declared = true;
            inner.undeclared -= 1;
        }
        Arc::clone(&e.breaker)
    }

    /// The breaker for an endpoint the table has no target for, if one can be kept.
    pub(crate) fn undeclared(&self, key: EndpointKey) -> Option<Arc<Breaker>> {
        if let Some(e) = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .get(&key)
        {
            return Some(Arc::clone(&e.breaker));
        }
        let mut inner = self.map.write().unwrap_or_else(PoisonError::into_inner);
        let inner = &mut *inner;
        if let Some(e) = inner.entries.get(&key) {
            return Some(Arc::clone(&e.breaker));
        }
        if inner.undeclared >= MAX_UNDECLARED {
            return None;
        }
        inner.undeclared += 1;
        let e = inner
            .entries
            .entry(key)
            .or_insert_with(|| Entry::new(false));
        Some(Arc::clone(&e.breaker))
    }

    /// After a publish: forgets the declared breakers that `keep` (the new table's targets)
    /// does not name and nothing refers to any more (no older table, no attempt).
    pub(crate) fn prune(&self, keep: impl Fn(&EndpointKey) -> bool) {
        let mut inner = self.map.write().unwrap_or_else(PoisonError::into_inner);
        inner
            .entries
            .retain(|k, e| !e.declared || keep(k) || Arc::strong_count(&e.breaker) > 1);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .len()
    }
}

/// One attempt's claim on its endpoint's breaker. [`Ticket::record`] consumes it with the
/// attempt's one outcome; dropped without one (the caller went away) it records nothing and
/// frees the probe slot if it held it.
#[derive(Debug)]
pub(crate) struct Ticket {
    breaker: Option<Arc<Breaker>>,
    policy: Policy,
    probe: bool,
    /// Where the attempt is counted: the server's metrics and the provider's label.
    tally: Option<(Arc<Metrics>, Id)>,
}

impl Ticket {
    /// Asks `breaker` for an attempt; `None` is an endpoint without one (always admitted).
    pub(crate) fn admit(
        breaker: Option<&Arc<Breaker>>,
        policy: Policy,
        now: Instant,
    ) -> Result<Ticket, Duration> {
        let probe = match breaker.map(|b| b.admit(now)) {
            None | Some(Admission::Yes) => false,
            Some(Admission::Probe) => true,
            Some(Admission::No(wait)) => return Err(wait),
        };
        Ok(Ticket {
            // One reference-count increment per attempt: the ticket may outlive the table
            // (a stream still open after a reload).
            breaker: breaker.map(Arc::clone),
            policy,
            probe,
            tally: None,
        })
    }

    /// Counts the attempt, when it ends, under `provider`. One reference-count increment per
    /// attempt, for the same reason as the breaker's.
    pub(crate) fn counted(mut self, metrics: &Arc<Metrics>, provider: Id) -> Ticket {
        self.tally = Some((Arc::clone(metrics), provider));
        self
    }

    /// The attempt's one outcome (for the breaker) and its result class (for the counter).
    pub(crate) fn record(mut self, outcome: Outcome, result: AttemptResult) {
        self.probe = false;
        if let Some((m, provider)) = self.tally.take() {
            m.attempt(provider, result);
        }
        if let Some(b) = &self.breaker {
            match outcome {
                Outcome::Success => b.success(),
                Outcome::Failure { retry_after } => {
                    b.failure(Instant::now(), self.policy, retry_after);
                }
            }
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some((m, provider)) = self.tally.take() {
            m.attempt(provider, AttemptResult::Cancelled);
        }
        if self.probe
            && let Some(b) = &self.breaker
        {
            b.release_probe();
        }
    }
}

#[cfg(test)]
mod tests;
