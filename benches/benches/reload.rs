//! Reload latency: what the daemon does on `reload` — a strict compile off the hot path, then
//! `Server::publish` (prepare the table, one ArcSwap store) — for the reload test's two small
//! configs (alternating, so every publish changes the route) and for the generated large one
//! (1,000 providers, 10,000 declared models, 1,000 virtual models). No requests in flight; the
//! figures under load come from `cargo run --release -p benches --example reload_latency`.
//!
//! `cargo bench -p benches --bench reload`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use dataplane::Server;

fn reload(c: &mut Criterion) {
    let pair = benches::reload::pair("http://127.0.0.1:9", "");
    let large = benches::large();
    let server = Server::new(pair[0].table());

    let mut g = c.benchmark_group("reload");
    let mut next = 0;
    g.bench_function("small_compile_publish", |b| {
        b.iter(|| {
            next = 1 - next;
            let table = pair[next].table();
            server.publish(black_box(table));
        })
    });
    g.bench_function("small_publish_only", |b| {
        b.iter_batched(
            || {
                next = 1 - next;
                pair[next].table()
            },
            |table| server.publish(table),
            criterion::BatchSize::SmallInput,
        )
    });
    // One iteration takes tens of milliseconds: fewer samples keep the run short.
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("large_compile_publish", |b| {
        b.iter(|| server.publish(black_box(large.fixture.table())))
    });
    g.bench_function("large_publish_only", |b| {
        b.iter_batched(
            || large.fixture.table(),
            |table| server.publish(table),
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, reload);
criterion_main!(benches);
