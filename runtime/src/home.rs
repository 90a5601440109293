//! Where things are: the home directory, the config and `.env` files, the run and logs
//! directories (SPEC §1), resolved once from the global flags. Scaffolding of `~/.bitrouter`
//! happens here; nothing else writes the home except `init` (through `setup`).

pub mod files;
pub mod setup;
pub mod template;

use std::path::{Path, PathBuf};

pub use files::FileError;

/// The global flags every command accepts, as the CLI parsed them.
#[derive(Clone, Debug, Default)]
pub struct HomeOptions {
    /// `--home-dir`.
    pub home_dir: Option<PathBuf>,
    /// `-c/--config-file`.
    pub config_file: Option<PathBuf>,
    /// `--env-file`.
    pub env_file: Option<PathBuf>,
    /// `--run-dir`.
    pub run_dir: Option<PathBuf>,
    /// `--logs-dir`.
    pub logs_dir: Option<PathBuf>,
    /// `--db`: the ledger's database URL, beating `DATABASE_URL` and `database.url`.
    pub db: Option<String>,
}

/// The resolved home and its files, as the flags name them (relative paths stay relative, so
/// diagnostics name the file the way the operator wrote it).
#[derive(Clone, Debug)]
pub struct Paths {
    /// The resolved home directory.
    pub home: PathBuf,
    /// Pid file and control socket (`--run-dir`, default `<home>/run`).
    pub run_dir: PathBuf,
    /// Log files (`--logs-dir`, default `<home>/logs`).
    pub logs_dir: PathBuf,
    pub config: PathBuf,
    /// `-c` was given: a missing file is an error rather than "use the built-in default".
    pub config_explicit: bool,
    pub env_file: PathBuf,
    pub env_explicit: bool,
    /// `--db` (see [`crate::config::database_url`]).
    pub db: Option<String>,
}

/// Home resolution: `--home-dir`; the config file's directory when `-c` names one (its `.env`,
/// `run/` and `logs/` sit beside it, as the self-hosting guide's `/etc/bitrouter` layout
/// expects); `.` if `./bitrouter.yaml` exists; `$BITROUTER_HOME` if it is a directory;
/// `~/.bitrouter`, scaffolded when anything of it is missing. A scaffolding failure is
/// returned beside the paths: the caller warns and goes on.
pub fn resolve(o: &HomeOptions) -> (Paths, Option<FileError>) {
    let (home, source) = chosen_home(o).unwrap_or_else(default_home);
    let problem = if source == Source::UserDefault {
        files::scaffold(&home).err()
    } else {
        None
    };
    (paths_in(o, home), problem)
}

/// Resolution for `bitrouter init`: as [`resolve`], except that with no home chosen (no flag,
/// no `./bitrouter.yaml`, no `$BITROUTER_HOME`) the file goes to the current directory — the
/// self-hosting guide's `bitrouter init  # writes ./bitrouter.yaml` — and nothing is scaffolded.
pub fn resolve_for_init(o: &HomeOptions) -> Paths {
    let home = match chosen_home(o).unwrap_or_else(default_home) {
        (_, Source::UserDefault) => PathBuf::from("."),
        (h, _) => h,
    };
    paths_in(o, home)
}

/// The home the flags choose: `--home-dir`, else the directory of `-c`'s file.
fn chosen_home(o: &HomeOptions) -> Option<(PathBuf, Source)> {
    if let Some(h) = &o.home_dir {
        return Some((h.clone(), Source::Flag));
    }
    let dir = o.config_file.as_deref()?.parent()?;
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir.to_path_buf()
    };
    Some((dir, Source::ConfigFile))
}

fn paths_in(o: &HomeOptions, home: PathBuf) -> Paths {
    Paths {
        run_dir: o.run_dir.clone().unwrap_or_else(|| home.join("run")),
        logs_dir: o.logs_dir.clone().unwrap_or_else(|| home.join("logs")),
        config: o
            .config_file
            .clone()
            .unwrap_or_else(|| home.join("bitrouter.yaml")),
        config_explicit: o.config_file.is_some(),
        env_file: o.env_file.clone().unwrap_or_else(|| home.join(".env")),
        env_explicit: o.env_file.is_some(),
        db: o.db.clone(),
        home,
    }
}

/// Where the home came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Flag,
    ConfigFile,
    CurrentDir,
    EnvVar,
    /// `~/.bitrouter`, the only home that is scaffolded.
    UserDefault,
}

fn default_home() -> (PathBuf, Source) {
    if Path::new("bitrouter.yaml").is_file() {
        return (PathBuf::from("."), Source::CurrentDir);
    }
    if let Some(h) = std::env::var_os("BITROUTER_HOME").map(PathBuf::from) {
        if h.is_dir() {
            return (h, Source::EnvVar);
        }
    }
    let user_home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    (user_home.join(".bitrouter"), Source::UserDefault)
}
