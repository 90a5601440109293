//! Dispatch from parsed arguments to one command module each.

mod config;
mod daemon;
mod init;
pub(crate) mod route;
mod serve;

use std::process::ExitCode;

use anyhow::Result;

use crate::args::{Cli, Command, ConfigCommand};

pub(crate) fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Config(ConfigCommand::Validate(a)) => config::validate(&cli.global, &a),
        Command::Config(ConfigCommand::Schema) => config::schema(),
        Command::Route(a) => route::run(&cli.global, &a),
        Command::Serve(a) => serve::run(&cli.global, &a),
        Command::Start(a) => daemon::start(&cli.global, &a),
        Command::Stop(a) => daemon::stop(&cli.global, &a),
        Command::Status(a) => daemon::status(&cli.global, &a),
        Command::Restart(a) => daemon::restart(&cli.global, &a),
        Command::Reload(a) => daemon::reload(&cli.global, &a),
        Command::Init(a) => init::run(&cli.global, &a),
    }
}
