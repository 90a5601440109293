//! BitRouter's running router as a library: what `bitrouter` runs and controls, with an
//! in-process API the CLI, tests and embedding programs share.
//!
//! - `home` — where things are (`--home-dir`, `./bitrouter.yaml`, `$BITROUTER_HOME`,
//!   `~/.bitrouter`, scaffolded) and the home's files (`.env` merging, the starter config).
//! - `config` — the one loading sequence: file, `.env` under the process environment,
//!   forwarded keys, compile lenient or strict; `locate` finds the daemon's files.
//! - `daemon` — `prepare` (compile, exposure policy, control socket, pid file) →
//!   `Prepared::bind` → `Running::serve` (signals, drain); `Daemon::reload` with its policies
//!   and typed report; `Daemon::status`, `route`, `stop`, `drain`.
//! - `control` — the versioned JSON-lines protocol (`proto::Request` / `proto::Reply`), the
//!   socket server inside the daemon and the blocking client.
//! - `explain` — a model's compiled fallback chain, as data and as text.
//! - `keys` — accounts and tokens under `<home>/.keys` (`account`, `keygen`, `keys`), and the
//!   trust a daemon builds from them.
//! - `process` — the daemon seen from outside: detach, pid file, waiting for start and exit.
//! - `ledger` — the usage ledger: the data plane's rows through a spool on disk into SQLite
//!   or Postgres, and the queries `spend` and `requests` read.
//! - `observe` — OTLP export of traces and metrics (`plugins.bitrouter-observe.otel`).
//!
//! Nothing here prints: results are returned, the daemon logs through `tracing`. Errors are
//! typed. The data plane (`dataplane::Server`) knows nothing of sockets or pid files.

pub mod config;
pub mod control;
pub mod daemon;
pub mod explain;
pub mod home;
pub mod keys;
pub mod ledger;
pub mod observe;
pub mod process;

pub use config::{LoadError, LoadOptions, Loaded, Located};
pub use daemon::{Daemon, DaemonPaths, Prepared, Running, StartError, StartOptions};
pub use home::{HomeOptions, Paths};
