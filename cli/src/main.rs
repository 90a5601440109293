//! `bitrouter`: parse arguments, dispatch, print, exit. No routing logic lives here.

mod args;
mod commands;
mod log;
mod output;
mod tui;

use std::process::ExitCode;

use clap::Parser;

/// jemalloc (see `Cargo.toml`); elsewhere the system's allocator.
#[cfg(all(target_os = "linux", not(target_env = "musl")))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// For the commands that serve: jemalloc's background thread purges freed pages after its
/// decay time (10 s), so the RSS a load raised falls back once it ends, even with no further
/// allocation to trigger it.
pub(crate) fn return_memory_in_background() {
    #[cfg(all(target_os = "linux", not(target_env = "musl")))]
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::debug!(error = %e, "jemalloc's background thread could not start");
    }
}

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            output::error(&e);
            ExitCode::from(2)
        }
    }
}
