//! The batch writer: one task, on its own thread and runtime, that moves rows from the spool
//! into the database (so parsing rows and sqlx's work never hold up a request on the data
//! plane's runtime threads). It reads
//! segments oldest first (those left by an earlier process, then the current one), inserts
//! what it read in one transaction, and only then forgets it: a segment is deleted once all
//! of it is committed, the current one after a rotation. A database that is down or slow
//! only makes the spool grow; the writer retries with a backoff (up to 5 s) and drains it
//! when the database is back. Shutdown commits what it can in a bounded time; the rest stays
//! in the spool for the next start.

use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::row::{self, Row};
use super::spool::Spool;
use super::store::Store;

/// Largest read from a segment at once (bounds the writer's memory, not the spool's size).
const MAX_READ: u64 = 4 << 20;
/// How long the writer lets rows gather after a wake-up, and between rounds while rows keep
/// coming (so a busy router's rows go in batches, not one transaction each).
const LINGER: Duration = Duration::from_millis(20);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What the writer needs to connect (again) when the database was not there at start.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) url: String,
    pub(crate) connect_timeout: Duration,
}

#[derive(Debug)]
pub(crate) struct Writer {
    pub(crate) spool: Arc<Spool>,
    pub(crate) store: Option<Store>,
    pub(crate) target: Target,
    /// Segments closed to appends, oldest first, with how much of each is committed.
    pub(crate) closed: VecDeque<(PathBuf, u64)>,
    /// Committed bytes of the current segment.
    pub(crate) offset: u64,
    pub(crate) stop: Arc<AtomicBool>,
    failures: u32,
}

/// Reads up to `MAX_READ` bytes of `path` from `offset` (a missing file reads as empty).
fn read_from(path: &Path, offset: u64) -> std::io::Result<(Vec<u8>, u64)> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    f.take(MAX_READ).read_to_end(&mut buf)?;
    Ok((buf, len))
}

/// What one round over the spool did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Round {
    /// Nothing new: everything spooled is committed.
    Idle,
    /// Committed all there was when it read; more may have come since.
    Committed,
    /// Committed some; more was already waiting (a backlog): go on at once.
    Backlog,
    /// The database is not there or refused.
    Failed,
}

/// What one pass over a segment did.
enum Pass {
    /// Everything in it up to its end is committed.
    CaughtUp { len: u64 },
    /// Some committed, more to read.
    More,
    /// The database refused; try again later.
    Failed,
}

/// The writer thread's nice value (Linux, where it is per thread and inherited by the threads
/// it starts, i.e. sqlx's SQLite worker): a request's thread that wakes preempts a batch
/// insert instead of waiting for it. Measured at c=1: p99 305 → 210 µs; at c=16 the spool
/// still drains within a second of the load (the writer needs a fraction of a core).
const NICE: i32 = 10;

/// Runs `writer` on a thread of its own (a current-thread runtime) at a lower priority
/// ([`NICE`]); the receiver resolves when it has finished. `writer` should hold no store yet:
/// it connects from that thread, so the database's own threads share the priority.
pub(crate) fn spawn(
    writer: Writer,
    flush_timeout: Duration,
) -> std::io::Result<tokio::sync::oneshot::Receiver<()>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("bitrouter-ledger".into())
        .spawn(move || {
            lower_priority();
            rt.block_on(writer.run(flush_timeout));
            let _ = tx.send(());
        })?;
    Ok(rx)
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // `None`: the calling thread (Linux keeps a nice value per thread).
    if let Err(e) = rustix::process::setpriority_process(None, NICE) {
        tracing::debug!(error = %e, "cannot lower the ledger writer's priority");
    }
}

/// Elsewhere the nice value is the whole process's: leave it.
#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

impl Writer {
    pub(crate) fn new(
        spool: Arc<Spool>,
        store: Option<Store>,
        target: Target,
        old: Vec<PathBuf>,
        stop: Arc<AtomicBool>,
    ) -> Writer {
        Writer {
            spool,
            store,
            target,
            closed: old.into_iter().map(|p| (p, 0)).collect(),
            offset: 0,
            stop,
            failures: 0,
        }
    }

    pub(crate) async fn run(mut self, deadline_after_stop: Duration) {
        let mut stop_at = None;
        loop {
            let stopping = self.stop.load(Ordering::Acquire);
            if stopping && stop_at.is_none() {
                stop_at = Some(tokio::time::Instant::now() + deadline_after_stop);
            }
            let round = self.drain().await;
            let idle = round == Round::Idle;
            if stopping && (idle || stop_at.is_some_and(|t| tokio::time::Instant::now() >= t)) {
                if !idle {
                    tracing::warn!(
                        spool_bytes = self.spool.size(),
                        "the ledger could not commit everything before exit; the rest stays \
                         in the spool for the next start"
                    );
                }
                break;
            }
            if self.failures > 0 {
                let wait = Duration::from_millis(100 << self.failures.min(6)).min(MAX_BACKOFF);
                tokio::time::sleep(wait).await;
                continue;
            }
            match round {
                _ if stopping => {}
                Round::Idle => tokio::select! {
                    () = self.spool.wake.notified() => tokio::time::sleep(LINGER).await,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                },
                Round::Committed => tokio::time::sleep(LINGER).await,
                Round::Backlog | Round::Failed => {}
            }
        }
    }

    /// One round: closed segments, then the current one.
    async fn drain(&mut self) -> Round {
        if self.store.is_none() && !self.connect().await {
            return Round::Failed;
        }
        let mut committed = false;
        while let Some((path, offset)) = self.closed.front().cloned() {
            match self.pass(&path, offset, true).await {
                Pass::CaughtUp { len } => {
                    self.spool.remove(&path, len);
                    self.closed.pop_front();
                    committed |= len > offset;
                }
                Pass::More => return Round::Backlog,
                Pass::Failed => return Round::Failed,
            }
        }
        let (_, current) = self.spool.current();
        match self.pass(&current, self.offset, false).await {
            Pass::CaughtUp { len: 0 } if !committed => Round::Idle,
            Pass::CaughtUp { len: 0 } => Round::Committed,
            Pass::CaughtUp { .. } => {
                // All of it is committed: rotate; what landed meanwhile is read next round,
                // after the linger (so a busy router's rows still go in batches).
                match self.spool.rotate().await {
                    Ok(old) => {
                        self.closed.push_back((old.path.clone(), self.offset));
                        self.offset = 0;
                        Round::Committed
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot rotate the ledger's spool");
                        Round::Failed
                    }
                }
            }
            Pass::More => Round::Backlog,
            Pass::Failed => Round::Failed,
        }
    }

    /// Reads `path` from `offset` and commits the complete lines there.
    async fn pass(&mut self, path: &Path, offset: u64, closed: bool) -> Pass {
        let p = path.to_path_buf();
        let read = tokio::task::spawn_blocking(move || read_from(&p, offset)).await;
        let (buf, len) = match read {
            Ok(Ok(x)) => x,
            Ok(Err(e)) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read the ledger's spool");
                return Pass::Failed;
            }
            Err(_) => return Pass::Failed,
        };
        let (used, rows, bad) = row::read_lines(&buf);
        if bad > 0 {
            tracing::warn!(
                path = %path.display(),
                lines = bad,
                "skipped unreadable lines in the ledger's spool"
            );
        }
        if !rows.is_empty() && !self.commit(&rows).await {
            return Pass::Failed;
        }
        let done = offset + used as u64;
        if closed {
            if let Some(front) = self.closed.front_mut() {
                front.1 = done;
            }
        } else {
            self.offset = done;
        }
        if done >= len {
            Pass::CaughtUp { len }
        } else if closed && used == 0 && buf.len() as u64 >= len - offset {
            // A closed segment's last line never got its newline (the process died mid-write).
            tracing::warn!(path = %path.display(), "dropped a torn last line of the ledger's spool");
            Pass::CaughtUp { len }
        } else {
            Pass::More
        }
    }

    async fn commit(&mut self, rows: &[Row]) -> bool {
        let Some(store) = &self.store else {
            return false;
        };
        match store.insert(rows).await {
            Ok(()) => {
                if self.failures > 0 {
                    tracing::info!(url = %store.shown, "the ledger's database is back");
                }
                self.failures = 0;
                true
            }
            Err(e) => {
                self.failed(&e.to_string());
                false
            }
        }
    }

    async fn connect(&mut self) -> bool {
        match Store::connect(&self.target.url, true, self.target.connect_timeout).await {
            Ok(store) => match store.migrate().await {
                Ok(()) => {
                    tracing::info!(url = %store.shown, "the ledger's database is connected");
                    self.store = Some(store);
                    self.failures = 0;
                    true
                }
                Err(e) => {
                    self.failed(&e.to_string());
                    false
                }
            },
            Err(e) => {
                self.failed(&e.to_string());
                false
            }
        }
    }

    fn failed(&mut self, error: &str) {
        self.failures = self.failures.saturating_add(1);
        if self.failures.is_power_of_two() {
            tracing::warn!(
                error,
                failures = self.failures,
                spool_bytes = self.spool.size(),
                "the ledger cannot write to its database; rows wait in the spool"
            );
        }
    }
}
