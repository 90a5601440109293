//! Lookup time on the large table (1,000 providers, 10,000 declared models, 1,000 virtual
//! models) for every model-name form, hop iteration, `HopRef::protocols()` / `url()`, a whole
//! request's routing work, and the error paths; prints allocations per call before timing.
//!
//! `cargo bench -p benches --bench lookup`

use std::hint::black_box;
use std::time::Duration;

use benches::alloc::{self, CountingAlloc};
use benches::cases::{Case, cases, long_unknown_name};
use criterion::{Criterion, criterion_group};

// Counting costs one relaxed atomic add and a TLS add per allocation; the hot-path cases make
// none, so their timings are unaffected.
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[allow(
    clippy::print_stderr,
    reason = "the bench's report: allocations per call next to criterion's output"
)]
fn report_allocations(cases: &[Case<'_>]) {
    eprintln!("allocations per call (counting global allocator):");
    for case in cases {
        // Counts are deterministic; one call of a slow error path is enough.
        let calls = 1_000;
        (case.run)();
        let ((), n) = alloc::count(|| {
            for _ in 0..calls {
                (case.run)();
            }
        });
        eprintln!("  {:<32} {:>10.1}", case.label, n as f64 / f64::from(calls));
    }
}

fn lookup(c: &mut Criterion) {
    let large = benches::large();
    let table = large.fixture.table();
    let long = long_unknown_name();
    let cases = cases(&table, &large.names, &long);
    report_allocations(&cases);

    let mut fast = c.benchmark_group("lookup");
    fast.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for case in &cases {
        fast.bench_function(&case.label, |b| b.iter(&case.run));
    }
    fast.finish();

    // "Did you mean" is a separate call (`RoutingTable::suggest`): it compares against every
    // routable name, so it is timed on its own, with few samples.
    let mut slow = c.benchmark_group("suggest");
    slow.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for (label, name) in [("unknown", &*large.names.unknown), ("unknown-1KiB", &*long)] {
        slow.bench_function(label, |b| {
            b.iter(|| black_box(table.suggest(black_box(name))))
        });
    }
    slow.finish();
}

criterion_group!(benches, lookup);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
