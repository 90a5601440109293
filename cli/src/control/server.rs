//! The daemon side: the control socket inside `bitrouter serve`, the reload path shared by the
//! socket and SIGHUP, and the status report.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};
use compiler::diagnostic::render;
use compiler::table::{Credential, Protocol, RoutingTable, ServerSettings};
use compiler::{EnvMode, SourceFile};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use super::paths::DaemonPaths;
use super::proto::{self, Request};
use crate::commands::route;
use crate::home;

/// Why the control socket could not be set up.
#[derive(Debug)]
pub(crate) enum BindError {
    /// A live daemon answers on the socket already.
    Running(std::path::PathBuf),
    Other(anyhow::Error),
}

/// Binds the control socket (mode 0600). A leftover socket nobody listens on is removed first.
pub(crate) fn bind(paths: &DaemonPaths) -> Result<std::os::unix::net::UnixListener, BindError> {
    let socket = &paths.socket;
    if let Some(dir) = socket.parent() {
        if !dir.exists() {
            std::fs::create_dir_all(dir)
                .and_then(|()| {
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                })
                .with_context(|| format!("cannot create `{}`", dir.display()))
                .map_err(BindError::Other)?;
        }
    }
    match std::os::unix::net::UnixStream::connect(socket) {
        Ok(_) => return Err(BindError::Running(socket.clone())),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
            // A socket file from a daemon that died without cleaning up.
            let _ = std::fs::remove_file(socket);
        }
        Err(_) => {}
    }
    let listener = std::os::unix::net::UnixListener::bind(socket)
        .with_context(|| format!("cannot create the control socket `{}`", socket.display()))
        .map_err(BindError::Other)?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| listener.set_nonblocking(true))
        .with_context(|| format!("cannot set up `{}`", socket.display()))
        .map_err(BindError::Other)?;
    let _ = std::fs::create_dir_all(&paths.run_dir);
    let _ = std::fs::write(&paths.pid_file, format!("{}\n", std::process::id()));
    Ok(listener)
}

/// Removes the socket and (if it is still ours) the pid file when the daemon exits.
#[derive(Debug)]
pub(crate) struct Cleanup(pub(crate) DaemonPaths);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0.socket);
        if super::paths::read_pid(&self.0.pid_file) == i32::try_from(std::process::id()).ok() {
            let _ = std::fs::remove_file(&self.0.pid_file);
        }
    }
}

/// Everything the control socket and SIGHUP act on.
#[derive(Debug)]
pub(crate) struct Daemon {
    pub(crate) server: Arc<dataplane::Server>,
    pub(crate) paths: DaemonPaths,
    pub(crate) files: home::Paths,
    pub(crate) listen: SocketAddr,
    /// `--listen` was given: `server.listen` in the file does not decide the address.
    pub(crate) listen_overridden: bool,
    pub(crate) allow_insecure_public: bool,
    /// The server settings the process started with (what a restart would change).
    initial: ServerSettings,
    started: Instant,
    started_unix: u64,
    reload_lock: Mutex<()>,
    /// Keys callers forwarded with `reload`; kept so a later SIGHUP does not undo them.
    forwarded: Mutex<BTreeMap<String, String>>,
    last_reload: Mutex<Value>,
    stop: watch::Sender<bool>,
    stopped: watch::Sender<bool>,
    pending: AtomicUsize,
}

impl Daemon {
    pub(crate) fn new(
        server: Arc<dataplane::Server>,
        paths: DaemonPaths,
        files: home::Paths,
        listen: SocketAddr,
        listen_overridden: bool,
        allow_insecure_public: bool,
    ) -> Arc<Daemon> {
        let initial = server.table().server().clone();
        Arc::new(Daemon {
            initial,
            server,
            paths,
            files,
            listen,
            listen_overridden,
            allow_insecure_public,
            started: Instant::now(),
            started_unix: unix_now(),
            reload_lock: Mutex::new(()),
            forwarded: Mutex::new(BTreeMap::new()),
            last_reload: Mutex::new(Value::Null),
            stop: watch::channel(false).0,
            stopped: watch::channel(false).0,
            pending: AtomicUsize::new(0),
        })
    }

    /// Completes when a `stop` or `drain` request arrives.
    pub(crate) fn stop_requested(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.stop.subscribe();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    }

    /// Called after the data plane has drained: lets replies still being written go out.
    pub(crate) async fn finished(&self) {
        self.stopped.send_replace(true);
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.pending.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn draining(&self) -> bool {
        *self.stop.borrow()
    }

    pub(crate) fn status(&self) -> Value {
        let table = self.server.table();
        let providers: Vec<Value> = table
            .providers()
            .iter()
            .map(|p| {
                json!({
                    "name": &*p.name,
                    "in_file": p.in_file,
                    "credential": match &p.credential {
                        Credential::None => "none needed",
                        Credential::Key(_) => "set",
                        Credential::Missing(_) => "missing",
                    },
                })
            })
            .collect();
        proto::ok(json!({
            "running": true,
            "pid": std::process::id(),
            "version": env!("CARGO_PKG_VERSION"),
            "listen": self.listen.to_string(),
            "models": table.routable_model_count(),
            "config_hash": table.content_hash(),
            "providers": providers,
            "socket": self.paths.socket,
            "paths": self.paths.to_json(),
            "started_at": self.started_unix,
            "uptime_secs": self.started.elapsed().as_secs(),
            "in_flight": self.server.in_flight(),
            "draining": self.draining(),
            "last_reload": *lock(&self.last_reload),
        }))
    }

    /// Recompiles the configuration (strict) and publishes it, or keeps the current table and
    /// reports every diagnostic. `client_env` is what a `reload` caller forwarded (`None` for
    /// SIGHUP). Blocking: run it off the runtime's worker threads.
    pub(crate) fn reload(&self, client_env: Option<BTreeMap<String, String>>) -> Value {
        let _serial = lock(&self.reload_lock);
        let began = Instant::now();
        let via = if client_env.is_some() {
            "socket"
        } else {
            "SIGHUP"
        };
        let reply = self.reload_inner(client_env, began);
        let summary = json!({
            "at": unix_now(),
            "via": via,
            "ok": reply["ok"],
            "message": reply.get("error").or_else(|| reply.get("message")).cloned().unwrap_or(Value::Null),
            "config_hash": self.server.table().content_hash(),
        });
        *lock(&self.last_reload) = summary;
        reply
    }

    fn reload_inner(&self, client_env: Option<BTreeMap<String, String>>, began: Instant) -> Value {
        let text = match home::read_config(&self.files, false) {
            Ok(t) => t.unwrap_or_default(),
            Err(e) => return proto::error(&format!("{e:#}; keeping the current table"), None),
        };
        let mut env = match home::environment(&self.files) {
            Ok(env) => env,
            Err(e) => return proto::error(&format!("{e:#}; keeping the current table"), None),
        };
        let mut forwarded = lock(&self.forwarded).clone();
        forwarded.extend(client_env.unwrap_or_default());
        env.extend(forwarded.iter().map(|(k, v)| (k.clone(), v.clone())));
        let source = SourceFile::new(self.files.config.display().to_string(), text);
        let old = self.server.table();
        let compiled = match compiler::compile(&source, &env, EnvMode::Strict) {
            Ok(c) => c,
            Err(d) => {
                let mut e = proto::error(
                    &format!(
                        "the configuration is invalid; keeping the current table (hash {})",
                        short(old.content_hash())
                    ),
                    Some(
                        "fix the errors above; `bitrouter config validate --strict` checks the file",
                    ),
                );
                e["diagnostics"] = json!(render::render_human(&source, &d, false));
                e["report"] = render::render_json(&source, &d);
                return e;
            }
        };
        let new = compiled.table;
        if new.server().skip_auth && !self.listen.ip().is_loopback() && !self.allow_insecure_public
        {
            return proto::error(
                &format!(
                    "refusing to turn `skip_auth` on for non-loopback address {}; keeping the current table",
                    self.listen
                ),
                Some("restart with --allow-insecure-public if this network is trusted"),
            );
        }
        let needs_restart = self.needs_restart(&new);
        let (hash, models) = (new.content_hash().to_owned(), new.routable_model_count());
        let changed = hash != old.content_hash();
        self.server.publish(new);
        *lock(&self.forwarded) = forwarded;
        let latency = began.elapsed();
        let mut message = if changed {
            format!(
                "reloaded: hash {} -> {}, {models} routable models",
                short(old.content_hash()),
                short(&hash)
            )
        } else {
            format!("reloaded: configuration unchanged (hash {})", short(&hash))
        };
        if !needs_restart.is_empty() {
            message.push_str("; some changes need a restart");
        }
        proto::ok(json!({
            "message": message,
            "config_hash": hash,
            "previous_hash": old.content_hash(),
            "changed": changed,
            "models": models,
            "needs_restart": needs_restart,
            "warnings": if compiled.warnings.is_empty() { Value::Null } else {
                json!(render::render_human(&source, &compiled.warnings, false))
            },
            "latency_us": u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        }))
    }

    /// Settings the running daemon cannot change live.
    fn needs_restart(&self, new: &RoutingTable) -> Vec<String> {
        let (o, n) = (&self.initial, new.server());
        let mut out = Vec::new();
        if !self.listen_overridden && o.listen != n.listen {
            out.push(format!(
                "server.listen changed ({} -> {}): still listening on {}; restart to apply",
                o.listen, n.listen, self.listen
            ));
        }
        if o.control_socket != n.control_socket {
            out.push(format!(
                "server.control_socket changed: still at {}; restart to apply",
                self.paths.socket.display()
            ));
        }
        if o.log_level != n.log_level {
            out.push(format!(
                "server.log_level changed ({} -> {}); restart to apply",
                o.log_level, n.log_level
            ));
        }
        out
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reloads on every SIGHUP, logging the outcome.
pub(crate) async fn sighup_loop(daemon: Arc<Daemon>) {
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; reload through the control socket instead");
        return;
    };
    while hup.recv().await.is_some() {
        tracing::info!("SIGHUP: reloading the configuration");
        let d = Arc::clone(&daemon);
        let reply = tokio::task::spawn_blocking(move || d.reload(None)).await;
        log_reload(&reply.unwrap_or_else(|e| proto::error(&format!("reload failed: {e}"), None)));
    }
}

pub(crate) fn log_reload(reply: &Value) {
    if reply["ok"] == true {
        tracing::info!(
            config_hash = reply["config_hash"].as_str().unwrap_or(""),
            "{}",
            reply["message"].as_str().unwrap_or("reloaded")
        );
        for n in reply["needs_restart"].as_array().into_iter().flatten() {
            tracing::warn!("{}", n.as_str().unwrap_or(""));
        }
    } else {
        tracing::error!(
            "{}\n{}",
            reply["error"].as_str().unwrap_or("reload failed"),
            reply["diagnostics"].as_str().unwrap_or("")
        );
    }
}

/// Accepts control connections until the process exits.
pub(crate) async fn serve(daemon: Arc<Daemon>, listener: std::os::unix::net::UnixListener) {
    let listener = match UnixListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "control socket unusable; `bitrouter stop/status/reload` will not reach this process");
            return;
        }
    };
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection(Arc::clone(&daemon), stream));
            }
            Err(e) => {
                tracing::warn!(error = %e, "control socket accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// One connection: any number of request lines, one reply line each.
async fn connection(daemon: Arc<Daemon>, stream: UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut buf = Vec::new();
        let limit = u64::try_from(proto::MAX_LINE).unwrap_or(u64::MAX) + 1;
        let read = tokio::time::timeout(
            Duration::from_secs(60),
            (&mut reader).take(limit).read_until(b'\n', &mut buf),
        )
        .await;
        let n = match read {
            Ok(Ok(n)) => n,
            _ => return,
        };
        if n == 0 {
            return;
        }
        daemon.pending.fetch_add(1, Ordering::AcqRel);
        let reply = if buf.len() > proto::MAX_LINE {
            proto::error("request line too long", None)
        } else {
            match std::str::from_utf8(&buf) {
                Ok(line) => match proto::parse(line.trim()) {
                    Ok(req) => handle(&daemon, req).await,
                    Err(e) => e,
                },
                Err(_) => proto::error("malformed request: not UTF-8", None),
            }
        };
        let mut out = reply.to_string();
        out.push('\n');
        let written = write.write_all(out.as_bytes()).await;
        daemon.pending.fetch_sub(1, Ordering::AcqRel);
        if written.is_err() || buf.len() > proto::MAX_LINE {
            return;
        }
    }
}

async fn handle(daemon: &Arc<Daemon>, req: Request) -> Value {
    match req {
        Request::Status {} => daemon.status(),
        Request::Reload { env } => {
            let d = Arc::clone(daemon);
            let reply = tokio::task::spawn_blocking(move || d.reload(Some(env)))
                .await
                .unwrap_or_else(|e| proto::error(&format!("reload failed: {e}"), None));
            log_reload(&reply);
            reply
        }
        Request::Stop {} => {
            tracing::info!("stop requested through the control socket");
            daemon.stop.send_replace(true);
            proto::ok(json!({"stopping": true, "in_flight": daemon.server.in_flight()}))
        }
        Request::Drain { timeout_ms } => {
            tracing::info!("drain requested through the control socket");
            daemon.stop.send_replace(true);
            let limit = dataplane::DRAIN_TIMEOUT + Duration::from_secs(1);
            let wait = timeout_ms.map_or(limit, |ms| Duration::from_millis(ms).min(limit));
            let mut rx = daemon.stopped.subscribe();
            let drained = tokio::time::timeout(wait, rx.wait_for(|s| *s))
                .await
                .is_ok();
            proto::ok(json!({"drained": drained, "in_flight": daemon.server.in_flight()}))
        }
        Request::Route {
            model,
            inbound,
            json,
        } => {
            let inbound = match inbound.as_deref().map(|s| Protocol::parse(s).ok_or(s)) {
                None => None,
                Some(Ok(p)) => Some(p),
                Some(Err(s)) => {
                    return proto::error(&format!("unknown protocol `{s}`"), None);
                }
            };
            let table = daemon.server.table();
            match route::chain_text(&table, &model, inbound, json) {
                Ok(output) => proto::ok(json!({"output": output})),
                Err(e) => proto::error(&e.message, e.hint.as_deref()),
            }
        }
    }
}

/// The error for a daemon already answering on `socket`.
pub(crate) fn already_running(socket: &Path) -> anyhow::Error {
    anyhow!(
        "a bitrouter daemon is already running (it answers on `{}`)",
        socket.display()
    )
}
