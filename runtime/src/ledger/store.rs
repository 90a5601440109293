//! The database behind the ledger, through sqlx's `Any` driver so SQLite and Postgres share
//! one code path: connecting (a SQLite file is created by the router, never by a reader),
//! the embedded migrations (`runtime/migrations/`, applied at start; a database migrated by a
//! newer binary is refused), and the batch insert, idempotent by row id.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, Executor};

use super::LedgerError;
use super::row::Row;

/// The migrations, embedded (version, description, SQL); a new one is appended, never edited.
const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "requests",
    include_str!("../../migrations/0001_requests.sql"),
)];

/// The newest schema this binary knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Rows per `INSERT` statement (22 columns: 880 variables), so a batch is a few statements.
const ROWS_PER_STATEMENT: usize = 40;

const COLUMNS: &str = "id, time_ms, request_id, key_id, model, route, provider, upstream_model, \
     inbound, outbound, stream, status, outcome, attempts, duration_ms, ttfb_ms, input_tokens, \
     output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_micro_usd";
const NCOLUMNS: usize = 22;

#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>>
                + Send,
        >,
    > {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|&(v, d, sql)| {
                    Migration::new(
                        v,
                        Cow::Borrowed(d),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// A connected ledger database.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    /// The URL without its password (for messages).
    pub(crate) shown: String,
    /// SQLite, whose statements get anonymous `?` variables: with numbered ones (`$1`), each
    /// bind looks its number up in a list of all the statement's names, so binding cost grows
    /// with the square of the variables (27% of the router's CPU went to
    /// `sqlite3_bind_parameter_name`, measured with perf under load). Postgres needs `$N`.
    sqlite: bool,
}

/// The path a `sqlite:` URL names, if it is one.
pub(crate) fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(rest.split('?').next().unwrap_or(rest))
}

/// `url` with any password replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (auth, host) = match rest.split_once('@') {
        Some(x) => x,
        None => return url.to_owned(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

impl Store {
    /// Connects to `url`. With `create`, a missing SQLite file is created (the router);
    /// without, it is [`LedgerError::NoLedger`] (a reader such as `bitrouter spend`).
    pub async fn connect(url: &str, create: bool, timeout: Duration) -> Result<Store, LedgerError> {
        install_default_drivers();
        let shown = redact(url);
        let mut url = url.to_owned();
        if let Some(path) = sqlite_path(&url) {
            if !create && !std::path::Path::new(path).exists() {
                return Err(LedgerError::NoLedger(path.to_owned()));
            }
            if create && !url.contains("mode=") {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str("mode=rwc");
            }
        }
        let sqlite = sqlite_path(&url).is_some();
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // With WAL, a commit survives the process being killed without an fsync
                        // per commit (only an OS crash can lose the last ones).
                        conn.execute("PRAGMA synchronous=NORMAL").await?;
                    }
                    Ok(())
                })
            })
            .acquire_timeout(timeout)
            .connect(&url)
            .await
            .map_err(|source| LedgerError::Connect {
                url: shown.clone(),
                source,
            })?;
        if sqlite_path(&url).is_some() {
            // Readers (`spend`, `requests`) never wait on the router's writes.
            pool.execute("PRAGMA journal_mode=WAL")
                .await
                .map_err(|source| LedgerError::Connect {
                    url: shown.clone(),
                    source,
                })?;
        }
        Ok(Store {
            pool,
            shown,
            sqlite,
        })
    }

    /// Applies the embedded migrations; a schema newer than this binary's is refused.
    pub async fn migrate(&self) -> Result<(), LedgerError> {
        let migrator = Migrator::new(Embedded)
            .await
            .map_err(|e| LedgerError::Migrate {
                url: self.shown.clone(),
                source: e,
            })?;
        match migrator.run(&self.pool).await {
            Ok(()) => Ok(()),
            Err(MigrateError::VersionMissing(v) | MigrateError::VersionTooNew(v, _))
                if v > SCHEMA_VERSION =>
            {
                Err(LedgerError::TooNew {
                    url: self.shown.clone(),
                    found: v,
                    known: SCHEMA_VERSION,
                })
            }
            Err(e) => Err(LedgerError::Migrate {
                url: self.shown.clone(),
                source: e,
            }),
        }
    }

    /// Inserts `rows` in one transaction; a row whose id is already there is skipped.
    pub(crate) async fn insert(&self, rows: &[Row]) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut sql = String::with_capacity(64 + chunk.len() * NCOLUMNS * 5);
            sql.push_str("INSERT INTO requests (");
            sql.push_str(COLUMNS);
            sql.push_str(") VALUES ");
            for i in 0..chunk.len() {
                sql.push_str(if i == 0 { "(" } else { ", (" });
                for c in 0..NCOLUMNS {
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    if self.sqlite {
                        sql.push('?');
                    } else {
                        sql.push('$');
                        sql.push_str(&(i * NCOLUMNS + c + 1).to_string());
                    }
                }
                sql.push(')');
            }
            sql.push_str(" ON CONFLICT (id) DO NOTHING");
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(r.id.as_str())
                    .bind(r.time_ms)
                    .bind(r.request_id.as_str())
                    .bind(r.key_id.as_deref())
                    .bind(r.model.as_str())
                    .bind(r.route.as_deref())
                    .bind(r.provider.as_deref())
                    .bind(r.upstream_model.as_deref())
                    .bind(r.inbound.as_str())
                    .bind(r.outbound.as_deref())
                    .bind(i64::from(r.stream))
                    .bind(r.status)
                    .bind(r.outcome.as_str())
                    .bind(r.attempts)
                    .bind(r.duration_ms)
                    .bind(r.ttfb_ms)
                    .bind(r.input_tokens)
                    .bind(r.output_tokens)
                    .bind(r.cache_read_tokens)
                    .bind(r.cache_write_tokens)
                    .bind(r.reasoning_tokens)
                    .bind(r.cost_micro_usd);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await
    }
}
