//! Data plane integration tests: real `Server` on loopback in front of the in-repo mock upstream.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

mod auth;
mod auxiliary;
mod budgets;
mod cancel;
mod failover;
mod guardrails;
mod hygiene;
mod key_limits;
mod layering;
mod limits;
mod nagle;
mod observe;
mod parity;
mod passthrough;
mod support;
mod translate;
