//! The retry budget: failovers are limited to a share of recent traffic, so an upstream outage
//! cannot multiply the load the router sends (Finagle's budget: 20 % of requests plus a floor
//! of 10 retries a second, reliability.md §2.4).
//!
//! Every request deposits 0.2 of a retry; every failover withdraws one. The floor refills
//! continuously. The balance is capped so a quiet hour does not bank an unlimited burst.

use std::sync::Mutex;
use std::time::Instant;

/// Milli-retries per request.
const DEPOSIT: i64 = 200;
const RETRY: i64 = 1000;
/// Floor: milli-retries per second.
const FLOOR_PER_SEC: i64 = 10 * RETRY;
const CAP: i64 = 100 * RETRY;

#[derive(Debug)]
pub(crate) struct RetryBudget {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    balance: i64,
    refilled: Instant,
}

impl Default for RetryBudget {
    fn default() -> RetryBudget {
        RetryBudget::new(Instant::now())
    }
}

impl RetryBudget {
    fn new(now: Instant) -> RetryBudget {
        RetryBudget {
            state: Mutex::new(State {
                balance: FLOOR_PER_SEC,
                refilled: now,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A request arrived.
    pub(crate) fn deposit(&self) {
        let mut s = self.lock();
        s.balance = (s.balance + DEPOSIT).min(CAP);
    }

    /// Whether one more attempt after a failure is allowed now; takes it if so.
    pub(crate) fn withdraw(&self, now: Instant) -> bool {
        let mut s = self.lock();
        let elapsed = now.saturating_duration_since(s.refilled);
        let refill = (elapsed.as_millis() as i64).saturating_mul(FLOOR_PER_SEC) / 1000;
        if refill > 0 {
            s.balance = (s.balance + refill).min(CAP);
            s.refilled = now;
        }
        if s.balance >= RETRY {
            s.balance -= RETRY;
            true
        } else {
            false
        }
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
}
