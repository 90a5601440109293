//! A token's own limits on this replica (`limits::Local`): `rpm` and `tpm` as a rolling minute
//! of one-second buckets ([`Window`], a request weighing 1 or its tokens), `concurrency` as one
//! atomic count of requests in flight ([`KeyLimits::acquire`], released by [`Slot`]'s `Drop`).
//!
//! One [`KeyLimits`] per token id for the life of the process ([`RateLimits`]), so a reload
//! does not reset them. Admitting never allocates: 60 buckets whatever the rate, behind one
//! short lock per window (as `rpm` always had), and an atomic for the slots.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use super::unix_now;

/// Most token ids with limits kept (the least recently used are forgotten beyond).
const MAX_LIMITERS: usize = 16_384;

/// What a token limits (its claims).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Claimed {
    pub(crate) rpm: Option<u32>,
    pub(crate) tpm: Option<u32>,
    pub(crate) concurrency: Option<u32>,
}

impl Claimed {
    pub(crate) fn any(&self) -> bool {
        self.rpm.is_some() || self.tpm.is_some() || self.concurrency.is_some()
    }
}

/// Limit state by token id, for the life of the process (so a reload does not reset it).
#[derive(Debug, Default)]
pub(crate) struct RateLimits {
    /// Locked when a token is first verified under a table, never per request.
    map: Mutex<FxHashMap<Box<str>, Arc<KeyLimits>>>,
}

impl RateLimits {
    pub(crate) fn get(&self, jti: &str, claimed: Claimed) -> Arc<KeyLimits> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(l) = map.get(jti)
            && l.claimed == claimed
        {
            return Arc::clone(l);
        }
        if map.len() >= MAX_LIMITERS {
            // Forget the least recently used that nothing holds (a held slot holds it).
            if let Some(k) = map
                .iter()
                .filter(|(_, l)| Arc::strong_count(l) == 1)
                .min_by_key(|(_, l)| l.last_used.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone())
            {
                map.remove(&k);
            }
        }
        let l = Arc::new(KeyLimits::new(claimed));
        map.insert(jti.into(), Arc::clone(&l));
        l
    }
}

/// One token id's counters.
#[derive(Debug)]
pub(crate) struct KeyLimits {
    pub(crate) claimed: Claimed,
    /// Unix seconds of the latest use (for forgetting idle ones).
    last_used: AtomicU64,
    pub(crate) rpm: Option<Window>,
    pub(crate) tpm: Option<Window>,
    /// Requests in flight now.
    in_flight: AtomicU32,
}

impl KeyLimits {
    fn new(claimed: Claimed) -> KeyLimits {
        KeyLimits {
            claimed,
            last_used: AtomicU64::new(0),
            rpm: claimed.rpm.map(|n| Window::new(u64::from(n))),
            tpm: claimed.tpm.map(|n| Window::new(u64::from(n))),
            in_flight: AtomicU32::new(0),
        }
    }

    pub(crate) fn touch(&self) {
        self.last_used.store(unix_now(), Ordering::Relaxed);
    }

    /// One more request in flight, if fewer than `concurrency` are (always without one).
    /// `None`: the limit is reached.
    pub(crate) fn acquire(self: &Arc<Self>) -> Option<Slot> {
        let Some(limit) = self.claimed.concurrency else {
            return Some(Slot(None));
        };
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()?;
        // An `Arc` clone (an atomic increment, no allocation): the slot keeps its counter.
        Some(Slot(Some(Arc::clone(self))))
    }

    /// Requests in flight now (tests).
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }
}

/// A request's place among its token's `concurrency`; given back on drop, on every path.
#[derive(Debug)]
pub(crate) struct Slot(Option<Arc<KeyLimits>>);

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(l) = self.0.take() {
            l.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Why a window did not take an amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// It fits once this much of the window has passed.
    Wait(Duration),
    /// It is larger than the whole limit: it never fits.
    TooLarge,
}

/// At most `limit` units in any rolling minute, counted in one-second buckets: 60 counters
/// whatever the rate, so a large limit costs no memory, and taking never allocates. `rpm`
/// takes 1 per request; `tpm` a request's estimated tokens, corrected when it ends
/// ([`Window::adjust`]).
#[derive(Debug)]
pub(crate) struct Window {
    pub(crate) limit: u64,
    origin: Instant,
    buckets: Mutex<[Bucket; 60]>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Bucket {
    /// The second (since `origin`) this bucket counts, plus one (0: never used).
    second: u64,
    amount: u64,
}

impl Window {
    pub(crate) fn new(limit: u64) -> Window {
        Window {
            limit,
            origin: Instant::now(),
            buckets: Mutex::new([Bucket::default(); 60]),
        }
    }

    fn second(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.origin).as_secs() + 1
    }

    /// Takes `amount` now and returns the second it was counted in (for [`Window::adjust`]),
    /// or says how long until it would fit.
    pub(crate) fn take(&self, now: Instant, amount: u64) -> Result<u64, Refused> {
        if amount > self.limit {
            return Err(Refused::TooLarge);
        }
        let sec = self.second(now);
        let mut b = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let in_window = |x: &Bucket| x.amount > 0 && x.second + 60 > sec;
        let used: u64 = b.iter().filter(|x| in_window(x)).map(|x| x.amount).sum();
        if used.saturating_add(amount) > self.limit {
            // The earliest second by which enough of the window has left: oldest first.
            let mut live = [(0u64, 0u64); 60];
            let mut n = 0;
            for x in b.iter().filter(|x| in_window(x)) {
                live[n] = (x.second, x.amount);
                n += 1;
            }
            let live = &mut live[..n];
            live.sort_unstable();
            let mut left = used;
            let mut at = sec;
            for (second, a) in live.iter() {
                left -= a;
                at = *second;
                if left + amount <= self.limit {
                    break;
                }
            }
            return Err(Refused::Wait(Duration::from_secs(
                (at + 60).saturating_sub(sec).max(1),
            )));
        }
        let slot = &mut b[(sec % 60) as usize];
        if slot.second != sec {
            *slot = Bucket {
                second: sec,
                amount: 0,
            };
        }
        slot.amount = slot.amount.saturating_add(amount);
        Ok(sec)
    }

    /// Corrects what was taken in `second` by `delta` (a request's actual tokens less its
    /// estimate). A second that has left the window is left alone: the minute it counted in
    /// is over.
    pub(crate) fn adjust(&self, second: u64, delta: i64) {
        if delta == 0 {
            return;
        }
        let mut b = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = &mut b[(second % 60) as usize];
        if slot.second == second {
            slot.amount = slot.amount.saturating_add_signed(delta);
        }
    }

    /// What the window holds at `now` (tests).
    #[cfg(test)]
    pub(crate) fn used(&self, now: Instant) -> u64 {
        let sec = self.second(now);
        let b = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        b.iter()
            .filter(|x| x.amount > 0 && x.second + 60 > sec)
            .map(|x| x.amount)
            .sum()
    }
}

#[cfg(test)]
mod tests;
