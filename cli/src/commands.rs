//! Dispatch from parsed arguments to one command module each, and the glue every command
//! shares: the global flags as `runtime::HomeOptions`, home resolution with its warning.

mod config;
mod daemon;
mod init;
mod keys;
mod ledger;
mod route;
mod serve;
mod tui;

pub(crate) use ledger::open as ledger_store;

use std::process::ExitCode;

use anyhow::Result;
use runtime::{HomeOptions, Paths};

use crate::args::{Cli, Command, ConfigCommand, Global};
use crate::output;

pub(crate) fn run(cli: Cli) -> Result<ExitCode> {
    let Some(command) = cli.command else {
        return tui::bare(&cli.global, cli.listen);
    };
    match command {
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
        Command::Account(a) => keys::account(&cli.global, &a),
        Command::Keygen(a) => keys::keygen(&cli.global, &a),
        Command::Keys(a) => keys::keys(&cli.global, &a),
        Command::Spend(a) => ledger::spend(&cli.global, &a),
        Command::Requests(a) => ledger::requests(&cli.global, &a),
        Command::Tui(a) => tui::attach(&cli.global, &a),
    }
}

pub(crate) fn home_options(g: &Global) -> HomeOptions {
    HomeOptions {
        home_dir: g.home_dir.clone(),
        config_file: g.config_file.clone(),
        env_file: g.env_file.clone(),
        run_dir: g.run_dir.clone(),
        logs_dir: g.logs_dir.clone(),
        db: g.db.clone(),
    }
}

/// The home's paths; a home that could not be scaffolded is a warning, not an error.
pub(crate) fn paths(g: &Global) -> Paths {
    let (paths, problem) = runtime::home::resolve(&home_options(g));
    if let Some(e) = problem {
        output::message(&format!(
            "warning: cannot set up the home `{}`: {}",
            paths.home.display(),
            output::chain(&e)
        ));
    }
    paths
}
