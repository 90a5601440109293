//! The data plane: an HTTP server that routes LLM API calls through the current routing table.
//!
//! Life of a request:
//! 1. [`server`] accepts the connection (HTTP/1.1 or HTTP/2) with header limits and a header
//!    read timeout; the handler checks the in-flight limit.
//! 2. [`endpoint`] maps method + path to the caller's protocol (its error shape from here on).
//! 3. `handler` authenticates, reads the body up to the size limit, and [`request`] validates it
//!    with simd-json and reads the model and `stream`.
//! 4. The table is loaded once ([`TableHandle`]); `route()` resolves the model to a chain.
//! 5. `failover` tries endpoints in order, skipping open breakers ([`breaker`]); [`upstream`]
//!    builds each call (auth, headers, URL) on a pooled rustls client. An endpoint that does
//!    not speak the caller's protocol gets the request translated by the `translate` crate.
//! 6. A non-streaming answer is read whole and checked; a stream goes through a [`relay`],
//!    which holds lifecycle frames until the first content event (the commit point). Before
//!    it, any failure moves to the next endpoint; after it, a failure ends the stream with the
//!    caller protocol's terminal error frame. Translated answers and streams are rewritten
//!    into the caller's protocol on the way.
//! 7. Dropping the response (client gone) drops the upstream call: no detached work remains.

mod attempt;
mod auxiliary;
#[doc(hidden)]
pub mod bench;
mod body;
mod breaker;
mod budget;
mod client;
mod endpoint;
mod error;
pub mod events;
mod failover;
#[doc(hidden)]
pub mod fuzzing;
mod gate;
mod handler;
mod hygiene;
mod limits;
mod metrics;
mod prepared;
mod record;
mod relay;
mod request;
mod respond;
mod screen;
mod server;
mod shared;
pub mod spend;
mod table_handle;
pub mod trace;
mod upstream;
pub mod usage;

use translate::{json, sse};

pub use auth::Trust;
pub use metrics::{AuthFailure, Metrics, ReloadResult, Totals};
/// Histogram bucket bounds, the same for `/metrics` and OTLP.
pub mod buckets {
    pub use crate::metrics::{
        DURATION_BUCKETS, OVERHEAD_BUCKETS, TOKEN_BUCKETS, TPOT_BUCKETS, TTFT_BUCKETS,
    };
}
pub use breaker::BreakerState;
pub use prepared::LoadedTable;
pub use respond::Dropped;
pub use server::{Endpoint, Server, Stop};
