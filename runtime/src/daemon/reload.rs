//! Reload: recompile the configuration strictly (off the hot path: callers run it on a
//! blocking thread), check the new table against the running daemon's policies, then publish
//! it in one store — or keep the current table and say why, with every diagnostic.
//!
//! Policies: `skip_auth` on a non-loopback address is refused unless the daemon was started
//! with `--allow-insecure-public` ([`check_exposure`], the same check `start` makes); settings
//! the process cannot change live are reported as [`NeedsRestart`]; variables a caller
//! forwarded are remembered, so a later SIGHUP does not undo a rotated key.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use compiler::diagnostic::render;
use compiler::table::ServerSettings;
use compiler::{Diagnostic, EnvMode, SourceFile};

use super::{Daemon, lock, unix_now};
use crate::config::{self, LoadError, LoadOptions};
use crate::control::proto::{self, Failure, Forwarded, LastReload, Via};

/// What asked for a reload, with the variables it forwards.
#[derive(Debug)]
pub enum Trigger {
    /// SIGHUP: the file and the daemon's own environment (plus keys forwarded earlier).
    Sighup,
    /// A `reload` request on the control socket.
    Socket(Forwarded),
    /// A program embedding the runtime.
    Api(Forwarded),
}

impl Trigger {
    fn split(self) -> (Via, BTreeMap<String, String>) {
        match self {
            Trigger::Sighup => (Via::Sighup, BTreeMap::new()),
            Trigger::Socket(env) => (Via::Socket, env.0),
            Trigger::Api(env) => (Via::Api, env.0),
        }
    }
}

/// A published reload.
#[derive(Debug)]
pub struct Reloaded {
    pub previous_hash: String,
    pub config_hash: String,
    /// Routable models in the new table.
    pub models: usize,
    /// Changes the running process did not apply.
    pub needs_restart: Vec<NeedsRestart>,
    /// The text compiled, for rendering `warnings`.
    pub source: SourceFile,
    pub warnings: Vec<Diagnostic>,
    /// From the start of the reload to the publish.
    pub latency: Duration,
}

impl Reloaded {
    pub fn changed(&self) -> bool {
        self.previous_hash != self.config_hash
    }

    /// One line: `reloaded: hash a -> b, N routable models`, or unchanged.
    pub fn summary(&self) -> String {
        let mut s = if self.changed() {
            format!(
                "reloaded: hash {} -> {}, {} routable models",
                short(&self.previous_hash),
                short(&self.config_hash),
                self.models
            )
        } else {
            format!(
                "reloaded: configuration unchanged (hash {})",
                short(&self.config_hash)
            )
        };
        if !self.needs_restart.is_empty() {
            s.push_str("; some changes need a restart");
        }
        s
    }

    /// The control socket's form.
    pub fn to_wire(&self) -> proto::Reloaded {
        proto::Reloaded {
            message: self.summary(),
            config_hash: self.config_hash.clone(),
            previous_hash: self.previous_hash.clone(),
            changed: self.changed(),
            models: self.models,
            needs_restart: self.needs_restart.iter().map(ToString::to_string).collect(),
            warnings: (!self.warnings.is_empty())
                .then(|| render::render_human(&self.source, &self.warnings, false)),
            latency_us: u64::try_from(self.latency.as_micros()).unwrap_or(u64::MAX),
        }
    }
}

/// Why a reload kept the current table.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("{}; keeping the current table", error_chain(.0))]
    Load(LoadError),
    #[error(
        "the configuration is invalid; keeping the current table (hash {})",
        short(kept_hash)
    )]
    Invalid {
        /// The text compiled (the diagnostics point into it).
        file: SourceFile,
        diagnostics: Vec<Diagnostic>,
        kept_hash: String,
    },
    #[error(
        "refusing to turn `skip_auth` on for non-loopback address {}; keeping the current table",
        .0.listen
    )]
    Exposed(Exposed),
    /// The home's accounts or revocation file cannot be read.
    #[error("{0}; keeping the current table")]
    Keys(crate::keys::KeysError),
    /// The reload task itself failed (it panicked); the table was not touched.
    #[error("reload failed: {0}")]
    Aborted(String),
}

impl ReloadError {
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ReloadError::Invalid { .. } => {
                Some("fix the errors above; `bitrouter config validate --strict` checks the file")
            }
            ReloadError::Exposed(_) => {
                Some("restart with --allow-insecure-public if this network is trusted")
            }
            ReloadError::Keys(_) => {
                Some("see `<home>/.keys`; `bitrouter account --list` shows the accounts it reads")
            }
            ReloadError::Load(_) | ReloadError::Aborted(_) => None,
        }
    }

    /// The control socket's form: the line, the hint, and the diagnostics rendered both ways.
    pub fn to_failure(&self) -> Failure {
        let mut f = Failure::new(self.to_string(), self.hint());
        if let ReloadError::Invalid {
            file, diagnostics, ..
        } = self
        {
            f.diagnostics = Some(render::render_human(file, diagnostics, false));
            f.report = Some(render::render_json(file, diagnostics));
        }
        f
    }
}

/// A setting the running process cannot change live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NeedsRestart {
    Listen {
        from: String,
        to: String,
        still: SocketAddr,
    },
    ControlSocket {
        still: PathBuf,
    },
    LogLevel {
        from: String,
        to: String,
    },
    /// `server.metrics_listen`, `server.log_format` or the OTLP export settings.
    Observability {
        key: &'static str,
    },
}

impl fmt::Display for NeedsRestart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NeedsRestart::Listen { from, to, still } => write!(
                f,
                "server.listen changed ({from} -> {to}): still listening on {still}; restart to apply"
            ),
            NeedsRestart::ControlSocket { still } => write!(
                f,
                "server.control_socket changed: still at {}; restart to apply",
                still.display()
            ),
            NeedsRestart::LogLevel { from, to } => write!(
                f,
                "server.log_level changed ({from} -> {to}); restart to apply"
            ),
            NeedsRestart::Observability { key } => {
                write!(f, "{key} changed; restart to apply")
            }
        }
    }
}

/// `skip_auth: true` on a non-loopback address without `--allow-insecure-public`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`skip_auth` is on for non-loopback address {listen}")]
pub struct Exposed {
    pub listen: SocketAddr,
}

/// The exposure policy, the same at start and at every reload: anyone who can reach a
/// non-loopback address of a router without authentication can spend its keys.
pub fn check_exposure(
    server: &ServerSettings,
    listen: SocketAddr,
    allow_insecure_public: bool,
) -> Result<(), Exposed> {
    if server.skip_auth && !listen.ip().is_loopback() && !allow_insecure_public {
        Err(Exposed { listen })
    } else {
        Ok(())
    }
}

/// What the daemon was started with, which a reload cannot change.
#[derive(Debug)]
pub(crate) struct Policy {
    /// The bound address.
    pub(crate) listen: SocketAddr,
    /// `--listen` was given: `server.listen` in the file does not decide the address.
    pub(crate) listen_overridden: bool,
    pub(crate) allow_insecure_public: bool,
    /// The server settings the process started with.
    pub(crate) initial: ServerSettings,
    pub(crate) socket: PathBuf,
}

impl Policy {
    fn needs_restart(&self, new: &ServerSettings) -> Vec<NeedsRestart> {
        let o = &self.initial;
        let mut out = Vec::new();
        if !self.listen_overridden && o.listen != new.listen {
            out.push(NeedsRestart::Listen {
                from: o.listen.clone(),
                to: new.listen.clone(),
                still: self.listen,
            });
        }
        if o.control_socket != new.control_socket {
            out.push(NeedsRestart::ControlSocket {
                still: self.socket.clone(),
            });
        }
        if o.log_level != new.log_level {
            out.push(NeedsRestart::LogLevel {
                from: o.log_level.clone(),
                to: new.log_level.clone(),
            });
        }
        if o.metrics_listen != new.metrics_listen {
            out.push(NeedsRestart::Observability {
                key: "server.metrics_listen",
            });
        }
        if o.log_format != new.log_format {
            out.push(NeedsRestart::Observability {
                key: "server.log_format",
            });
        }
        if o.otel != new.otel {
            out.push(NeedsRestart::Observability {
                key: "plugins.bitrouter-observe.otel (or OTEL_*)",
            });
        }
        out
    }
}

impl Daemon {
    /// Reloads, blocking: one at a time, and the outcome is recorded for `status`.
    pub(crate) fn reload_blocking(&self, trigger: Trigger) -> Result<Reloaded, ReloadError> {
        let _serial = lock(&self.reload_lock);
        let began = Instant::now();
        let (via, env) = trigger.split();
        let result = self.reload_inner(env, began);
        self.server.metrics().reload(match &result {
            Ok(_) => dataplane::ReloadResult::Ok,
            Err(ReloadError::Exposed(_)) => dataplane::ReloadResult::Refused,
            Err(_) => dataplane::ReloadResult::Invalid,
        });
        let message = match &result {
            Ok(r) => r.summary(),
            Err(e) => e.to_string(),
        };
        let diagnostics = match &result {
            Err(ReloadError::Invalid {
                file, diagnostics, ..
            }) => Some(render::render_human(file, diagnostics, false)),
            _ => None,
        };
        *lock(&self.last_reload) = Some(LastReload {
            at: unix_now(),
            via,
            ok: result.is_ok(),
            message,
            config_hash: self.server.table().content_hash().to_owned(),
            diagnostics,
        });
        result
    }

    fn reload_inner(
        &self,
        client_env: BTreeMap<String, String>,
        began: Instant,
    ) -> Result<Reloaded, ReloadError> {
        let mut forwarded = lock(&self.forwarded).clone();
        forwarded.extend(client_env);
        let options = LoadOptions {
            forwarded: Some(&forwarded),
            ..LoadOptions::new(EnvMode::Strict)
        };
        let loaded = config::load(&self.files, options).map_err(ReloadError::Load)?;
        let old = self.server.table();
        let compiled = match loaded.compiled {
            Ok(c) => c,
            Err(diagnostics) => {
                return Err(ReloadError::Invalid {
                    file: loaded.source,
                    diagnostics,
                    kept_hash: old.content_hash().to_owned(),
                });
            }
        };
        let new = compiled.table;
        check_exposure(
            new.server(),
            self.policy.listen,
            self.policy.allow_insecure_public,
        )
        .map_err(ReloadError::Exposed)?;
        let needs_restart = self.policy.needs_restart(new.server());
        // Accounts added and tokens revoked since the last reload take effect with this one.
        let trust = crate::keys::Keys::at(&self.files.home)
            .trust()
            .map_err(ReloadError::Keys)?;
        let (config_hash, models) = (new.content_hash().to_owned(), new.routable_model_count());
        self.server.publish_trusting(new, &trust);
        *lock(&self.forwarded) = forwarded;
        Ok(Reloaded {
            previous_hash: old.content_hash().to_owned(),
            config_hash,
            models,
            needs_restart,
            source: loaded.source,
            warnings: compiled.warnings,
            latency: began.elapsed(),
        })
    }
}

/// Logs a reload's outcome (the daemon's log is where SIGHUP reloads report).
pub(crate) fn log(result: &Result<Reloaded, ReloadError>) {
    match result {
        Ok(r) => {
            tracing::info!(config_hash = %r.config_hash, "{}", r.summary());
            for n in &r.needs_restart {
                tracing::warn!("{n}");
            }
        }
        Err(e) => {
            let diagnostics = match e {
                ReloadError::Invalid {
                    file, diagnostics, ..
                } => render::render_human(file, diagnostics, false),
                _ => String::new(),
            };
            tracing::error!("{e}\n{diagnostics}");
        }
    }
}

pub(crate) fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// `error: cause: cause`, as anyhow's `{:#}` prints a chain.
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
