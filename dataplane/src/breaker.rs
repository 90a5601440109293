//! Per-endpoint circuit breakers and `Retry-After` cool-downs.
//!
//! An endpoint is a provider name plus an upstream model. It opens after `threshold`
//! consecutive failures (or when an upstream says `Retry-After`), stays open for the cool-down,
//! then admits exactly one probe: success closes it, failure re-opens it. State is local to this
//! process and survives reloads (keyed by names, not table ids).

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustc_hash::{FxBuildHasher, FxHashMap};

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

#[derive(Debug, Default)]
struct State {
    failures: u32,
    open_until: Option<Instant>,
    probing: bool,
}

/// What the breaker allows for one attempt.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    Yes,
    /// The one half-open probe: report its outcome, or drop the [`Probe`] to release it.
    Probe,
    /// Open: try again after this long.
    No(Duration),
}

#[derive(Debug, Default)]
pub(crate) struct Breakers {
    map: Mutex<FxHashMap<EndpointKey, State>>,
}

impl Breakers {
    fn lock(&self) -> MutexGuard<'_, FxHashMap<EndpointKey, State>> {
        // A panic while holding the lock cannot leave the map inconsistent (plain field writes).
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn admit(&self, key: EndpointKey, now: Instant) -> Admission {
        let mut map = self.lock();
        let Some(s) = map.get_mut(&key) else {
            return Admission::Yes;
        };
        match s.open_until {
            None => Admission::Yes,
            Some(t) if t > now => Admission::No(t - now),
            Some(_) if s.probing => Admission::No(Duration::from_secs(1)),
            Some(_) => {
                s.probing = true;
                Admission::Probe
            }
        }
    }

    pub(crate) fn success(&self, key: EndpointKey) {
        let mut map = self.lock();
        if let Some(s) = map.get_mut(&key) {
            *s = State::default();
        }
    }

    /// Records a failure; `retry_after` (from the upstream) is a minimum open time.
    pub(crate) fn failure(
        &self,
        key: EndpointKey,
        now: Instant,
        threshold: u32,
        cooldown: Duration,
        retry_after: Option<Duration>,
    ) {
        let mut map = self.lock();
        let s = map.entry(key).or_default();
        s.failures = s.failures.saturating_add(1);
        let mut until = s.open_until.filter(|_| !s.probing);
        if s.probing || s.failures >= threshold.max(1) {
            until = Some(now + cooldown);
        }
        if let Some(ra) = retry_after {
            let t = now + ra;
            until = Some(until.map_or(t, |u| u.max(t)));
        }
        s.open_until = until;
        s.probing = false;
    }

    /// Releases a probe that ended without an outcome (the caller went away).
    pub(crate) fn release_probe(&self, key: EndpointKey) {
        if let Some(s) = self.lock().get_mut(&key) {
            s.probing = false;
        }
    }
}

/// Holds the half-open probe slot until an outcome is recorded; dropping it releases the slot.
#[derive(Debug)]
pub(crate) struct Probe {
    breakers: Arc<Breakers>,
    key: EndpointKey,
    armed: bool,
}

impl Probe {
    pub(crate) fn new(breakers: &Arc<Breakers>, key: EndpointKey) -> Probe {
        Probe {
            breakers: Arc::clone(breakers),
            key,
            armed: true,
        }
    }

    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if self.armed {
            self.breakers.release_probe(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOL: Duration = Duration::from_secs(30);

    #[test]
    fn opens_after_threshold_then_admits_one_probe() {
        let b = Breakers::default();
        let k = EndpointKey::new("p", "m");
        let t0 = Instant::now();
        for _ in 0..2 {
            b.failure(k, t0, 3, COOL, None);
            assert_eq!(b.admit(k, t0), Admission::Yes);
        }
        b.failure(k, t0, 3, COOL, None);
        assert!(matches!(b.admit(k, t0), Admission::No(_)));
        let later = t0 + COOL + Duration::from_millis(1);
        assert_eq!(b.admit(k, later), Admission::Probe);
        assert!(
            matches!(b.admit(k, later), Admission::No(_)),
            "one probe only"
        );
        b.success(k);
        assert_eq!(b.admit(k, later), Admission::Yes);
    }

    #[test]
    fn failed_probe_reopens() {
        let b = Breakers::default();
        let k = EndpointKey::new("p", "m");
        let t0 = Instant::now();
        b.failure(k, t0, 1, COOL, None);
        let later = t0 + COOL * 2;
        assert_eq!(b.admit(k, later), Admission::Probe);
        b.failure(k, later, 1, COOL, None);
        assert!(matches!(
            b.admit(k, later + Duration::from_secs(1)),
            Admission::No(_)
        ));
    }

    #[test]
    fn dropped_probe_releases_the_slot() {
        let b = Arc::new(Breakers::default());
        let k = EndpointKey::new("p", "m");
        let t0 = Instant::now();
        b.failure(k, t0, 1, COOL, None);
        let later = t0 + COOL * 2;
        assert_eq!(b.admit(k, later), Admission::Probe);
        drop(Probe::new(&b, k));
        assert_eq!(b.admit(k, later), Admission::Probe);
    }

    #[test]
    fn retry_after_opens_even_below_threshold() {
        let b = Breakers::default();
        let k = EndpointKey::new("p", "m");
        let t0 = Instant::now();
        b.failure(k, t0, 5, COOL, Some(Duration::from_secs(2)));
        assert_eq!(
            b.admit(k, t0 + Duration::from_secs(1)),
            Admission::No(Duration::from_secs(1))
        );
        assert_eq!(b.admit(k, t0 + Duration::from_secs(3)), Admission::Probe);
    }

    #[test]
    fn keys_differ_by_model() {
        assert_ne!(EndpointKey::new("p", "a"), EndpointKey::new("p", "b"));
    }
}
