//! The spool: the ledger's queue, on disk. Each finished request's row is appended as one
//! JSON line to the current segment (`<run-dir>/ledger/spool-<n>.jsonl`, opened `O_APPEND`)
//! by the thread that finished it — one `write(2)` from a per-thread buffer, no fsync, no
//! lock in this process — then the writer is woken. The writer reads segments in order,
//! commits their rows, and deletes a segment once every row in it is committed: that is the
//! spool's truncation, done by rotation so that no append can land in a file being cut.
//!
//! Bounded: past `cap` bytes across all segments a new row is dropped and counted (the oldest
//! are kept), with a log line at the 1st, 2nd, 4th, 8th… drop. What is in the spool survives
//! the process being killed (the page cache outlives it) and is replayed at the next start.

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use dataplane::usage::{Entry, UsageSink};
use tokio::sync::Notify;

use super::row;

/// One spool file.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) seq: u64,
    pub(crate) path: PathBuf,
    file: File,
}

impl Segment {
    fn create(dir: &Path, seq: u64) -> std::io::Result<Segment> {
        let path = dir.join(format!("spool-{seq:010}.jsonl"));
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Segment { seq, path, file })
    }
}

/// The spool of one ledger; shared by the sink (appends) and the writer (reads, rotates).
#[derive(Debug)]
pub(crate) struct Spool {
    dir: PathBuf,
    current: ArcSwap<Segment>,
    /// Bytes in every live segment.
    size: AtomicU64,
    cap: u64,
    dropped: AtomicU64,
    /// Rows appended by this process (the counter in their ids).
    appended: AtomicU64,
    nonce: String,
    pub(crate) wake: Notify,
}

impl Spool {
    /// Opens the spool in `dir`: the segments left by an earlier process (oldest first, to be
    /// replayed) and a new current segment after them.
    pub(crate) fn open(dir: &Path, cap: u64) -> std::io::Result<(Spool, Vec<PathBuf>)> {
        std::fs::create_dir_all(dir)?;
        let mut old: Vec<(u64, PathBuf)> = Vec::new();
        let mut size = 0;
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let name = e.file_name();
            let Some(seq) = name
                .to_str()
                .and_then(|n| n.strip_prefix("spool-"))
                .and_then(|n| n.strip_suffix(".jsonl"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            size += e.metadata()?.len();
            old.push((seq, e.path()));
        }
        old.sort();
        let next = old.last().map_or(0, |(s, _)| s + 1);
        let current = Segment::create(dir, next)?;
        let nonce = format!("{:016x}{:08x}", dataplane_nonce(), std::process::id());
        Ok((
            Spool {
                dir: dir.to_path_buf(),
                current: ArcSwap::from_pointee(current),
                size: AtomicU64::new(size),
                cap,
                dropped: AtomicU64::new(0),
                appended: AtomicU64::new(0),
                nonce,
                wake: Notify::new(),
            },
            old.into_iter().map(|(_, p)| p).collect(),
        ))
    }

    /// Rows dropped because the spool was full or could not be written.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn size(&self) -> u64 {
        self.size.load(Ordering::Relaxed)
    }

    /// Appends one line (the hot path).
    fn append(&self, line: &[u8]) {
        let len = line.len() as u64;
        if self.size.load(Ordering::Relaxed) + len > self.cap {
            self.drop_row("the ledger's spool is full (the database is down or slow)");
            return;
        }
        // An `Arc` clone (not a guard): the writer waits for the count to fall before it
        // reads a rotated segment to its end.
        let seg = self.current.load_full();
        match (&seg.file).write_all(line) {
            Ok(()) => {
                self.size.fetch_add(len, Ordering::Relaxed);
                drop(seg);
                self.wake.notify_one();
            }
            Err(e) => {
                drop(seg);
                tracing::warn!(error = %e, "cannot write the ledger's spool");
                self.drop_row("the ledger's spool cannot be written");
            }
        }
    }

    fn drop_row(&self, why: &str) {
        let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(
                dropped = n,
                cap_bytes = self.cap,
                "{why}: a usage record was dropped"
            );
        }
    }

    /// Starts a new current segment and returns the one it replaces, once no append is still
    /// writing into it (appends hold it for one `write`).
    pub(crate) async fn rotate(&self) -> std::io::Result<Arc<Segment>> {
        let seq = self.current.load().seq + 1;
        let next = Arc::new(Segment::create(&self.dir, seq)?);
        let old = self.current.swap(next);
        while Arc::strong_count(&old) > 1 {
            tokio::task::yield_now().await;
        }
        Ok(old)
    }

    /// The current segment's path and sequence number.
    pub(crate) fn current(&self) -> (u64, PathBuf) {
        let c = self.current.load();
        (c.seq, c.path.clone())
    }

    /// A fully committed segment is removed.
    pub(crate) fn remove(&self, path: &Path, len: u64) {
        if let Err(e) = std::fs::remove_file(path) {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove a ledger spool segment");
            return;
        }
        self.size.fetch_sub(len.min(self.size()), Ordering::Relaxed);
    }
}

/// A per-process random value (for row ids that do not repeat across restarts).
fn dataplane_nonce() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish()
}

/// What the data plane calls: the row into the spool.
#[derive(Debug)]
pub(crate) struct Sink(pub(crate) Arc<Spool>);

impl UsageSink for Sink {
    fn dropped(&self) -> u64 {
        self.0.dropped()
    }

    fn queued_bytes(&self) -> u64 {
        self.0.size()
    }

    fn finished(&self, entry: &Entry<'_>) {
        thread_local! {
            /// The line is built here (grown once to the longest row, then reused).
            static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        let spool = &self.0;
        let n = spool.appended.fetch_add(1, Ordering::Relaxed);
        LINE.with(|l| {
            let mut line = l.borrow_mut();
            line.clear();
            row::write_line(&mut line, &spool.nonce, n, entry);
            spool.append(&line);
        });
    }
}
