//! Breaker state transitions, tickets, and the registry across reloads.

use super::*;

const COOL: Duration = Duration::from_secs(30);
const POLICY: Policy = Policy {
    threshold: 3,
    cooldown: COOL,
};

#[test]
fn opens_after_threshold_then_admits_one_probe() {
    let b = Breaker::new();
    let t0 = Instant::now();
    for _ in 0..2 {
        b.failure(t0, POLICY, None);
        assert_eq!(b.admit(t0), Admission::Yes);
    }
    b.failure(t0, POLICY, None);
    assert!(matches!(b.admit(t0), Admission::No(_)));
    let later = t0 + COOL + Duration::from_millis(1);
    assert_eq!(b.admit(later), Admission::Probe);
    assert!(matches!(b.admit(later), Admission::No(_)), "one probe only");
    b.success();
    assert_eq!(b.admit(later), Admission::Yes);
}

#[test]
fn failed_probe_reopens() {
    let b = Breaker::new();
    let t0 = Instant::now();
    let one = Policy {
        threshold: 1,
        ..POLICY
    };
    b.failure(t0, one, None);
    let later = t0 + COOL * 2;
    assert_eq!(b.admit(later), Admission::Probe);
    b.failure(later, one, None);
    assert!(matches!(
        b.admit(later + Duration::from_secs(1)),
        Admission::No(_)
    ));
}

#[test]
fn a_ticket_dropped_without_an_outcome_frees_the_probe_and_records_nothing() {
    let b = Arc::new(Breaker::new());
    let one = Policy {
        threshold: 1,
        ..POLICY
    };
    b.failure(Instant::now(), one, None);
    let later = Instant::now() + COOL * 2;
    let t = Ticket::admit(Some(&b), one, later).unwrap();
    assert!(t.probe);
    assert!(
        Ticket::admit(Some(&b), one, later).is_err(),
        "one probe only"
    );
    drop(t);
    // Still open (nothing recorded), and the probe slot is free again.
    assert_eq!(b.admit(later), Admission::Probe);
}

#[test]
fn a_ticket_records_exactly_its_outcome() {
    let b = Arc::new(Breaker::new());
    let now = Instant::now();
    for _ in 0..3 {
        Ticket::admit(Some(&b), POLICY, now).unwrap().record(
            Outcome::Failure { retry_after: None },
            AttemptResult::ServerError,
        );
    }
    assert!(Ticket::admit(Some(&b), POLICY, Instant::now()).is_err());
    let c = Arc::new(Breaker::new());
    Ticket::admit(Some(&c), POLICY, now)
        .unwrap()
        .record(Outcome::Success, AttemptResult::Ok);
    assert_eq!(c.admit(now), Admission::Yes);
    // No breaker: always admitted, nothing to record.
    Ticket::admit(None, POLICY, now).unwrap().record(
        Outcome::Failure { retry_after: None },
        AttemptResult::ServerError,
    );
}

#[test]
fn retry_after_opens_even_below_threshold() {
    let b = Breaker::new();
    let t0 = Instant::now();
    b.failure(t0, POLICY, Some(Duration::from_secs(2)));
    match b.admit(t0 + Duration::from_secs(1)) {
        Admission::No(w) => assert!(w <= Duration::from_secs(1) && w > Duration::from_millis(900)),
        other => panic!("{other:?}"),
    }
    assert_eq!(b.admit(t0 + Duration::from_secs(3)), Admission::Probe);
}

#[test]
fn keys_differ_by_model() {
    assert_ne!(EndpointKey::new("p", "a"), EndpointKey::new("p", "b"));
}

#[test]
fn the_registry_keeps_state_by_name_and_forgets_what_nothing_uses() {
    let r = Breakers::default();
    let k = EndpointKey::new("p", "m");
    let a = r.get_or_insert(k);
    assert!(
        Arc::ptr_eq(&a, &r.get_or_insert(k)),
        "a reload gets the same state"
    );
    r.prune(|_| false);
    assert_eq!(r.len(), 1, "still referenced");
    drop(a);
    r.prune(|key| *key == k);
    assert_eq!(r.len(), 1, "kept by name");
    r.prune(|_| false);
    assert_eq!(r.len(), 0);
}

#[test]
fn undeclared_endpoints_are_capped() {
    let r = Breakers::default();
    let held: Vec<_> = (0..MAX_UNDECLARED)
        .map(|i| r.undeclared(EndpointKey::new("p", &i.to_string())).unwrap())
        .collect();
    assert!(r.undeclared(EndpointKey::new("p", "one more")).is_none());
    assert!(
        r.undeclared(EndpointKey::new("p", "0")).is_some(),
        "known ones still work"
    );
    drop(held);
}
