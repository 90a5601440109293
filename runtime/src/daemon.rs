//! A running router: compile and check the configuration ([`prepare`]), bind the control
//! socket and write the pid file, bind the listener ([`Prepared::bind`]), then serve until
//! SIGTERM/SIGINT or a `stop`/`drain` request and drain open requests ([`Running::serve`]).
//! SIGHUP and `reload` recompile and swap the table live ([`Daemon::reload`]).
//!
//! `bitrouter serve` drives this from the command line; a test or an embedding program drives
//! the same [`Daemon`] in-process. Nothing here prints: outcomes are returned or logged.

mod paths;
pub mod reload;

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use compiler::table::{Credential, Protocol, RoutingTable};
use compiler::{Diagnostic, EnvMode, SourceFile};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub(crate) use paths::Cleanup;
pub use paths::{DaemonPaths, PidFileError};
pub use reload::{Exposed, NeedsRestart, ReloadError, Reloaded, Trigger, check_exposure};

use crate::config::{self, LoadError, LoadOptions};
use crate::control::proto::{CredentialState, EndpointStatus, LastReload, ProviderStatus, Status};
use crate::control::server::{self as control_server, BindError, ControlError};
use crate::explain::{self, NoRoute, RouteReport};
use crate::home::Paths;
use reload::Policy;

/// How to start.
#[derive(Clone, Debug, Default)]
pub struct StartOptions {
    /// `--listen`, overriding `server.listen`.
    pub listen: Option<String>,
    /// `--allow-insecure-public`: allow `skip_auth` on a non-loopback address.
    pub allow_insecure_public: bool,
    /// `--socket`, overriding `server.control_socket`.
    pub socket: Option<PathBuf>,
    /// Handle SIGHUP (reload) and SIGTERM/SIGINT (drain and exit). On for the `serve`
    /// process; off for a router embedded in a program that owns its signals (tests).
    pub signals: bool,
    /// OTLP export intervals (defaults for `serve`; tests shorten them).
    pub observe: crate::observe::ObserveOptions,
    /// The usage ledger's spool cap and timeouts.
    pub ledger: crate::ledger::LedgerOptions,
}

/// Why the router did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("the configuration is invalid; not starting")]
    Invalid {
        /// The text compiled (the diagnostics point into it).
        file: SourceFile,
        diagnostics: Vec<Diagnostic>,
    },
    #[error("`{listen}` is not a listen address")]
    ListenAddr {
        listen: String,
        #[source]
        source: io::Error,
    },
    #[error("`{listen}` resolves to no address")]
    NoListenAddr { listen: String },
    #[error(
        "refusing to serve without authentication on non-loopback address {}",
        .0.listen
    )]
    Exposed(Exposed),
    #[error(
        "a bitrouter daemon is already running (it answers on `{}`)",
        socket.display()
    )]
    AlreadyRunning { socket: PathBuf },
    #[error(transparent)]
    PidFile(#[from] PidFileError),
    #[error("could not listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    /// The home's accounts or revocation file (the issuers callers' tokens are checked
    /// against) cannot be read: serving without them would refuse or admit the wrong callers.
    #[error("cannot read the accounts the router trusts")]
    Keys(#[source] crate::keys::KeysError),
    /// The usage ledger cannot start (its spool cannot be opened, or its database was
    /// migrated by a newer binary). An unreachable database is not an error.
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
}

impl StartError {
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            StartError::Invalid { .. } => {
                "fix the errors above; `bitrouter config validate` checks the file"
            }
            StartError::ListenAddr { .. } => "write it as host:port, e.g. 127.0.0.1:4356",
            StartError::Exposed(_) => {
                "listen on 127.0.0.1, turn `server.skip_auth` off, or pass \
                 --allow-insecure-public if this network is trusted"
            }
            StartError::AlreadyRunning { .. } => {
                "`bitrouter status` shows it; `bitrouter stop` stops it"
            }
            StartError::Bind { .. } => {
                "is another process using the port? choose one with `--listen` or `server.listen`"
            }
            StartError::Keys(_) => {
                "see `<home>/.keys`; `bitrouter account --list` shows the accounts it reads"
            }
            StartError::Ledger(e) => return e.hint(),
            StartError::Load(_) | StartError::NoListenAddr { .. } | StartError::PidFile(_) => {
                return None;
            }
        })
    }
}

/// A configuration compiled and checked, with the control socket bound and the pid file
/// written; nothing is listening for requests yet.
#[derive(Debug)]
pub struct Prepared {
    table: RoutingTable,
    source: SourceFile,
    warnings: Vec<Diagnostic>,
    addr: SocketAddr,
    files: Paths,
    paths: DaemonPaths,
    control: Result<std::os::unix::net::UnixListener, ControlError>,
    cleanup: Option<Cleanup>,
    options: StartOptions,
}

/// Compiles the configuration strictly, resolves the listen address, applies the exposure
/// policy, binds the control socket (a live daemon there is [`StartError::AlreadyRunning`];
/// any other failure leaves this process without one, SIGHUP still reloads) and writes the
/// pid file. Blocking.
pub fn prepare(files: Paths, options: StartOptions) -> Result<Prepared, StartError> {
    let loaded = config::load(&files, LoadOptions::new(EnvMode::Strict))?;
    let compiled = match loaded.compiled {
        Ok(c) => c,
        Err(diagnostics) => {
            return Err(StartError::Invalid {
                file: loaded.source,
                diagnostics,
            });
        }
    };
    let table = compiled.table;
    let listen = options
        .listen
        .clone()
        .unwrap_or_else(|| table.server().listen.clone());
    let addr = resolve_listen(&listen)?;
    check_exposure(table.server(), addr, options.allow_insecure_public)
        .map_err(StartError::Exposed)?;
    let paths = DaemonPaths::resolve(
        &files,
        options.socket.as_deref(),
        table.server().control_socket.as_deref(),
    );
    // Before the TCP port, so a second daemon for the same home says so plainly.
    let control = match control_server::bind(&paths) {
        Ok(l) => Ok(l),
        Err(BindError::Running(socket)) => return Err(StartError::AlreadyRunning { socket }),
        Err(BindError::Other(e)) => Err(e),
    };
    let cleanup = control.is_ok().then(|| Cleanup(paths.clone()));
    if control.is_ok() {
        paths.write_pid()?;
    }
    Ok(Prepared {
        table,
        source: loaded.source,
        warnings: compiled.warnings,
        addr,
        files,
        paths,
        control,
        cleanup,
        options,
    })
}

fn resolve_listen(listen: &str) -> Result<SocketAddr, StartError> {
    let mut addrs = listen
        .to_socket_addrs()
        .map_err(|source| StartError::ListenAddr {
            listen: listen.to_owned(),
            source,
        })?;
    addrs.next().ok_or_else(|| StartError::NoListenAddr {
        listen: listen.to_owned(),
    })
}

impl Prepared {
    /// The compile's warnings and the text they point into.
    pub fn warnings(&self) -> (&SourceFile, &[Diagnostic]) {
        (&self.source, &self.warnings)
    }

    /// `server.log_level` (a tracing filter).
    pub fn log_level(&self) -> &str {
        &self.table.server().log_level
    }

    /// `server.log_format`.
    pub fn log_format(&self) -> compiler::table::LogFormat {
        self.table.server().log_format
    }

    pub fn paths(&self) -> &DaemonPaths {
        &self.paths
    }

    /// Binds the listener on the current tokio runtime. Nothing is served (and nothing
    /// logged) until [`Running::serve`].
    pub async fn bind(self) -> Result<Running, StartError> {
        let addr = self.addr;
        let bind_error = |source| StartError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let bound = listener.local_addr().map_err(bind_error)?;
        let metrics = match &self.table.server().metrics_listen {
            Some(m) => {
                let addr = resolve_listen(m)?;
                let l = TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartError::Bind { addr, source })?;
                Some(l)
            }
            None => None,
        };
        let policy = Policy {
            listen: bound,
            listen_overridden: self.options.listen.is_some(),
            allow_insecure_public: self.options.allow_insecure_public,
            initial: self.table.server().clone(),
            socket: self.paths.socket.clone(),
        };
        let trust = crate::keys::Keys::at(&self.files.home)
            .trust()
            .map_err(StartError::Keys)?;
        let url = config::database_url(&self.files, Some(&self.table));
        let ledger = if self.options.ledger.enabled {
            Some(
                crate::ledger::Ledger::start(
                    &url,
                    &self.files.run_dir.join("ledger"),
                    self.options.ledger,
                )
                .await?,
            )
        } else {
            None
        };
        let server = dataplane::Server::trusting(self.table, &trust);
        if let Some(ledger) = &ledger {
            server.set_usage_sink(ledger.sink());
            // Budgets start from what the ledger says was spent, and are re-seeded every minute.
            ledger
                .reconcile(Arc::clone(&server), crate::ledger::RECONCILE_EVERY)
                .await;
        }
        let daemon = Arc::new(Daemon::new(server, self.paths, self.files, policy));
        Ok(Running {
            daemon,
            listener,
            metrics,
            control: self.control,
            cleanup: self.cleanup,
            signals: self.options.signals,
            observe: self.options.observe,
            ledger,
        })
    }
}

fn error_chain(e: &ControlError) -> String {
    match std::error::Error::source(e) {
        Some(s) => format!("{e}: {s}"),
        None => e.to_string(),
    }
}

/// A bound router, ready to serve.
#[derive(Debug)]
pub struct Running {
    daemon: Arc<Daemon>,
    listener: TcpListener,
    /// `server.metrics_listen`, bound.
    metrics: Option<TcpListener>,
    control: Result<std::os::unix::net::UnixListener, ControlError>,
    cleanup: Option<Cleanup>,
    signals: bool,
    observe: crate::observe::ObserveOptions,
    /// `None` under `--no-ledger`.
    ledger: Option<crate::ledger::Ledger>,
}

impl Running {
    /// The address requests reach (the real port when the configuration said `:0`).
    pub fn local_addr(&self) -> SocketAddr {
        self.daemon.policy.listen
    }

    pub fn daemon(&self) -> &Arc<Daemon> {
        &self.daemon
    }

    /// Where `server.metrics_listen` serves `GET /metrics`, if it is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves requests and the control socket (and, with `signals`, reloads on SIGHUP) until
    /// SIGTERM/SIGINT (with `signals`) or a `stop`/`drain`, then drains open requests (up to
    /// `server.drain.timeout`; after SIGTERM new connections are still accepted for
    /// `server.drain.accept`, `/ready` answering 503); the socket and pid file are removed on
    /// the way out.
    pub async fn serve(self) -> io::Result<()> {
        let Running {
            daemon,
            listener,
            metrics,
            control,
            cleanup,
            signals,
            observe,
            ledger,
        } = self;
        let table = daemon.server.table();
        let bound = daemon.policy.listen;
        if table.server().skip_auth {
            tracing::warn!("skip_auth is on: every caller that can reach {bound} is trusted");
        }
        tracing::info!(
            models = table.routable_model_count(),
            config_hash = table.content_hash(),
            ledger = ledger.as_ref().map_or("off", |l| l.url()),
            "serving"
        );
        let exporter = table.server().otel.as_ref().and_then(|otel| {
            crate::observe::start(&daemon.server, otel, observe)
                .map_err(|e| tracing::warn!("{e}; serving without it"))
                .ok()
        });
        drop(table);
        if let Some(l) = metrics {
            if let Ok(a) = l.local_addr() {
                tracing::info!(metrics = %a, "serving GET /metrics");
            }
            let stop = daemon.stop_requested();
            tokio::spawn(Arc::clone(&daemon.server).run_metrics(l, stop));
        }
        match control {
            Ok(l) => {
                tracing::info!(socket = %daemon.paths.socket.display(), "control socket ready");
                tokio::spawn(control_server::serve(Arc::clone(&daemon), l));
            }
            Err(e) => tracing::warn!(
                "no control socket ({}); `bitrouter stop/status/reload` cannot reach this \
                 process, SIGHUP still reloads",
                error_chain(&e)
            ),
        }
        if signals {
            tokio::spawn(sighup_loop(Arc::clone(&daemon)));
        }
        let stop = daemon.stop_requested();
        let shutdown = async move {
            let how = tokio::select! {
                how = shutdown_signal(signals) => how,
                () = stop => dataplane::Stop::Close,
            };
            tracing::info!("shutting down: draining open requests");
            how
        };
        Arc::clone(&daemon.server)
            .run_until(listener, shutdown)
            .await?;
        if let Some(e) = exporter {
            e.shutdown().await;
        }
        // Every request has finished (drained): its row is spooled; commit them.
        if let Some(ledger) = ledger {
            ledger.shutdown().await;
        }
        daemon.finished().await;
        tracing::info!("stopped");
        drop(cleanup);
        Ok(())
    }
}

/// The running router: its data plane, its files, and what reloads and stops act on.
#[derive(Debug)]
pub struct Daemon {
    server: Arc<dataplane::Server>,
    paths: DaemonPaths,
    files: Paths,
    policy: Policy,
    started: Instant,
    started_unix: u64,
    reload_lock: Mutex<()>,
    /// Keys callers forwarded with `reload`; kept so a later SIGHUP does not undo them.
    forwarded: Mutex<BTreeMap<String, String>>,
    last_reload: Mutex<Option<LastReload>>,
    stop: watch::Sender<bool>,
    stopped: watch::Sender<bool>,
    /// Control replies being written; `finished` lets them go out.
    pub(crate) pending: AtomicUsize,
}

impl Daemon {
    fn new(
        server: Arc<dataplane::Server>,
        paths: DaemonPaths,
        files: Paths,
        policy: Policy,
    ) -> Daemon {
        Daemon {
            server,
            paths,
            files,
            policy,
            started: Instant::now(),
            started_unix: unix_now(),
            reload_lock: Mutex::new(()),
            forwarded: Mutex::new(BTreeMap::new()),
            last_reload: Mutex::new(None),
            stop: watch::channel(false).0,
            stopped: watch::channel(false).0,
            pending: AtomicUsize::new(0),
        }
    }

    pub fn server(&self) -> &Arc<dataplane::Server> {
        &self.server
    }

    pub fn paths(&self) -> &DaemonPaths {
        &self.paths
    }

    /// Recompiles and publishes, or keeps the current table (see `reload`). The compile runs
    /// on a blocking thread; the outcome is logged and recorded for `status`.
    pub async fn reload(self: &Arc<Self>, trigger: Trigger) -> Result<Reloaded, ReloadError> {
        let d = Arc::clone(self);
        let result = tokio::task::spawn_blocking(move || d.reload_blocking(trigger))
            .await
            .unwrap_or_else(|e| Err(ReloadError::Aborted(e.to_string())));
        reload::log(&result);
        result
    }

    /// The chain for `model` from the live table, with that table's hash.
    pub fn route(
        &self,
        model: &str,
        inbound: Option<Protocol>,
    ) -> Result<(RouteReport, String), NoRoute> {
        let table = self.server.table();
        let report = explain::explain(&table, model, inbound)?;
        Ok((report, table.content_hash().to_owned()))
    }

    /// Begins shutdown: stop accepting, drain, exit `serve`.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// [`Daemon::stop`], then waits up to `wait` for the drain to finish; `true` if it did.
    pub async fn drain(&self, wait: Duration) -> bool {
        self.stop();
        let mut rx = self.stopped.subscribe();
        tokio::time::timeout(wait, rx.wait_for(|s| *s))
            .await
            .is_ok()
    }

    pub fn draining(&self) -> bool {
        *self.stop.borrow()
    }

    pub fn status(&self) -> Status {
        let table = self.server.table();
        let totals = self.server.totals();
        let providers = table
            .providers()
            .iter()
            .map(|p| ProviderStatus {
                name: p.name.to_string(),
                in_file: p.in_file,
                credential: match &p.credential {
                    Credential::None => CredentialState::NoneNeeded,
                    Credential::Key(_) => CredentialState::Set,
                    Credential::Missing(_) => CredentialState::Missing,
                },
            })
            .collect();
        Status {
            running: true,
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            listen: self.policy.listen.to_string(),
            models: table.routable_model_count(),
            config_hash: table.content_hash().to_owned(),
            providers,
            socket: self.paths.socket.clone(),
            paths: self.paths.clone(),
            started_at: self.started_unix,
            uptime_secs: self.started.elapsed().as_secs(),
            in_flight: self.server.in_flight(),
            requests_served: totals.served,
            request_errors: totals.errors,
            streams: totals.streams,
            draining: self.draining(),
            last_reload: lock(&self.last_reload).clone(),
            endpoints: self
                .server
                .endpoints()
                .into_iter()
                .map(|e| EndpointStatus {
                    provider: e.provider,
                    upstream_model: e.upstream_model,
                    breaker: e.breaker.as_str().to_owned(),
                })
                .collect(),
        }
    }

    /// Completes when a stop or drain is requested.
    pub(crate) fn stop_requested(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.stop.subscribe();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    }

    /// Called after the data plane has drained: lets replies still being written go out.
    async fn finished(&self) {
        self.stopped.send_replace(true);
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.pending.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Reloads on every SIGHUP.
async fn sighup_loop(daemon: Arc<Daemon>) {
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; reload through the control socket instead");
        return;
    };
    while hup.recv().await.is_some() {
        tracing::info!("SIGHUP: reloading the configuration");
        let _ = daemon.reload(Trigger::Sighup).await;
    }
}

/// SIGINT (stop accepting at once) or SIGTERM (an orchestrator's: keep accepting while load
/// balancers notice `/ready`); never, without `signals`.
async fn shutdown_signal(signals: bool) -> dataplane::Stop {
    if !signals {
        return std::future::pending().await;
    }
    let ctrl_c = tokio::signal::ctrl_c();
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        let _ = ctrl_c.await;
        return dataplane::Stop::Close;
    };
    tokio::select! {
        _ = ctrl_c => dataplane::Stop::Close,
        _ = term.recv() => {
            tracing::info!("SIGTERM: draining");
            dataplane::Stop::Drain
        }
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
