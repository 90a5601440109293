//! Lookups on the large table allocate nothing: every name form, hop iteration, and
//! `HopRef::protocols()` / `url()`. Error paths (an unknown model or preset) allocate nothing either.
//!
//! `cargo test -p benches --test alloc -- --nocapture` prints the counts.

use std::sync::OnceLock;

use benches::alloc::{self, CountingAlloc};
use benches::cases::{cases, long_unknown_name};
use benches::{Large, large};
use compiler::RoutingTable;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const CALLS: u64 = 1_000;

fn fixture() -> &'static (Large, RoutingTable, String) {
    static F: OnceLock<(Large, RoutingTable, String)> = OnceLock::new();
    F.get_or_init(|| {
        let l = large();
        let table = l.fixture.table();
        (l, table, long_unknown_name())
    })
}

#[test]
fn the_counting_allocator_is_installed() {
    assert!(alloc::is_installed());
    let ((), n) = alloc::count(|| drop(std::hint::black_box(vec![0u8; 16])));
    assert_eq!(n, 1);
}

#[test]
fn lookups_do_not_allocate() {
    let (l, table, long) = fixture();
    let mut failures = Vec::new();
    println!("allocations per call, large table ({CALLS} calls each):");
    let cases = cases(table, &l.names, long);
    assert!(cases.len() >= 8, "only {} lookup cases", cases.len());
    for case in cases {
        let calls = CALLS;
        (case.run)(); // Warm-up: anything lazily initialised is not the lookup's cost.
        let ((), n) = alloc::count(|| {
            for _ in 0..calls {
                (case.run)();
            }
        });
        let per_call = n as f64 / calls as f64;
        println!(
            "  {:<32} {per_call:>10.1}  ({})",
            case.label,
            case.name.get(..40).unwrap_or(case.name)
        );
        if n != 0 {
            failures.push(format!(
                "{} (`{}`): {per_call} allocations per call",
                case.label, case.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "lookups that allocate:\n{}",
        failures.join("\n")
    );
}

/// A caller whose token was verified once costs no allocation on later requests: the gate's
/// cache hit (hash, read lock, whole-token comparison, an `Arc` clone); so do its token's
/// own limits on this replica (`rpm`, `concurrency`, `tpm`).
#[test]
fn a_cached_token_check_does_not_allocate() {
    use std::time::{SystemTime, UNIX_EPOCH};
    let key = auth::AccountKey::generate().unwrap();
    let mut trust = auth::Trust::new(365 * 86_400);
    trust.trust(key.public());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = auth::Claims {
        iss: key.public().id(),
        jti: "alloc".into(),
        iat: now,
        exp: Some(now + 3600),
        nbf: None,
        scope: Some(auth::Scope::Api),
        name: None,
        models: Some(vec!["*".into()]),
        budget: None,
        budget_window: None,
        rpm: Some(1_000_000),
        tpm: Some(u32::MAX),
        concurrency: Some(8),
    };
    let token = auth::mint(&key, &claims);
    let gate = dataplane::bench::Gate::new(&trust);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "authorization",
        http::HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    let (first, n_first) = alloc::count(|| gate.admit(&headers));
    assert!(first);
    let (all, n) = alloc::count(|| (0..CALLS).all(|_| gate.admit(&headers)));
    assert!(all);
    println!(
        "auth: first verification {n_first} allocations; cached hit {} per call",
        n as f64 / CALLS as f64
    );
    assert!(
        n_first > 0,
        "the first check does the work (and so the count sees it)"
    );
    assert_eq!(n, 0, "{n} allocations in {CALLS} cached checks");
    // The token's `rpm`, `concurrency` and `tpm` on this replica, taken and given back.
    let (all, n) = alloc::count(|| (0..CALLS).all(|_| gate.admit_limited(&headers, 1000)));
    assert!(all);
    println!(
        "limits: rpm + concurrency + tpm {} allocations per call",
        n as f64 / CALLS as f64
    );
    assert_eq!(n, 0, "{n} allocations in {CALLS} limited admissions");
}
