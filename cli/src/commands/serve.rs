//! `bitrouter serve`: run the router in the foreground (`runtime::daemon`) until SIGINT/SIGTERM
//! or `stop`/`drain` on the control socket, logs on stdout. SIGHUP and the socket's `reload`
//! swap the table live.

use std::process::ExitCode;

use anyhow::{Context, Result};
use runtime::{StartError, StartOptions};

use crate::args::{Global, ServeArgs};
use crate::output::{self, Hinted};

pub(crate) fn run(g: &Global, a: &ServeArgs) -> Result<ExitCode> {
    // First, so a terminal's Ctrl-C or hangup can no longer reach a daemon `start` spawned.
    let detach_error = if a.detached {
        runtime::process::detach().err()
    } else {
        None
    };
    let options = StartOptions {
        listen: a.listen.clone(),
        allow_insecure_public: a.allow_insecure_public,
        socket: a.socket.clone(),
        signals: true,
        observe: Default::default(),
        ledger: runtime::ledger::LedgerOptions {
            enabled: !a.no_ledger,
            ..Default::default()
        },
    };
    let prepared = match runtime::daemon::prepare(super::paths(g), options) {
        Ok(p) => p,
        Err(e) => return refused(e),
    };
    let (file, warnings) = prepared.warnings();
    output::diagnostics(file, warnings);
    // Held to the end: dropping it flushes the log lines still queued.
    let _log = init_logging(
        prepared.log_level(),
        prepared.log_format(),
        std::io::stdout(),
    )?;
    crate::return_memory_in_background();
    if let Some(e) = detach_error {
        tracing::warn!(error = %e, "setsid failed; the daemon stays in the terminal's session");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    rt.block_on(async move {
        let running = prepared.bind().await.map_err(hinted)?;
        output::data(&format!("listening on http://{}", running.local_addr()));
        running.serve().await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Refusals (an invalid configuration, an unsafe listen setting, a daemon already running)
/// exit 1; anything else is an error (exit 2).
pub(super) fn refused(e: StartError) -> Result<ExitCode> {
    match &e {
        StartError::Invalid { file, diagnostics } => output::diagnostics(file, diagnostics),
        StartError::Exposed(_) | StartError::AlreadyRunning { .. } => {}
        _ => return Err(hinted(e)),
    }
    output::fail(&e.to_string(), e.hint());
    Ok(ExitCode::from(1))
}

pub(super) fn hinted(e: StartError) -> anyhow::Error {
    match e.hint() {
        Some(h) => Hinted::wrap(e, h),
        None => e.into(),
    }
}

/// `server.log_level` (`RUST_LOG` wins) and `server.log_format`: one line per event, text or
/// a JSON object (`request finished` lines carry their fields either way). Lines are buffered
/// and written by a thread every 50 ms ([`crate::log`]); past 8 MiB waiting, new ones are
/// dropped (and counted in the log) rather than slowing requests down.
pub(super) fn init_logging(
    level: &str,
    format: compiler::table::LogFormat,
    out: impl std::io::Write + Send + 'static,
) -> Result<crate::log::Guard> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) =
        crate::log::writer(out).context("could not start the log writer thread")?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false);
    let _ = match format {
        compiler::table::LogFormat::Json => builder.json().flatten_event(true).try_init(),
        compiler::table::LogFormat::Text => builder.try_init(),
    };
    Ok(guard)
}
