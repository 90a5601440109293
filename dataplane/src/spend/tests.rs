//! Budgets in one process: bursts, settling, windows, leases, seeds and the worst case.

use super::*;

/// 2025-03-15 12:00:00 UTC.
const T: i64 = 1_742_040_000;
const DAY: i64 = 86_400;

fn budget(spend: &Spend, key: &str, window: BudgetWindow, limit: u64) -> Budget {
    Budget::new(spend, Source::Token, key, window, limit)
}

fn counters(spend: &Spend, key: &str, window: BudgetWindow, now: i64) -> (u64, u64) {
    let c = spend.counters(key, window, now).unwrap();
    (c.spent, c.reserved)
}

#[test]
fn a_concurrent_burst_never_overshoots() {
    let spend = Spend::default();
    let b = budget(&spend, "k", BudgetWindow::Day, 10 * 1000);
    let admitted = std::sync::atomic::AtomicUsize::new(0);
    let barrier = std::sync::Barrier::new(50);
    let held = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..50 {
            s.spawn(|| {
                barrier.wait();
                if let Ok(r) = Reservation::take(std::slice::from_ref(&b), 1000, T) {
                    admitted.fetch_add(1, Ordering::Relaxed);
                    held.lock().unwrap().push(r);
                }
            });
        }
    });
    assert_eq!(admitted.load(Ordering::Relaxed), 10);
    assert_eq!(counters(&spend, "k", BudgetWindow::Day, T), (0, 10_000));
    drop(held);
    assert_eq!(counters(&spend, "k", BudgetWindow::Day, T), (0, 0));
}

#[test]
fn settling_below_the_reservation_frees_the_difference() {
    let spend = Spend::default();
    let b = [budget(&spend, "k", BudgetWindow::Month, 1000)];
    let mut r = Reservation::take(&b, 600, T).unwrap();
    // 600 reserved of 1000: another 600 does not fit.
    let over = Reservation::take(&b, 600, T).unwrap_err();
    assert_eq!((over.used, over.limit, over.amount), (600, 1000, 600));
    r.settle(Some(99.2));
    assert_eq!(counters(&spend, "k", BudgetWindow::Month, T), (100, 0));
    // 900 left: 600 fits now.
    let _again = Reservation::take(&b, 600, T).unwrap();
    assert_eq!(counters(&spend, "k", BudgetWindow::Month, T), (100, 600));
}

#[test]
fn every_budget_is_reserved_or_none_is() {
    let spend = Spend::default();
    let both = [
        budget(&spend, "a", BudgetWindow::Total, 1000),
        Budget::new(&spend, Source::Config, "a", BudgetWindow::Day, 500),
    ];
    let over = Reservation::take(&both, 600, T).unwrap_err();
    assert_eq!(over.source, Source::Config);
    assert_eq!(over.resets_at, Some(BudgetWindow::Day.start(T) + DAY));
    // The total budget's reservation was given back.
    assert_eq!(counters(&spend, "a", BudgetWindow::Total, T), (0, 0));
    let mut r = Reservation::take(&both, 400, T).unwrap();
    r.settle(Some(400.0));
    assert_eq!(counters(&spend, "a", BudgetWindow::Total, T), (400, 0));
    assert_eq!(counters(&spend, "a", BudgetWindow::Day, T), (400, 0));
    let over = Reservation::take(&both, 200, T).unwrap_err();
    assert_eq!(
        (over.window, over.resets_at),
        (BudgetWindow::Day, Some(BudgetWindow::Day.start(T) + DAY))
    );
}

#[test]
fn windows_reset_at_their_utc_boundary() {
    let spend = Spend::default();
    let day = [budget(&spend, "k", BudgetWindow::Day, 1000)];
    let total = [budget(&spend, "k", BudgetWindow::Total, 1000)];
    Reservation::take(&day, 1000, T)
        .unwrap()
        .settle(Some(1000.0));
    Reservation::take(&total, 1000, T)
        .unwrap()
        .settle(Some(1000.0));
    assert!(Reservation::take(&day, 1, T + 3600).is_err());
    let midnight = BudgetWindow::Day.start(T) + DAY;
    assert!(Reservation::take(&day, 1, midnight - 1).is_err());
    // A new day: spent starts again; a reservation in flight across midnight settles into it.
    let mut r = Reservation::take(&day, 1000, midnight).unwrap();
    assert_eq!(
        spend.counters("k", BudgetWindow::Day, midnight).unwrap(),
        Counters {
            window_start: midnight,
            spent: 0,
            reserved: 1000
        }
    );
    r.settle(Some(10.0));
    assert_eq!(counters(&spend, "k", BudgetWindow::Day, midnight), (10, 0));
    // `total` never resets.
    let over = Reservation::take(&total, 1, T + 400 * DAY).unwrap_err();
    assert_eq!(over.resets_at, None);
}

#[test]
fn an_unsettled_reservation_expires_after_its_lease() {
    let spend = Spend::default();
    let b = [budget(&spend, "k", BudgetWindow::Total, 1000)];
    let leaked = Reservation::take(&b, 800, T).unwrap();
    std::mem::forget(leaked);
    let mut late = Reservation::take(&b, 200, T + 60).unwrap();
    assert!(Reservation::take(&b, 1, T + 60).is_err());
    // Still held just inside the lease.
    let inside = T + 60 * LEASE_MINUTES as i64;
    assert_eq!(
        counters(&spend, "k", BudgetWindow::Total, inside),
        (0, 1000)
    );
    // One more minute: the forgotten one is gone; `late` still holds.
    let after = T + 60 * (LEASE_MINUTES as i64 + 1);
    spend.sweep(after);
    assert_eq!(counters(&spend, "k", BudgetWindow::Total, after), (0, 200));
    // Settled after its own lease ran out, it still charges what it cost (once).
    let much_later = T + 60 * (LEASE_MINUTES as i64 + 3);
    spend.sweep(much_later);
    assert_eq!(
        counters(&spend, "k", BudgetWindow::Total, much_later),
        (0, 0)
    );
    late.settle(Some(150.0));
    assert_eq!(
        counters(&spend, "k", BudgetWindow::Total, much_later),
        (150, 0)
    );
    assert!(Reservation::take(&b, 850, much_later).is_ok());
    assert!(Reservation::take(&b, 851, much_later).is_err());
}

#[test]
fn a_bucket_reused_a_ring_later_expires_what_it_held() {
    let spend = Spend::default();
    let b = [budget(&spend, "k", BudgetWindow::Total, 1000)];
    std::mem::forget(Reservation::take(&b, 700, T).unwrap());
    // Same bucket a whole ring later (no sweep in between).
    let later = T + 60 * RING as i64;
    let r = Reservation::take(&b, 900, later).unwrap();
    assert_eq!(counters(&spend, "k", BudgetWindow::Total, later), (0, 900));
    drop(r);
    assert_eq!(counters(&spend, "k", BudgetWindow::Total, later), (0, 0));
}

#[test]
fn seeds_raise_spent_and_never_lower_it() {
    let spend = Spend::default();
    let seed = |micro_usd, window_start| Seed {
        key_id: "k".into(),
        window: BudgetWindow::Day,
        window_start,
        micro_usd,
    };
    let today = BudgetWindow::Day.start(T);
    spend.seed(&seed(700, today));
    let b = [budget(&spend, "k", BudgetWindow::Day, 1000)];
    assert!(Reservation::take(&b, 301, T).is_err());
    Reservation::take(&b, 100, T).unwrap().settle(Some(100.0));
    assert_eq!(counters(&spend, "k", BudgetWindow::Day, T), (800, 0));
    // The ledger has not caught up with the last request: no lowering.
    spend.seed(&seed(700, today));
    assert_eq!(counters(&spend, "k", BudgetWindow::Day, T), (800, 0));
    spend.seed(&seed(900, today));
    assert_eq!(counters(&spend, "k", BudgetWindow::Day, T), (900, 0));
    // Yesterday's figure is ignored.
    spend.seed(&seed(5000, today - DAY));
    assert_eq!(counters(&spend, "k", BudgetWindow::Day, T), (900, 0));
}

#[test]
fn the_worst_case_takes_the_dearest_endpoint() {
    let p = |input, output, cache_write| Pricing {
        input: Some(input),
        output: Some(output),
        cache_read: None,
        cache_write,
    };
    let cheap = p(1.0, 2.0, None);
    let dear = p(3.0, 15.0, Some(3.75));
    let unpriced = Pricing::default();
    assert_eq!(worst_case([&cheap].into_iter(), 100, 10), Some(120));
    assert_eq!(
        worst_case([&cheap, &unpriced, &dear].into_iter(), 100, 10),
        Some(375 + 150)
    );
    assert_eq!(worst_case([&unpriced].into_iter(), 100, 10), None);
    let half = Pricing {
        output: None,
        ..cheap
    };
    assert_eq!(worst_case([&half].into_iter(), 100, 10), None);
    assert_eq!(input_estimate(0), 1);
    assert_eq!(input_estimate(401), 101);
    assert_eq!(micro(0.2), 1);
    assert_eq!(micro(-1.0), 0);
}
