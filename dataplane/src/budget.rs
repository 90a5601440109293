//! The retry budget: failovers are limited to a share of recent traffic, so an upstream outage
//! cannot multiply the load the router sends (Finagle's budget: 20 % of requests plus a floor
//! of 10 retries a second; docs/reliability.md, retry budget).
//!
//! Every request deposits 0.2 of a retry; every failover withdraws one. The floor refills
//! continuously. The balance is capped so a quiet hour does not bank an unlimited burst.
//! Lock-free: a deposit is one atomic add per request; a withdrawal (only on failover) a
//! compare-and-swap or two.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

/// Milli-retries per request.
const DEPOSIT: i64 = 200;
const RETRY: i64 = 1000;
/// Floor: milli-retries per second.
const FLOOR_PER_SEC: i64 = 10 * RETRY;
const CAP: i64 = 100 * RETRY;

#[derive(Debug)]
pub(crate) struct RetryBudget {
    origin: Instant,
    /// Milli-retries available.
    balance: AtomicI64,
    /// Milliseconds since `origin` up to which the floor has been paid in.
    refilled_ms: AtomicU64,
}

impl Default for RetryBudget {
    fn default() -> RetryBudget {
        RetryBudget::new(Instant::now())
    }
}

impl RetryBudget {
    fn new(now: Instant) -> RetryBudget {
        RetryBudget {
            origin: now,
            balance: AtomicI64::new(FLOOR_PER_SEC),
            refilled_ms: AtomicU64::new(0),
        }
    }

    /// A request arrived.
    pub(crate) fn deposit(&self) {
        self.add(DEPOSIT);
    }

    fn add(&self, milli: i64) {
        // The cap is approximate under races (two adds may both pass `min`): by one deposit.
        let _ = self
            .balance
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                Some(b.saturating_add(milli).min(CAP))
            });
    }

    /// Whether one more attempt after a failure is allowed now; takes it if so.
    pub(crate) fn withdraw(&self, now: Instant) -> bool {
        let now_ms = u64::try_from(now.saturating_duration_since(self.origin).as_millis())
            .unwrap_or(u64::MAX);
        let last = self.refilled_ms.load(Ordering::Acquire);
        let elapsed = now_ms.saturating_sub(last);
        let refill = i64::try_from(elapsed)
            .unwrap_or(i64::MAX)
            .saturating_mul(FLOOR_PER_SEC)
            / 1000;
        // Whoever moves the mark pays the floor in; a loser's interval was paid by the winner.
        if refill > 0
            && self
                .refilled_ms
                .compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.add(refill);
        }
        self.balance
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                (b >= RETRY).then_some(b - RETRY)
            })
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn retries_are_a_fifth_of_requests_beyond_the_floor() {
        let t0 = Instant::now();
        let b = RetryBudget::new(t0);
        // The floor's first second.
        for _ in 0..10 {
            assert!(b.withdraw(t0));
        }
        assert!(!b.withdraw(t0));
        for _ in 0..50 {
            b.deposit();
        }
        let granted = (0..20).filter(|_| b.withdraw(t0)).count();
        assert_eq!(granted, 10, "50 requests buy 10 retries");
    }

    #[test]
    fn the_floor_refills_over_time() {
        let t0 = Instant::now();
        let b = RetryBudget::new(t0);
        while b.withdraw(t0) {}
        assert!(!b.withdraw(t0 + Duration::from_millis(50)));
        assert!(b.withdraw(t0 + Duration::from_millis(200)));
    }

    #[test]
    fn the_balance_is_capped() {
        let t0 = Instant::now();
        let b = RetryBudget::new(t0);
        for _ in 0..10_000 {
            b.deposit();
        }
        assert_eq!((0..200).filter(|_| b.withdraw(t0)).count(), 100);
    }

    #[test]
    fn concurrent_withdrawals_never_overdraw() {
        let b = std::sync::Arc::new(RetryBudget::new(Instant::now()));
        let t0 = b.origin;
        let granted: usize = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..100).filter(|_| b.withdraw(t0)).count()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(
            granted, 10,
            "the floor's first second, however many threads ask"
        );
    }
}
