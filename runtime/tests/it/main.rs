//! Runtime integration tests: real routers started in-process through the runtime's API
//! (`daemon::prepare` → `bind` → `serve`), on loopback in front of `testkit::MockUpstream`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

mod budgets;
mod daemon;
mod ledger;
mod observe;
mod reload;
mod support;
mod tidy;
