//! `bitrouter serve`: compile the configuration, refuse unsafe listen settings, and run the
//! data plane in the foreground until SIGINT/SIGTERM (or `stop`/`drain` on the control
//! socket), draining open requests before exit. SIGHUP and the socket's `reload` recompile and
//! swap the table live (`control::server`).

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use compiler::diagnostic::render;
use compiler::{EnvMode, SourceFile};

use crate::args::{Global, ServeArgs};
use crate::control::paths::DaemonPaths;
use crate::control::server::{BindError, Daemon};
use crate::{control, home, output};

pub(crate) fn run(g: &Global, a: &ServeArgs) -> Result<ExitCode> {
    // First, so a terminal's Ctrl-C or hangup can no longer reach a daemon `start` spawned.
    let detach_error = if a.detached {
        control::detach().err()
    } else {
        None
    };
    let paths = home::resolve(g);
    let text = home::read_config(&paths, false)?.unwrap_or_default();
    let env = home::environment(&paths)?;
    let source = SourceFile::new(paths.config.display().to_string(), text);
    let compiled = match compiler::compile(&source, &env, EnvMode::Strict) {
        Ok(c) => c,
        Err(d) => {
            output::message(&render::render_human(&source, &d, output::color()));
            output::fail(
                "the configuration is invalid; not starting",
                Some("fix the errors above; `bitrouter config validate` checks the file"),
            );
            return Ok(ExitCode::from(1));
        }
    };
    if !compiled.warnings.is_empty() {
        output::message(&render::render_human(
            &source,
            &compiled.warnings,
            output::color(),
        ));
    }
    let table = compiled.table;
    let listen = a
        .listen
        .clone()
        .unwrap_or_else(|| table.server().listen.clone());
    let addr = resolve_listen(&listen)?;
    if table.server().skip_auth && !addr.ip().is_loopback() && !a.allow_insecure_public {
        output::fail(
            &format!("refusing to serve without authentication on non-loopback address {addr}"),
            Some(
                "listen on 127.0.0.1, turn `server.skip_auth` off, or pass \
                 --allow-insecure-public if this network is trusted",
            ),
        );
        return Ok(ExitCode::from(1));
    }
    let daemon_paths = DaemonPaths::resolve(
        g,
        a.socket.as_deref(),
        table.server().control_socket.as_deref(),
    );
    // Before the TCP port, so a second daemon for the same home says so plainly.
    let control = match control::server::bind(&daemon_paths) {
        Ok(l) => Ok(l),
        Err(BindError::Running(socket)) => {
            output::fail(
                &control::server::already_running(&socket).to_string(),
                Some("`bitrouter status` shows it; `bitrouter stop` stops it"),
            );
            return Ok(ExitCode::from(1));
        }
        Err(BindError::Other(e)) => Err(e),
    };
    let _cleanup = control
        .is_ok()
        .then(|| control::server::Cleanup(daemon_paths.clone()));
    init_logging(&table.server().log_level);
    if let Some(e) = detach_error {
        tracing::warn!(error = %e, "setsid failed; the daemon stays in the terminal's session");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            output::Hinted::wrap(
                anyhow::Error::new(e).context(format!("could not listen on {addr}")),
                "is another process using the port? choose one with `--listen` or `server.listen`",
            )
        })?;
        let bound = listener.local_addr()?;
        output::data(&format!("listening on http://{bound}"));
        if table.server().skip_auth {
            tracing::warn!("skip_auth is on: every caller that can reach {bound} is trusted");
        }
        tracing::info!(
            models = table.routable_model_count(),
            config_hash = table.content_hash(),
            "serving"
        );
        let server = dataplane::Server::new(table);
        let daemon = Daemon::new(
            Arc::clone(&server),
            daemon_paths,
            paths,
            bound,
            a.listen.is_some(),
            a.allow_insecure_public,
        );
        match control {
            Ok(l) => {
                tracing::info!(socket = %daemon.paths.socket.display(), "control socket ready");
                tokio::spawn(control::server::serve(Arc::clone(&daemon), l));
            }
            Err(e) => tracing::warn!(
                "no control socket ({e:#}); `bitrouter stop/status/reload` cannot reach this \
                 process, SIGHUP still reloads"
            ),
        }
        tokio::spawn(control::server::sighup_loop(Arc::clone(&daemon)));
        let stop = daemon.stop_requested();
        let shutdown = async move {
            tokio::select! {
                () = shutdown_signal() => {}
                () = stop => {}
            }
            tracing::info!("shutting down: draining open requests");
        };
        server.run(listener, shutdown).await?;
        daemon.finished().await;
        tracing::info!("stopped");
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn resolve_listen(listen: &str) -> Result<SocketAddr> {
    let mut addrs = listen.to_socket_addrs().map_err(|e| {
        output::Hinted::wrap(
            anyhow::Error::new(e).context(format!("`{listen}` is not a listen address")),
            "write it as host:port, e.g. 127.0.0.1:4356",
        )
    })?;
    addrs
        .next()
        .with_context(|| format!("`{listen}` resolves to no address"))
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .try_init();
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
