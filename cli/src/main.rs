//! `bitrouter`: parse arguments, dispatch, print, exit. No routing logic lives here.

mod args;
mod commands;
mod log;
mod output;
mod tui;

use std::process::ExitCode;

use clap::Parser;

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
