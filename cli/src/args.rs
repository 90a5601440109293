//! Command-line arguments (clap derive). Doc comments here are the `--help` text.
//!
//! Exit codes: 0 success; 1 the configuration is invalid or the model does not route;
//! 2 a usage, I/O or runtime error; 3 (`status` only) the daemon is not running.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// BitRouter: a self-hosted LLM API router.
#[derive(Debug, Parser)]
#[command(name = "bitrouter", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    /// With no command: the listen address, overriding `server.listen` (e.g. `127.0.0.1:0`).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// With no command: the terminal UI (first run: the setup wizard), beside the router.
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// Options every command accepts.
#[derive(Clone, Debug, Args)]
pub(crate) struct Global {
    /// The BitRouter home (default: `.` if it has bitrouter.yaml, else $BITROUTER_HOME, else ~/.bitrouter).
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) home_dir: Option<PathBuf>,
    /// The configuration file (default: <home>/bitrouter.yaml).
    #[arg(
        short = 'c',
        long = "config-file",
        visible_alias = "config",
        global = true,
        value_name = "PATH"
    )]
    pub(crate) config_file: Option<PathBuf>,
    /// The .env file to load (default: <home>/.env); variables already set in the environment win.
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) env_file: Option<PathBuf>,
    /// Directory for the pid file and control socket (default: <home>/run).
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) run_dir: Option<PathBuf>,
    /// Directory for log files (default: <home>/logs).
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) logs_dir: Option<PathBuf>,
    /// Database URL (overrides DATABASE_URL and database.url).
    #[arg(long, global = true, value_name = "DATABASE_URL")]
    pub(crate) db: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check or describe the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Show the compiled fallback chain for a model name: from the running daemon's live
    /// table when one answers, else from the configuration file.
    Route(RouteArgs),
    /// Run the router in the foreground (logs on stdout; the systemd entry point).
    Serve(ServeArgs),
    /// Start the router as a detached daemon (logs to <logs-dir>/bitrouter.log); refuses if one is running.
    Start(StartArgs),
    /// Stop the daemon gracefully: stop accepting, let open requests finish, exit.
    /// Not running is not an error (exit 0, like `systemctl stop`).
    Stop(ControlArgs),
    /// Show the daemon's pid, listen address, models, config hash and resolved paths
    /// (exit 0 running, 3 stopped, 4 a live process in the pid file does not answer; as LSB
    /// `status` does).
    Status(ControlArgs),
    /// Drain the running daemon (open requests get up to 30 s), then start a fresh one.
    Restart(StartArgs),
    /// Recompile the configuration and swap it in live; forwards provider API keys set in this
    /// shell. On errors the daemon keeps its table and every diagnostic is printed (exit 1).
    Reload(ControlArgs),
    /// Set up providers and keys, and write bitrouter.yaml and .env (interactive unless --yes).
    Init(InitArgs),
    /// Manage the accounts (Ed25519 keypairs under <home>/.keys) that sign callers' API keys.
    Account(AccountArgs),
    /// Mint an API key for callers: a token signed by the active account.
    Keygen(KeygenArgs),
    /// List, show, remove or revoke the API keys saved with `keygen --name`.
    Keys(KeysArgs),
    /// Cost and tokens from the usage ledger by model, provider, key, day or hour (reads the
    /// database directly; no daemon needed).
    Spend(SpendArgs),
    /// The latest requests in the usage ledger (reads the database directly).
    Requests(RequestsArgs),
    /// The terminal UI, attached to the running daemon (`bitrouter` alone also runs the
    /// router when none is running).
    Tui(TuiArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TuiArgs {
    /// The control socket (default: `server.control_socket`, else <run-dir>/bitrouter.sock).
    #[arg(long, value_name = "PATH")]
    pub(crate) socket: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct SpendArgs {
    /// Start of the window: `24h`, `7d`, `30d` back from now, or a UTC date
    /// (`2025-01-31`, `2025-01-31T12:00`).
    #[arg(long, value_name = "SPAN|DATE", default_value = "30d")]
    pub(crate) since: String,
    /// End of the window (exclusive; default: now), as `--since`.
    #[arg(long, value_name = "SPAN|DATE")]
    pub(crate) until: Option<String>,
    /// How rows are grouped.
    #[arg(long, value_enum, default_value = "model")]
    pub(crate) by: SpendBy,
    /// Only the requests of this key (its name, else its token id).
    #[arg(long, value_name = "NAME")]
    pub(crate) key: Option<String>,
    /// Print JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum SpendBy {
    /// The model as callers named it.
    Model,
    Provider,
    Key,
    /// UTC days.
    Day,
    /// UTC hours.
    Hour,
}

#[derive(Debug, Args)]
pub(crate) struct RequestsArgs {
    /// How many of the latest requests.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub(crate) last: u32,
    /// Keep printing new requests as they are written (Ctrl-C stops).
    #[arg(long)]
    pub(crate) follow: bool,
    /// Print JSON on stdout (one object per line with `--follow`).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("action").args(["generate", "list", "set", "export_public"])))]
pub(crate) struct AccountArgs {
    /// Create a new account and make it the active one.
    #[arg(long)]
    pub(crate) generate: bool,
    /// A label for the new account (with `--generate`).
    #[arg(long, value_name = "LABEL", requires = "generate")]
    pub(crate) name: Option<String>,
    /// List the accounts (the default).
    #[arg(long)]
    pub(crate) list: bool,
    /// Make the account with this id prefix or label the active one.
    #[arg(long, value_name = "ID|LABEL")]
    pub(crate) set: Option<String>,
    /// Print an account's public key, for `server.auth.trusted_keys` on other machines.
    #[arg(long, value_name = "ID|LABEL")]
    pub(crate) export_public: Option<String>,
    /// Print JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// What the key is for: `api` (model calls) or `admin` (the admin surfaces).
    #[arg(long, value_enum, default_value = "api")]
    pub(crate) scope: KeyScope,
    /// When it expires: `30d`, `12h`, `5m`, an RFC 3339 time or Unix seconds (at most
    /// `server.auth.max_token_lifetime` away, default 365d).
    #[arg(long, value_name = "WHEN")]
    pub(crate) exp: String,
    /// Model patterns the key may call (`*` and `?` wildcards), comma-separated.
    #[arg(long, value_name = "PATTERN,...", value_delimiter = ',')]
    pub(crate) models: Vec<String>,
    /// USD the key may spend per `--budget-window`.
    #[arg(long, value_name = "USD")]
    pub(crate) budget: Option<f64>,
    /// The period the budget covers.
    #[arg(long, value_enum, requires = "budget")]
    pub(crate) budget_window: Option<Window>,
    /// Requests per minute.
    #[arg(long, value_name = "N")]
    pub(crate) rpm: Option<u32>,
    /// Tokens per minute (input + output; a request reserves its input estimate plus its
    /// maximum output tokens, and settles to what it used).
    #[arg(long, value_name = "N")]
    pub(crate) tpm: Option<u32>,
    /// Requests in flight at once.
    #[arg(long, value_name = "N")]
    pub(crate) concurrency: Option<u32>,
    /// Save the key under this name (mode 0600) for `bitrouter keys`.
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// Print JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum KeyScope {
    Api,
    Admin,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Window {
    Day,
    Month,
    Total,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("action").args(["list", "show", "rm", "revoke"])))]
pub(crate) struct KeysArgs {
    /// List the saved keys (the default).
    #[arg(long)]
    pub(crate) list: bool,
    /// Show a saved key's claims and the key itself.
    #[arg(long, value_name = "NAME")]
    pub(crate) show: Option<String>,
    /// Delete a saved key's file (the key stays valid until it expires or is revoked).
    #[arg(long, value_name = "NAME")]
    pub(crate) rm: Option<String>,
    /// Revoke a saved key: routers refuse it from their next reload on.
    #[arg(long, value_name = "NAME")]
    pub(crate) revoke: Option<String>,
    /// Print JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    #[command(flatten)]
    pub(crate) serve: ServeArgs,
    /// Print JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ControlArgs {
    /// The control socket (default: `server.control_socket`, else <run-dir>/bitrouter.sock).
    #[arg(long, value_name = "PATH")]
    pub(crate) socket: Option<PathBuf>,
    /// Print JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Do not prompt: use the flags, and keys from the environment (for scripts and CI).
    #[arg(short = 'y', long)]
    pub(crate) yes: bool,
    /// Replace an existing configuration file.
    #[arg(long)]
    pub(crate) force: bool,
    /// A built-in provider to configure: openai, anthropic, google, openrouter, ... (repeatable).
    #[arg(long = "provider", value_name = "ID")]
    pub(crate) providers: Vec<String>,
    /// A custom compatible provider: `NAME=openai|anthropic:BASE_URL[#MODEL]` (repeatable); its
    /// key variable is `<NAME>_API_KEY`.
    #[arg(long = "custom", value_name = "SPEC")]
    pub(crate) custom: Vec<String>,
    /// Require an API key from callers (`skip_auth: false`): creates an account if there is
    /// none and mints a first key, `default`, valid for 30 days.
    #[arg(long)]
    pub(crate) require_keys: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Listen address, overriding `server.listen` (e.g. `127.0.0.1:0` for any free port).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// Allow `skip_auth: true` on a non-loopback address (anyone who can reach it can spend your keys).
    #[arg(long)]
    pub(crate) allow_insecure_public: bool,
    /// The control socket (default: `server.control_socket`, else <run-dir>/bitrouter.sock).
    #[arg(long, value_name = "PATH")]
    pub(crate) socket: Option<PathBuf>,
    /// Record no usage: no ledger rows (`spend` sees none of this process's traffic) and
    /// budgets counted in memory only, from zero at each start.
    #[arg(long)]
    pub(crate) no_ledger: bool,
    /// Started by `bitrouter start`: leave the terminal's session first.
    #[arg(long, hide = true)]
    pub(crate) detached: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Check the configuration and report every problem (exit 0 valid, 1 invalid, 2 unreadable).
    Validate(ValidateArgs),
    /// Print the JSON Schema of the configuration file.
    Schema,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Treat unset environment variables as errors (as `serve` does).
    #[arg(long)]
    pub(crate) strict: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RouteArgs {
    /// A model name as a caller would send it: `smart`, `openai:gpt-4o`, `@preset`, `model:variant`.
    pub(crate) model: String,
    /// Print JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Show the protocol chosen for a caller speaking this protocol.
    #[arg(long, value_enum, value_name = "PROTOCOL")]
    pub(crate) inbound: Option<InboundProtocol>,
    /// Ask the daemon on this control socket (default: the daemon of this home, when one
    /// answers; its live table).
    #[arg(long, value_name = "PATH", conflicts_with = "file")]
    pub(crate) socket: Option<PathBuf>,
    /// Compile the configuration file even when a daemon is running.
    #[arg(long)]
    pub(crate) file: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
#[value(rename_all = "snake_case")]
pub(crate) enum InboundProtocol {
    ChatCompletions,
    Responses,
    Messages,
    GenerateContent,
}
