//! What the mock saw: the request log, the `times=N` fault counters and the queue of client aborts.
//!
//! All of it sits behind one `Arc<State>` shared by the accept loop, every connection and the
//! `MockUpstream` handle. Locks are held only to push or copy, never across an `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::Notify;

/// One request as the mock received it (control endpoints are not recorded).
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `POST`, `GET`, ...
    pub method: String,
    /// The request target as sent, query string included
    /// (`/v1beta/models/m:streamGenerateContent?alt=sse`).
    pub path: String,
    /// Header names lowercased, values as sent (lossy UTF-8), in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Bytes,
    /// When the whole request (head and body) had been read.
    pub received_at: Instant,
}

impl Recorded {
    /// The first header with this name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// The request log keeps the newest this many requests, so a long load run against a recording
/// mock stays bounded in memory (`request_count` still counts every request).
pub(crate) const MAX_RECORDS: usize = 100_000;

/// Shared state of one mock server.
#[derive(Debug)]
pub(crate) struct State {
    /// Whether request heads and bodies are kept (off for long load runs).
    record: bool,
    count: AtomicUsize,
    records: Mutex<VecDeque<Recorded>>,
    /// Requests seen so far per distinct `x-mock-fault` value carrying `times=N`.
    fault_counts: Mutex<HashMap<String, u32>>,
    aborts: Mutex<VecDeque<Instant>>,
    abort_notify: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking holder cannot leave these collections half-updated: recover the data.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    pub(crate) fn new(record: bool) -> State {
        State {
            record,
            count: AtomicUsize::new(0),
            records: Mutex::new(VecDeque::new()),
            fault_counts: Mutex::new(HashMap::new()),
            aborts: Mutex::new(VecDeque::new()),
            abort_notify: Notify::new(),
        }
    }

    pub(crate) fn recording(&self) -> bool {
        self.record
    }

    pub(crate) fn push(&self, r: Option<Recorded>) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if let Some(r) = r {
            let mut records = lock(&self.records);
            if records.len() == MAX_RECORDS {
                records.pop_front();
            }
            records.push_back(r);
        }
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        lock(&self.records).iter().cloned().collect()
    }

    pub(crate) fn request_count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Counts one more request carrying `fault` and says whether it is within the first `times`.
    pub(crate) fn fault_applies(&self, fault: &str, times: u32) -> bool {
        let mut counts = lock(&self.fault_counts);
        let seen = match counts.get_mut(fault) {
            Some(n) => n,
            None => counts.entry(fault.to_owned()).or_insert(0),
        };
        *seen = seen.saturating_add(1);
        *seen <= times
    }

    /// Clears the request log, the fault counters and unclaimed aborts.
    pub(crate) fn reset(&self) {
        lock(&self.records).clear();
        lock(&self.fault_counts).clear();
        lock(&self.aborts).clear();
        self.count.store(0, Ordering::Relaxed);
    }

    /// A client closed its connection while a response was in progress.
    pub(crate) fn aborted(&self, at: Instant) {
        let mut aborts = lock(&self.aborts);
        if aborts.len() == MAX_RECORDS {
            aborts.pop_front();
        }
        aborts.push_back(at);
        drop(aborts);
        self.abort_notify.notify_waiters();
    }

    pub(crate) async fn next_abort(&self, timeout: Duration) -> Option<Instant> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.abort_notify.notified();
            tokio::pin!(notified);
            // Register before looking, so an abort between the look and the wait is not missed.
            notified.as_mut().enable();
            if let Some(at) = lock(&self.aborts).pop_front() {
                return Some(at);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return lock(&self.aborts).pop_front();
            }
        }
    }
}
