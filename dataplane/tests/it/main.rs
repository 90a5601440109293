//! Data plane integration tests: real `Server` on loopback in front of the in-repo mock upstream.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

mod cancel;
mod failover;
mod layering;
mod limits;
mod observe;
mod parity;
mod passthrough;
mod support;
mod translate;
