//! Live request events: every finished model call, published to whoever watches (the TUI,
//! through the runtime's control socket `subscribe`). Built from the same
//! [`crate::usage::Entry`] the ledger gets, where the record is finished.
//!
//! The hot path pays nothing when nobody watches: one relaxed atomic load of the subscriber
//! count. With subscribers, an event is one allocation and a send on a bounded
//! `tokio::sync::broadcast` channel ([`CAPACITY`]): a reader that falls behind loses the oldest
//! events rather than slowing requests, and what it lost is counted
//! (`bitrouter_events_dropped_total`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use compiler::table::Protocol;
use tokio::sync::broadcast;

use crate::usage::{Entry, Usage};

/// Events a subscriber may fall behind by before it loses the oldest.
pub const CAPACITY: usize = 1024;

/// One finished model call, owned (an [`Entry`] borrows from the request's record).
#[derive(Clone, Debug)]
pub struct RequestEvent {
    /// When the request arrived.
    pub time: SystemTime,
    pub request_id: String,
    /// The caller's key id (`None` under `skip_auth`).
    pub key_id: Option<String>,
    /// The model as the caller wrote it.
    pub model: String,
    /// What the name resolved to.
    pub route: Option<String>,
    /// The provider that answered (the last one tried).
    pub provider: Option<String>,
    pub upstream_model: Option<String>,
    pub inbound: Protocol,
    pub outbound: Option<Protocol>,
    pub stream: bool,
    pub status: u16,
    /// `completed`, `failed`, `cancelled` or `refused`.
    pub outcome: &'static str,
    pub attempts: u32,
    pub duration: Duration,
    /// When the response head left (a stream's: with its first content).
    pub first_token: Option<Duration>,
    pub usage: Option<Usage>,
    pub cost_micro_usd: Option<f64>,
}

impl RequestEvent {
    fn from_entry(e: &Entry<'_>) -> RequestEvent {
        RequestEvent {
            time: e.time,
            request_id: e.request_id.to_owned(),
            key_id: e.key_id.map(str::to_owned),
            model: e.model.to_owned(),
            route: e.route.map(str::to_owned),
            provider: e.provider.map(str::to_owned),
            upstream_model: e.upstream_model.map(str::to_owned),
            inbound: e.inbound,
            outbound: e.outbound,
            stream: e.stream,
            status: e.status,
            outcome: e.outcome,
            attempts: e.attempts,
            duration: e.duration,
            first_token: e.time_to_first_byte,
            usage: e.usage,
            cost_micro_usd: e.cost_micro_usd,
        }
    }
}

/// The server's event channel.
#[derive(Debug)]
pub(crate) struct Events {
    tx: broadcast::Sender<Arc<RequestEvent>>,
    /// Live [`Subscription`]s; read (relaxed) on every finished request.
    subscribers: AtomicUsize,
    /// Events subscribers lost by lagging.
    dropped: AtomicU64,
}

impl Default for Events {
    fn default() -> Events {
        Events {
            tx: broadcast::Sender::new(CAPACITY),
            subscribers: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
        }
    }
}

impl Events {
    /// Whether anyone watches (the finishing path builds no entry for events otherwise).
    pub(crate) fn wanted(&self) -> bool {
        self.subscribers.load(Ordering::Relaxed) != 0
    }

    /// Publishes `entry` to every subscriber (never waits).
    pub(crate) fn publish(&self, entry: &Entry<'_>) {
        if self.wanted() {
            // `Err` only when the last receiver went away meanwhile.
            let _ = self.tx.send(Arc::new(RequestEvent::from_entry(entry)));
        }
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// A subscriber's end of the channel; see the module docs.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Arc<RequestEvent>>,
    events: Arc<Events>,
}

/// What [`Subscription::next`] yields.
#[derive(Debug)]
pub enum Next {
    Event(Arc<RequestEvent>),
    /// The subscriber fell behind and lost this many events (counted in the metric too).
    Lagged(u64),
    /// The server is gone.
    Closed,
}

impl Subscription {
    pub(crate) fn new(events: &Arc<Events>) -> Subscription {
        // Counted before subscribing, so no event published after `subscribe` returns is
        // skipped by the `wanted` check.
        events.subscribers.fetch_add(1, Ordering::Relaxed);
        Subscription {
            rx: events.tx.subscribe(),
            events: Arc::clone(events),
        }
    }

    /// The next event, waiting for one.
    pub async fn next(&mut self) -> Next {
        match self.rx.recv().await {
            Ok(e) => Next::Event(e),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                self.events.dropped.fetch_add(n, Ordering::Relaxed);
                Next::Lagged(n)
            }
            Err(broadcast::error::RecvError::Closed) => Next::Closed,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.events.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(model: &str) -> Entry<'_> {
        Entry {
            time: SystemTime::UNIX_EPOCH,
            request_id: "r1",
            key_id: Some("k"),
            model,
            route: Some(model),
            provider: Some("mock"),
            upstream_model: Some("m"),
            inbound: Protocol::ChatCompletions,
            outbound: Some(Protocol::Messages),
            stream: true,
            status: 200,
            outcome: "completed",
            attempts: 1,
            duration: Duration::from_millis(5),
            time_to_first_byte: Some(Duration::from_millis(2)),
            usage: None,
            cost_micro_usd: None,
        }
    }

    #[tokio::test]
    async fn subscribers_get_events_and_lagging_ones_are_counted() {
        let events = Arc::new(Events::default());
        assert!(!events.wanted());
        events.publish(&entry("before"));
        let mut s = Subscription::new(&events);
        assert!(events.wanted());
        events.publish(&entry("a"));
        match s.next().await {
            Next::Event(e) => {
                assert_eq!(e.model, "a");
                assert_eq!(e.provider.as_deref(), Some("mock"));
                assert_eq!(e.first_token, Some(Duration::from_millis(2)));
            }
            other => panic!("{other:?}"),
        }
        for _ in 0..CAPACITY + 10 {
            events.publish(&entry("flood"));
        }
        match s.next().await {
            Next::Lagged(n) => assert_eq!(n, 10),
            other => panic!("{other:?}"),
        }
        assert_eq!(events.dropped(), 10);
        drop(s);
        assert!(!events.wanted());
    }
}
