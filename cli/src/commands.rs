//! Dispatch from parsed arguments to one command module each.

mod config;
mod init;
mod route;
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
        Command::Init(a) => init::run(&cli.global, &a),
    }
}
