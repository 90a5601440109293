//! The rolling minute (by requests and by tokens, with settling) and the concurrency slots.

use super::*;

fn claimed(rpm: Option<u32>, tpm: Option<u32>, concurrency: Option<u32>) -> Claimed {
    Claimed {
        rpm,
        tpm,
        concurrency,
    }
}

#[test]
fn rpm_admits_that_many_in_any_rolling_minute() {
    let l = Window::new(3);
    let t0 = Instant::now();
    for i in 0..3 {
        assert!(l.take(t0 + Duration::from_secs(i), 1).is_ok());
    }
    let wait = l.take(t0 + Duration::from_secs(10), 1).unwrap_err();
    assert_eq!(
        wait,
        Refused::Wait(Duration::from_secs(50)),
        "until the oldest leaves the window"
    );
    assert!(l.take(t0 + Duration::from_secs(59), 1).is_err());
    assert!(
        l.take(t0 + Duration::from_secs(60), 1).is_ok(),
        "the first one left"
    );
    assert!(l.take(t0 + Duration::from_secs(60), 1).is_err());
}

#[test]
fn tokens_fit_by_weight_and_wait_for_enough_of_the_window_to_leave() {
    let w = Window::new(1000);
    let t0 = Instant::now();
    let at = |s| t0 + Duration::from_secs(s);
    w.take(at(0), 300).unwrap();
    w.take(at(5), 300).unwrap();
    w.take(at(10), 300).unwrap();
    assert_eq!(w.used(at(10)), 900);
    assert!(w.take(at(11), 100).is_ok(), "exactly the limit fits");
    // 500 more need the first two buckets (600) gone: the second leaves at 65.
    assert_eq!(
        w.take(at(20), 500),
        Err(Refused::Wait(Duration::from_secs(45)))
    );
    // 300 need only the first (300): at 60.
    assert_eq!(
        w.take(at(20), 300),
        Err(Refused::Wait(Duration::from_secs(40)))
    );
    assert_eq!(w.take(at(20), 1001), Err(Refused::TooLarge));
    assert_eq!(w.used(at(20)), 1000, "a refusal takes nothing");
    assert!(w.take(at(60), 300).is_ok());
    assert_eq!(w.used(at(60)), 1000);
}

#[test]
fn settling_corrects_the_second_it_was_taken_in() {
    let w = Window::new(1000);
    let t0 = Instant::now();
    let at = |s| t0 + Duration::from_secs(s);
    let a = w.take(at(0), 800).unwrap();
    assert!(w.take(at(1), 300).is_err());
    // It used 50: 750 come back.
    w.adjust(a, -750);
    assert_eq!(w.used(at(1)), 50);
    let b = w.take(at(1), 900).unwrap();
    // One that used more than it reserved counts what it used.
    w.adjust(b, 200);
    assert_eq!(w.used(at(2)), 1150);
    assert!(w.take(at(2), 1).is_err());
    // Never below zero; and a correction to a second that has left the window counts for
    // nothing.
    w.adjust(a, -10_000);
    assert_eq!(w.used(at(2)), 1100);
    let c = w.take(at(70), 500).unwrap();
    w.adjust(b, -900);
    assert_eq!(w.used(at(70)), 500);
    w.adjust(c, 0);
    assert_eq!(w.used(at(70)), 500);
}

#[test]
fn concurrency_slots_are_given_back_on_drop() {
    let limits = RateLimits::default();
    let l = limits.get("j", claimed(None, None, Some(3)));
    let held: Vec<Slot> = (0..3).map(|_| l.acquire().unwrap()).collect();
    assert_eq!(l.in_flight(), 3);
    assert!(l.acquire().is_none(), "the fourth waits");
    assert_eq!(l.in_flight(), 3, "a refusal holds nothing");
    drop(held);
    assert_eq!(l.in_flight(), 0);
    let again: Vec<Slot> = (0..3).map(|_| l.acquire().unwrap()).collect();
    assert!(l.acquire().is_none());
    drop(again);
    // Without a claim there is nothing to count.
    let free = limits.get("k", claimed(Some(5), None, None));
    let s: Vec<Slot> = (0..100).map(|_| free.acquire().unwrap()).collect();
    assert_eq!(free.in_flight(), 0);
    drop(s);
}

#[test]
fn concurrent_acquires_never_overshoot() {
    let limits = RateLimits::default();
    let l = limits.get("j", claimed(None, None, Some(5)));
    let got = std::sync::atomic::AtomicU32::new(0);
    let all_tried = std::sync::Barrier::new(8);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let mut mine = Vec::new();
                for _ in 0..100 {
                    if let Some(slot) = l.acquire() {
                        mine.push(slot);
                    }
                }
                got.fetch_add(mine.len() as u32, Ordering::Relaxed);
                // Held until every thread has tried.
                all_tried.wait();
            });
        }
    });
    assert_eq!(got.load(Ordering::Relaxed), 5);
    assert_eq!(l.in_flight(), 0);
}

#[test]
fn limits_survive_a_new_gate_for_the_same_token_id() {
    let limits = RateLimits::default();
    let c = claimed(Some(5), Some(100), Some(2));
    let a = limits.get("j", c);
    let b = limits.get("j", c);
    assert!(Arc::ptr_eq(&a, &b));
    assert!(
        !Arc::ptr_eq(&a, &limits.get("j", claimed(Some(6), Some(100), Some(2)))),
        "a new rate is a new limit"
    );
}
