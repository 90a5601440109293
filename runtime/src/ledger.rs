//! The usage ledger: one row per finished model call in a database (`database.url`; SQLite
//! in the home by default, Postgres when shared), written off the hot path and never lost.
//!
//! - `row` — the row and its spool line.
//! - `spool` — the on-disk queue the data plane's sink appends to (bounded by a cap; rows past
//!   it are dropped and counted), in `<run-dir>/ledger/`.
//! - `writer` — the one task that commits spooled rows in batches and deletes what is
//!   committed; retries while the database is away; replays the spool at start.
//! - `store` — sqlx (`Any`: SQLite and Postgres), the embedded migrations, the insert.
//! - `query` — what `bitrouter spend` and `bitrouter requests` read; `time` — their dates.
//! - `testing` — for tests only: a fresh database per test on the test Postgres.
//!
//! A row is in the ledger exactly once: each has its own id, and the insert skips an id
//! already there, so a segment replayed after a crash between commit and delete adds nothing.

mod query;
mod row;
mod spool;
mod store;
#[doc(hidden)]
pub mod testing;
pub mod time;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use query::{By, RequestRow, SpendFilter, SpendLine, SpendReport, recent, spend, spent_by_key};
pub use row::Row;
pub use store::{SCHEMA_VERSION, Store};

/// How often the budget counters are re-seeded from the ledger.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(60);

/// The spool's default cap.
pub const DEFAULT_SPOOL_CAP: u64 = 256 << 20;

/// Knobs tests turn (the daemon uses the defaults).
#[derive(Clone, Copy, Debug)]
pub struct LedgerOptions {
    pub spool_cap: u64,
    /// Longest wait for the database at start (after it, the router serves and the writer
    /// keeps trying).
    pub connect_timeout: Duration,
    /// Longest time shutdown spends committing what is spooled.
    pub flush_timeout: Duration,
    /// `false` (`serve --no-ledger`): no rows are recorded, `spend` sees none of this
    /// process's traffic, and budgets count in memory only, from zero at each start.
    pub enabled: bool,
}

impl Default for LedgerOptions {
    fn default() -> LedgerOptions {
        LedgerOptions {
            spool_cap: DEFAULT_SPOOL_CAP,
            connect_timeout: Duration::from_secs(5),
            flush_timeout: Duration::from_secs(10),
            enabled: true,
        }
    }
}

/// Why the ledger could not start or be read.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot connect to the ledger's database `{url}`")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot migrate the ledger's database `{url}`")]
    Migrate {
        url: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error(
        "the ledger's database `{url}` has schema version {found}, newer than this bitrouter \
         knows ({known})"
    )]
    TooNew { url: String, found: i64, known: i64 },
    #[error("there is no ledger at `{0}` yet")]
    NoLedger(String),
    #[error("cannot open the ledger's spool in `{}`", path.display())]
    Spool {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the ledger")]
    Query(#[source] sqlx::Error),
}

impl LedgerError {
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            LedgerError::TooNew { .. } => {
                "a newer bitrouter wrote this database; upgrade this one, or point `--db` at \
                 another database"
            }
            LedgerError::NoLedger(_) => {
                "a running router writes it; `--db` or `DATABASE_URL` names another database"
            }
            LedgerError::Connect { .. } => "check `database.url`, `DATABASE_URL` or `--db`",
            _ => return None,
        })
    }
}

/// `sqlite://<path>`.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A running ledger: the sink to install in the data plane and the writer (on its own thread).
#[derive(Debug)]
pub struct Ledger {
    spool: Arc<spool::Spool>,
    stop: Arc<AtomicBool>,
    /// Resolves when the writer's thread has finished (`shutdown` waits for it).
    done: Option<tokio::sync::oneshot::Receiver<()>>,
    url: String,
    seeder: Seeder,
    reconcile: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// What reads the budget seeds: the database as reached at start (`None`: not reachable
/// then, so each seed tries to connect), the URL as given and the connect timeout.
#[derive(Clone, Debug)]
struct Seeder {
    store: Option<Store>,
    url: String,
    timeout: Duration,
}

impl Seeder {
    async fn seed(&self, server: &dataplane::Server) -> Result<usize, LedgerError> {
        let store = match &self.store {
            Some(s) => s.clone(),
            None => Store::connect(&self.url, false, self.timeout).await?,
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let seeds = query::spent_by_key(&store, now).await?;
        server.seed_spend(&seeds);
        Ok(seeds.len())
    }
}

impl Ledger {
    /// Opens the spool in `spool_dir` (replaying what an earlier process left), connects and
    /// migrates. A database that cannot be reached is not fatal (rows wait in the spool and
    /// the writer keeps trying); a schema newer than this binary's is.
    pub async fn start(
        url: &str,
        spool_dir: &Path,
        options: LedgerOptions,
    ) -> Result<Ledger, LedgerError> {
        let (spool, old) = spool::Spool::open(spool_dir, options.spool_cap).map_err(|source| {
            LedgerError::Spool {
                path: spool_dir.to_path_buf(),
                source,
            }
        })?;
        let spool = Arc::new(spool);
        let store = match Store::connect(url, true, options.connect_timeout).await {
            Ok(s) => match s.migrate().await {
                Ok(()) => Some(s),
                Err(e @ LedgerError::TooNew { .. }) => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %error_chain(&e), "the ledger's database is not ready; rows wait in the spool");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "the ledger's database is not reachable; rows wait in the spool");
                None
            }
        };
        if !old.is_empty() {
            tracing::info!(
                segments = old.len(),
                bytes = spool.size(),
                "replaying the ledger's spool"
            );
        }
        let stop = Arc::new(AtomicBool::new(false));
        let seed_store = store;
        // The writer connects from its own thread (see `writer::spawn`).
        let writer = writer::Writer::new(
            Arc::clone(&spool),
            None,
            writer::Target {
                url: url.to_owned(),
                connect_timeout: options.connect_timeout,
            },
            old,
            Arc::clone(&stop),
        );
        let done =
            writer::spawn(writer, options.flush_timeout).map_err(|source| LedgerError::Spool {
                path: spool_dir.to_path_buf(),
                source,
            })?;
        Ok(Ledger {
            spool,
            stop,
            done: Some(done),
            url: store::redact(url),
            seeder: Seeder {
                store: seed_store,
                url: url.to_owned(),
                timeout: options.connect_timeout,
            },
            reconcile: std::sync::Mutex::new(None),
        })
    }

    /// Seeds `server`'s budget counters with what the ledger says each key has spent in each
    /// window so far (a counter is only ever raised; see `dataplane::spend`). Returns how many
    /// (key, window) figures were applied.
    pub async fn seed(&self, server: &dataplane::Server) -> Result<usize, LedgerError> {
        self.seeder.seed(server).await
    }

    /// Seeds `server` now, then every `every` until shutdown, so the in-process budget
    /// counters never fall behind what the ledger recorded (a failed seed is logged and
    /// tried again at the next tick).
    pub async fn reconcile(&self, server: Arc<dataplane::Server>, every: Duration) {
        // A database that was not reachable at start has had its wait; the ticks retry.
        if self.seeder.store.is_none() {
            tracing::warn!("the budgets start unseeded: the ledger's database is not reachable");
        } else if let Err(e) = self.seed(&server).await {
            tracing::warn!(error = %error_chain(&e), "cannot seed the budgets from the ledger; retrying every minute");
        }
        let (seeder, stop) = (self.seeder.clone(), Arc::clone(&self.stop));
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                if stop.load(Ordering::Acquire) {
                    return;
                }
                if let Err(e) = seeder.seed(&server).await {
                    tracing::warn!(error = %error_chain(&e), "cannot re-seed the budgets from the ledger");
                }
            }
        });
        *self
            .reconcile
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(task);
    }

    /// The sink the data plane hands each finished request to.
    pub fn sink(&self) -> Arc<dyn dataplane::usage::UsageSink> {
        Arc::new(spool::Sink(Arc::clone(&self.spool)))
    }

    /// The database URL, password hidden.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Rows dropped since start (spool full or unwritable).
    pub fn dropped(&self) -> u64 {
        self.spool.dropped()
    }

    /// Bytes waiting in the spool.
    pub fn spooled(&self) -> u64 {
        self.spool.size()
    }

    /// Commits what is spooled (up to the flush timeout), then stops the writer.
    pub async fn shutdown(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self
            .reconcile
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            t.abort();
        }
        self.spool.wake.notify_one();
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
    }
}

impl Drop for Ledger {
    /// A ledger dropped without `shutdown` still stops its writer (which commits what it can
    /// in the flush timeout, then ends its thread); nothing waits for it.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.spool.wake.notify_one();
    }
}

/// `e: its source: …`, for one log field.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
