//! Runtime integration tests: real routers in-process on loopback.
