//! The testkit integration tests: one binary, a raw-TCP client, one module per feature.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]
#![allow(
    unreachable_pub,
    reason = "helpers shared between this binary's modules"
)]

mod client;
mod corpus;
mod faults;
mod haproxy;
mod scenarios;
mod server;
mod vectors;
