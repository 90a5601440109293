//! A fault-injecting mock upstream LLM provider that speaks OpenAI Chat Completions, OpenAI
//! Responses, Anthropic Messages and Gemini exactly as its reference vectors (`vectors`,
//! docs/protocols.md#test-vectors) show them.
//!
//! Used in-process by Rust integration tests (`MockUpstream`) and as the `mock-upstream` binary
//! by Python SDK tests and load benchmarks. It is raw tokio + httparse rather than a hyper
//! server so that every fault is byte-exact and a client closing its connection is noticed at
//! any moment, even while the mock stalls on purpose (`MockUpstream::next_abort`).
//!
//! What it answers is chosen by the requested model's name (`agent` → a model in an agent
//! loop, see [`agent`]; `parallel` → two `get_weather` calls, `tool` → one, else "Hello!");
//! how it fails is scripted by the `x-mock-fault` request header (see `fault`).
//!
//! It is also the workspace's one test-support crate, used by the other crates' integration
//! tests, benchmarks and the fuzz targets as an ordinary dependency:
//! - [`vectors`]: the reference payloads of the four protocols (plain text, so `translate`'s
//!   unit tests may read them too);
//! - [`drive`]: a stream translator driven the way the data plane's relay drives it;
//! - [`wellformed`]: is a translated stream one its caller's SDK accepts;
//! - [`translate_fuzz`]: the `translate` fuzz property;
//! - [`corpus`]: replays a fuzz seed corpus in `cargo test`, one child process per input;
//! - [`bench_streams`]: long upstream streams for the translation benchmarks;
//! - [`haproxy`]: a real HAProxy on loopback in front of N replicas (scale-out tests).

pub mod agent;
pub mod bench_streams;
mod control;
pub mod corpus;
pub mod drive;
pub mod fault;
pub mod haproxy;
mod http;
pub mod load;
pub mod otlp;
mod protocols;
mod record;
pub mod redis;
mod respond;
mod server;
pub mod translate_fuzz;
pub mod vectors;
pub mod wellformed;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use fault::FAULT_HEADER;
pub use record::Recorded;

/// A running mock server. Dropping it shuts the server and its connections down.
#[derive(Debug)]
pub struct MockUpstream {
    addr: SocketAddr,
    state: Arc<record::State>,
    task: JoinHandle<()>,
}

impl MockUpstream {
    /// Binds `127.0.0.1:0` and serves on the current tokio runtime, recording every request.
    pub async fn start() -> std::io::Result<MockUpstream> {
        MockUpstream::bind(SocketAddr::from(([127, 0, 0, 1], 0)), true).await
    }

    /// Binds `addr`. With `record: false` requests are only counted, not kept (long load runs).
    pub async fn bind(addr: SocketAddr, record: bool) -> std::io::Result<MockUpstream> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(record::State::new(record));
        let task = tokio::spawn(server::accept_loop(listener, Arc::clone(&state)));
        Ok(MockUpstream { addr, state, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every model request received so far, in arrival order (control endpoints excluded;
    /// only the newest 100,000 are kept).
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests()
    }

    /// How many model requests have been received (also counted when not recording).
    pub fn request_count(&self) -> usize {
        self.state.request_count()
    }

    /// Clears the request log, the `times=N` counters and unclaimed aborts, as
    /// `POST /_mock/reset` does.
    pub fn reset(&self) {
        self.state.reset();
    }

    /// Waits up to `timeout` for the next connection close observed while a response was in
    /// progress (stalling, streaming or dripping), returning when it happened. Aborts are
    /// queued, so one that happened before this call is returned at once.
    pub async fn next_abort(&self, timeout: Duration) -> Option<Instant> {
        self.state.next_abort(timeout).await
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}
