//! `bitrouter` with no command, and `bitrouter tui`: the terminal UI (`crate::tui`).
//!
//! Bare `bitrouter` on a terminal attaches to the home's daemon when one answers; otherwise,
//! when no usable provider is configured and the configuration is absent or the untouched
//! starter, it runs the `init` wizard (the same code as `bitrouter init`), then serves in this
//! process — logs go to `<logs-dir>/bitrouter.log` — beside the TUI; quitting drains. A
//! cancelled wizard still starts the router and opens the TUI in its empty state with a hint.
//! Without a terminal it refuses (exit 2): `serve` and `start` are the unattended commands.
//! `bitrouter tui` only attaches.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use compiler::EnvMode;
use compiler::table::Credential;
use runtime::control::client::{self, Probe};
use runtime::{LoadOptions, Paths, StartOptions};

use crate::args::{Global, InitArgs, TuiArgs};
use crate::output::{self, Hinted};
use crate::tui::{self, state::Mode};

const NO_TERMINAL: &str = "`bitrouter` with no command opens the terminal UI and needs a terminal: run `bitrouter serve` (foreground) or `bitrouter start` (daemon) instead";

pub(crate) fn bare(g: &Global, listen: Option<String>) -> Result<ExitCode> {
    if !tui::on_terminal() {
        output::fail(NO_TERMINAL, None);
        return Ok(ExitCode::from(2));
    }
    let paths = super::paths(g);
    let dp = runtime::config::locate(&paths, None).daemon;
    match client::probe(&dp.socket) {
        Probe::Live(_) => {
            tui::watch(&dp.socket, g, Mode::Attached, None, &|| false)?;
            return Ok(ExitCode::SUCCESS);
        }
        Probe::Broken(e) => {
            return Err(Hinted::wrap(
                e,
                "is another daemon hung on this socket? `bitrouter status` shows the pid file",
            ));
        }
        Probe::Absent { .. } => {}
    }
    let mut hint = None;
    if needs_setup(&paths) {
        let init = InitArgs {
            yes: false,
            force: false,
            providers: Vec::new(),
            custom: Vec::new(),
            require_keys: false,
        };
        if let Err(e) = super::init::run_at(paths.clone(), &init) {
            output::error(&e);
            hint = Some(format!(
                "Setup did not finish ({e}). Run `bitrouter init` to set up providers, then press r."
            ));
        }
    }
    own(g, paths, listen, hint)
}

pub(crate) fn attach(g: &Global, a: &TuiArgs) -> Result<ExitCode> {
    if !tui::on_terminal() {
        output::fail(
            "`bitrouter tui` needs a terminal; `bitrouter status` and `bitrouter requests --follow` work without one",
            None,
        );
        return Ok(ExitCode::from(2));
    }
    let dp = runtime::config::locate(&super::paths(g), a.socket.as_deref()).daemon;
    match client::probe(&dp.socket) {
        Probe::Live(_) => {
            tui::watch(&dp.socket, g, Mode::Attached, None, &|| false)?;
            Ok(ExitCode::SUCCESS)
        }
        Probe::Absent { .. } => Err(Hinted::wrap(
            anyhow!(
                "bitrouter is not running (nothing answers on `{}`)",
                dp.socket.display()
            ),
            "`bitrouter` runs the router with the TUI; `bitrouter start` starts a daemon",
        )),
        Probe::Broken(e) => Err(e.into()),
    }
}

/// No usable provider, and a configuration the wizard may write: none yet, or the untouched
/// starter. (A file someone wrote is never replaced; its missing keys show in the TUI.)
fn needs_setup(paths: &Paths) -> bool {
    let untouched = match std::fs::read_to_string(&paths.config) {
        Ok(text) => text == runtime::home::template::config(&[], &[]),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    };
    if !untouched {
        return false;
    }
    let Ok(loaded) = runtime::config::load(paths, LoadOptions::new(EnvMode::Lenient)) else {
        return true;
    };
    let usable = loaded.table().is_some_and(|t| {
        t.providers().iter().any(|p| match &p.credential {
            Credential::Key(_) => true,
            Credential::None => p.in_file,
            Credential::Missing(_) => false,
        })
    });
    !usable
}

/// Serves in this process, with the TUI on the terminal; `q` drains.
fn own(g: &Global, paths: Paths, listen: Option<String>, hint: Option<String>) -> Result<ExitCode> {
    let options = StartOptions {
        listen,
        allow_insecure_public: false,
        socket: None,
        signals: true,
        observe: Default::default(),
        ledger: Default::default(),
    };
    let prepared = match runtime::daemon::prepare(paths, options) {
        Ok(p) => p,
        Err(e) => return super::serve::refused(e),
    };
    let (file, warnings) = prepared.warnings();
    output::diagnostics(file, warnings);
    let log_file = prepared.paths().log_file.clone();
    if let Some(dir) = log_file.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_file)
        .with_context(|| format!("cannot open the log file `{}`", log_file.display()))?;
    let _log = super::serve::init_logging(prepared.log_level(), prepared.log_format(), log)?;
    crate::return_memory_in_background();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let running = rt.block_on(prepared.bind()).map_err(super::serve::hinted)?;
    let daemon = std::sync::Arc::clone(running.daemon());
    let socket = daemon.paths().socket.clone();
    let served = rt.spawn(running.serve());
    let watched = tui::watch(&socket, g, Mode::Owned, hint, &|| served.is_finished());
    let drain = daemon.server().table().server().drain_timeout;
    if !served.is_finished() {
        output::message(&format!(
            "draining bitrouter (open requests get up to {} s)",
            drain.as_secs()
        ));
        rt.block_on(daemon.drain(drain + Duration::from_secs(1)));
    }
    let result =
        rt.block_on(async { tokio::time::timeout(drain + Duration::from_secs(10), served).await });
    watched?;
    match result {
        Ok(Ok(Ok(()))) => Ok(ExitCode::SUCCESS),
        Ok(Ok(Err(e))) => Err(e.into()),
        Ok(Err(e)) => Err(anyhow!("the router task failed: {e}")),
        Err(_) => Err(anyhow!("the router did not stop in time")),
    }
}
