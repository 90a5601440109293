//! translate's integration tests, one binary (the stream driver, the well-formedness checker
//! and the fuzz property come from `testkit`):
//! - `golden`: every fixture under `tests/golden/` against its expected outputs;
//! - `resplit`: chunk boundaries, line endings and filler never change a translation;
//! - `wellformed`: the checker itself, every golden stream output, and the `translate` fuzz
//!   corpus.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "test harness: a broken fixture should fail loudly"
)]

mod fixtures;
mod golden;
mod resplit;
mod screen;
mod wellformed;
