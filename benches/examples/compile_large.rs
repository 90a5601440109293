//! Compiles the generated large configuration N times (default 1): a fixed workload for
//! profilers that count instructions (`valgrind --tool=callgrind`) rather than time.

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    let large = benches::large::generate(benches::large::LargeSpec::DEFAULT);
    for _ in 0..n {
        let table = large.fixture.table();
        std::hint::black_box(&table);
    }
}
