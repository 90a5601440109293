//! `bitrouter serve`: compile the configuration, refuse unsafe listen settings, and run the
//! data plane in the foreground until SIGINT/SIGTERM, draining open requests before exit.

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;

use anyhow::{Context, Result};
use compiler::diagnostic::render;
use compiler::{EnvMode, SourceFile};

use crate::args::{Global, ServeArgs};
use crate::{home, output};

pub(crate) fn run(g: &Global, a: &ServeArgs) -> Result<ExitCode> {
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
    init_logging(&table.server().log_level);
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
        server.run(listener, shutdown_signal()).await?;
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
    tracing::info!("shutting down: draining open requests");
}
