//! The Lua scripts' semantics against a real Redis (`testkit::redis`, one server per test):
//! the UTC calendar agrees with `auth::BudgetWindow`, the rolling minute rolls, a budget's
//! window rolls over, reserve is all-or-nothing, settle corrects to the actual cost, and an
//! unsettled reservation's lease expires; concurrency slots are taken under the limit, given
//! back and expire; tokens fit in their minute and settle in their second; both follow
//! `on_store_error`.

use std::sync::Arc;
use std::time::Duration;

use compiler::table::{LimitStore, Secret};
use redis::AsyncCommands;

use super::*;
use crate::spend::{Source, Spend};

fn store(url: &str, lease_ms: u64) -> Arc<SharedStore> {
    let mut s = SharedStore::new(
        &LimitStore {
            url: Secret::new(url),
            fail_open: false,
            timeout: Duration::from_secs(2),
        },
        Arc::new(Metrics::default()),
    );
    s.lease_ms = lease_ms;
    Arc::new(s)
}

async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

fn budget(spend: &Spend, key: &str, window: BudgetWindow, limit: u64) -> Budget {
    Budget::new(spend, Source::Config, key, window, limit)
}

/// The running server, or `None` (the test skips) when there is no binary.
fn server() -> Option<testkit::redis::RedisServer> {
    Some(testkit::redis::RedisServer::start()?.expect("redis-server starts"))
}

#[tokio::test]
async fn the_scripts_calendar_is_auth_s() {
    let Some(r) = server() else { return };
    let mut c = raw(&r.url()).await;
    let probe = Script::new(concat!(
        include_str!("../common.lua"),
        "return {window(ARGV[1], tonumber(ARGV[2]))}"
    ));
    // Every ~13.7 days over 1970..2100, plus month and year edges.
    let mut times: Vec<i64> = (0..3500).map(|i| i * 1_183_211).collect();
    for (y, m) in [
        (2024, 2),
        (2024, 3),
        (2025, 12),
        (2026, 1),
        (2000, 2),
        (2100, 3),
    ] {
        let t = auth::days_from_civil(y, m, 1) * 86_400;
        times.extend([t - 1, t, t + 1]);
    }
    for t in times {
        for w in [BudgetWindow::Day, BudgetWindow::Month, BudgetWindow::Total] {
            let (start, end): (i64, i64) = probe
                .arg(w.as_str())
                .arg(t)
                .invoke_async(&mut c)
                .await
                .unwrap();
            assert_eq!(start, w.start(t), "{w:?} {t}");
            assert_eq!(end, w.end(w.start(t)).unwrap_or(-1), "{w:?} {t}");
        }
    }
}

#[tokio::test]
async fn the_rolling_minute_admits_its_limit_and_rolls() {
    let Some(r) = server() else { return };
    let s = store(&r.url(), LEASE_MS);
    let key = "bitrouter:{t1}:rpm";
    let call = |id: &str| {
        let mut inv = RPM.prepare_invoke();
        inv.key(key).arg(3).arg(id);
        inv
    };
    for i in 0..3 {
        let (ok, _): (i64, i64) = s.run(&call(&format!("a{i}"))).await.unwrap();
        assert_eq!(ok, 1);
    }
    let (ok, wait): (i64, i64) = s.run(&call("a3")).await.unwrap();
    assert_eq!(ok, 0);
    assert!((59_000..=60_000).contains(&wait), "{wait}");
    // Age the log: entries older than a minute leave it, and the next one is admitted.
    let mut c = raw(&r.url()).await;
    let (secs, _): (i64, i64) = redis::cmd("TIME").query_async(&mut c).await.unwrap();
    let old = (secs - 61) * 1000;
    let _: () = c.del(key).await.unwrap();
    let _: () = c.zadd(key, "o1", old).await.unwrap();
    let _: () = c.zadd(key, "o2", old).await.unwrap();
    let _: () = c.zadd(key, "n1", secs * 1000).await.unwrap();
    let (ok, _): (i64, i64) = s.run(&call("b1")).await.unwrap();
    assert_eq!(ok, 1);
    let (ok, _): (i64, i64) = s.run(&call("b2")).await.unwrap();
    assert_eq!(ok, 1);
    let (ok, _): (i64, i64) = s.run(&call("b3")).await.unwrap();
    assert_eq!(ok, 0);
    let n: i64 = c.zcard(key).await.unwrap();
    assert_eq!(n, 3);
}

#[tokio::test]
async fn reserve_is_all_or_nothing_and_settle_charges_the_actual_cost() {
    let Some(r) = server() else { return };
    let s = store(&r.url(), LEASE_MS);
    let spend = Spend::default();
    let budgets = [
        budget(&spend, "k", BudgetWindow::Day, 1000),
        budget(&spend, "k", BudgetWindow::Total, 300),
    ];
    let a = s.reserve(&budgets, 200).await.unwrap();
    // 200 + 200 > 300 on `total`: refused, and `day` keeps only the first reservation.
    let e = s.reserve(&budgets, 200).await.unwrap_err();
    assert_eq!(e.status().as_u16(), 429);
    assert_eq!(e.retry_after, None, "total never resets");
    let day = s.counters("k", BudgetWindow::Day).await.unwrap();
    assert_eq!((day.spent, day.reserved), (0, 200));
    // Settled at 50: the difference is free again.
    let mut a = a;
    a.settle(Some(50.0));
    drop(a);
    let mut total = spend::Counters {
        window_start: 0,
        spent: 0,
        reserved: 1,
    };
    for _ in 0..100 {
        total = s.counters("k", BudgetWindow::Total).await.unwrap();
        if total.reserved == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!((total.spent, total.reserved), (50, 0));
    let b = s.reserve(&budgets, 250).await.unwrap();
    drop(b); // released: charged nothing
    tokio::time::sleep(Duration::from_millis(100)).await;
    let day = s.counters("k", BudgetWindow::Day).await.unwrap();
    assert_eq!((day.spent, day.reserved), (50, 0));
    // A seed only raises.
    let seed = |micro_usd| spend::Seed {
        key_id: "k".into(),
        window: BudgetWindow::Day,
        window_start: day.window_start,
        micro_usd,
    };
    s.seed(&seed(40)).await.unwrap();
    assert_eq!(s.counters("k", BudgetWindow::Day).await.unwrap().spent, 50);
    s.seed(&seed(70)).await.unwrap();
    assert_eq!(s.counters("k", BudgetWindow::Day).await.unwrap().spent, 70);
}

#[tokio::test]
async fn a_new_window_starts_from_zero_and_keeps_reservations() {
    let Some(r) = server() else { return };
    let s = store(&r.url(), LEASE_MS);
    let spend = Spend::default();
    let budgets = [budget(&spend, "roll", BudgetWindow::Day, 100)];
    let held = s.reserve(&budgets, 30).await.unwrap();
    let mut c = raw(&r.url()).await;
    let state = state_key("roll", BudgetWindow::Day);
    // Yesterday's window, spent up.
    let start: i64 = c.hget(&state, "start").await.unwrap();
    let _: () = c
        .hset_multiple(&state, &[("start", start - 86_400), ("spent", 100)])
        .await
        .unwrap();
    // Today: spent is 0 again, the 30 reserved still count.
    let ok = s.reserve(&budgets, 70).await.unwrap();
    let e = s.reserve(&budgets, 1).await.unwrap_err();
    assert_eq!(e.status().as_u16(), 429);
    let w = e.retry_after.unwrap().as_secs();
    assert!((1..=86_400).contains(&w), "{w}");
    let now = s.counters("roll", BudgetWindow::Day).await.unwrap();
    assert_eq!((now.window_start, now.spent, now.reserved), (start, 0, 100));
    drop((held, ok));
}

#[tokio::test]
async fn an_unsettled_reservation_expires_with_its_lease() {
    let Some(r) = server() else { return };
    let s = store(&r.url(), 300);
    let spend = Spend::default();
    let budgets = [budget(&spend, "lease", BudgetWindow::Month, 100)];
    let held = s.reserve(&budgets, 100).await.unwrap();
    // Never settled (a replica that died): the memory of it is gone, the store still holds it.
    std::mem::forget(held);
    assert_eq!(
        s.reserve(&budgets, 1).await.unwrap_err().status().as_u16(),
        429
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let c = s.counters("lease", BudgetWindow::Month).await.unwrap();
    assert_eq!((c.spent, c.reserved), (0, 0));
    let again = s.reserve(&budgets, 100).await.unwrap();
    drop(again);
}

#[tokio::test]
async fn a_store_that_is_away_is_counted_and_follows_the_policy() {
    let Some(mut r) = server() else { return };
    let url = r.url();
    r.kill();
    let metrics = Arc::new(Metrics::default());
    for fail_open in [false, true] {
        let s = SharedStore::new(
            &LimitStore {
                url: Secret::new(url.as_str()),
                fail_open,
                timeout: Duration::from_millis(100),
            },
            Arc::clone(&metrics),
        );
        let s = Arc::new(s);
        let spend = Spend::default();
        let budgets = [budget(&spend, "away", BudgetWindow::Day, 100)];
        let started = std::time::Instant::now();
        let r = s.reserve(&budgets, 1).await;
        assert!(started.elapsed() < Duration::from_secs(1), "bounded");
        if fail_open {
            drop(r.unwrap());
        } else {
            let e = r.unwrap_err();
            assert_eq!(e.status().as_u16(), 503);
        }
    }
    let n = |a: StoreAction| metrics.limit_store_errors[a as usize].load(Ordering::Relaxed);
    assert_eq!((n(StoreAction::Refused), n(StoreAction::Admitted)), (1, 1));
}

#[tokio::test]
async fn concurrency_slots_are_taken_under_the_limit_given_back_and_expire() {
    let Some(r) = server() else { return };
    let with_lease = |ms| {
        let mut s = SharedStore::new(
            &LimitStore {
                url: Secret::new(r.url()),
                fail_open: false,
                timeout: Duration::from_secs(2),
            },
            Arc::new(Metrics::default()),
        );
        s.slot_lease_ms = ms;
        Arc::new(s)
    };
    let s = with_lease(SLOT_LEASE_MS);
    let key = "bitrouter:{c1}:inflight";
    let mut c = raw(&r.url()).await;
    let held: Vec<SharedSlot> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(s.acquire("c1", 3).await.unwrap().unwrap());
        }
        v
    };
    let e = s.acquire("c1", 3).await.unwrap_err();
    assert_eq!(e.status().as_u16(), 429);
    assert!(
        e.message.contains("already has 3 requests in flight"),
        "{}",
        e.message
    );
    let n: i64 = c.zcard(key).await.unwrap();
    assert_eq!(n, 3, "a refusal adds nothing");
    // Given back on drop, on a task of its own.
    drop(held);
    let mut n = -1;
    for _ in 0..100 {
        n = c.zcard(key).await.unwrap();
        if n == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(n, 0);
    // A replica that died holding two slots: they expire with their lease, while a live one
    // (taken later, with a longer lease) stays.
    let short = with_lease(300);
    for _ in 0..2 {
        std::mem::forget(short.acquire("c1", 3).await.unwrap().unwrap());
    }
    let live = s.acquire("c1", 3).await.unwrap().unwrap();
    assert!(s.acquire("c1", 3).await.is_err());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = s.acquire("c1", 3).await.unwrap().unwrap();
    let n: i64 = c.zcard(key).await.unwrap();
    assert_eq!(n, 2, "the expired leases left, the live one stayed");
    drop((live, again));
}

#[tokio::test]
async fn tokens_fit_in_the_minute_wait_for_it_and_settle_in_their_second() {
    let Some(r) = server() else { return };
    let s = store(&r.url(), LEASE_MS);
    let key = "bitrouter:{t2}:tpm";
    let mut c = raw(&r.url()).await;
    let a = s.take_tokens("t2", 1000, 600).await.unwrap().unwrap();
    let e = s.take_tokens("t2", 1000, 600).await.unwrap_err();
    assert_eq!(e.status().as_u16(), 429);
    let w = e.retry_after.unwrap().as_secs();
    assert!((59..=60).contains(&w), "{w}");
    // Larger than the whole limit: final, no Retry-After, and no call to the store.
    let e = s.take_tokens("t2", 1000, 1001).await.unwrap_err();
    assert_eq!((e.retry_after, e.final_answer), (None, true));
    // It used 100: 500 come back, so 900 fit now, and nothing more.
    a.settle(100);
    let mut sum = 0;
    for _ in 0..100 {
        let h: std::collections::HashMap<String, i64> = c.hgetall(key).await.unwrap();
        sum = h.values().sum();
        if sum == 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sum, 100);
    let b = s.take_tokens("t2", 1000, 900).await.unwrap().unwrap();
    assert!(s.take_tokens("t2", 1000, 1).await.is_err());
    // Settling never takes a bucket below zero.
    b.settle(0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let settle = |second: i64, d: i64| {
        let mut inv = TPM_SETTLE.prepare_invoke();
        inv.key(key).arg(second).arg(d);
        inv
    };
    let (secs, _): (i64, i64) = redis::cmd("TIME").query_async(&mut c).await.unwrap();
    let h: std::collections::HashMap<String, i64> = c.hgetall(key).await.unwrap();
    assert!(h.values().all(|v| *v >= 0), "{h:?}");
    // A second the hash does not hold (it left the window) is not corrected.
    let n: i64 = s.run(&settle(secs - 3600, 50)).await.unwrap();
    assert_eq!(n, 0);
    // The window rolls: buckets older than a minute leave and stop counting.
    let _: () = c.del(key).await.unwrap();
    let _: () = c.hset(key, secs - 61, 900).await.unwrap();
    let _: () = c.hset(key, secs - 30, 400).await.unwrap();
    let _: () = c.hset(key, secs - 10, 400).await.unwrap();
    // 400 + 400 + 300 > 1000: enough leaves when the older 400 does, in about 30 s.
    let e = s.take_tokens("t2", 1000, 300).await.unwrap_err();
    let w = e.retry_after.unwrap().as_secs();
    assert!((29..=31).contains(&w), "{w}");
    let gone: bool = c.hexists(key, secs - 61).await.unwrap();
    assert!(!gone, "the old second was dropped");
    assert!(s.take_tokens("t2", 1000, 200).await.unwrap().is_some());
}

#[tokio::test]
async fn the_new_limits_follow_on_store_error() {
    let Some(mut r) = server() else { return };
    let url = r.url();
    r.kill();
    let metrics = Arc::new(Metrics::default());
    for fail_open in [false, true] {
        let s = Arc::new(SharedStore::new(
            &LimitStore {
                url: Secret::new(url.as_str()),
                fail_open,
                timeout: Duration::from_millis(100),
            },
            Arc::clone(&metrics),
        ));
        let slot = s.acquire("away", 3).await;
        let tokens = s.take_tokens("away", 1000, 10).await;
        if fail_open {
            assert!(slot.unwrap().is_none(), "admitted without a slot");
            assert!(tokens.unwrap().is_none());
        } else {
            let e = slot.unwrap_err();
            assert_eq!(e.status().as_u16(), 503);
            assert_eq!(e.code, Some("limit_store_unavailable"));
            assert_eq!(tokens.unwrap_err().status().as_u16(), 503);
        }
    }
    let n = |a: StoreAction| metrics.limit_store_errors[a as usize].load(Ordering::Relaxed);
    assert_eq!((n(StoreAction::Refused), n(StoreAction::Admitted)), (2, 2));
}
