//! Compile time of `bitrouter.yaml` → `RoutingTable`: the self-host guide's config and the
//! generated large one (1,000 providers, 10,000 declared models, 1,000 virtual models), strict
//! mode, reported per byte of YAML; and the YAML step of the large one with each reader
//! (`yaml/large/events`, what `compile` uses, against `yaml/large/serde-saphyr`).
//!
//! `cargo bench -p benches --bench compile`

use std::hint::black_box;
use std::time::Duration;

use compiler::syntax::{Reader, read_with};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn compile(c: &mut Criterion) {
    let small = benches::small();
    let large = benches::large();
    for f in [&small, &large.fixture] {
        if let Err(d) = f.compile() {
            panic!("{} does not compile:\n{}", f.source.name(), f.render(&d));
        }
    }

    let mut g = c.benchmark_group("compile");
    g.throughput(Throughput::Bytes(small.len() as u64));
    g.bench_function("small", |b| b.iter(|| black_box(&small).compile()));

    // One iteration takes tens of milliseconds: fewer samples keep the run short.
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Bytes(large.fixture.len() as u64));
    g.bench_function("large", |b| b.iter(|| black_box(&large.fixture).compile()));
    g.finish();

    // The YAML step alone, both readers on the same text in the same run: the tree built from
    // the parser's events (what `compile` uses) and serde-saphyr's (the reference it is tested
    // against, and the reader for anchors, merge keys, tags and errors).
    let mut g = c.benchmark_group("yaml");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Bytes(large.fixture.len() as u64));
    for (name, reader) in [
        ("large/events", Reader::Events),
        ("large/serde-saphyr", Reader::SerdeSaphyr),
    ] {
        assert!(read_with(&large.fixture.source, reader), "{name} fails");
        g.bench_function(name, |b| {
            b.iter(|| read_with(black_box(&large.fixture.source), reader))
        });
    }
    g.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
