//! Loading a configuration — the one sequence every command uses: read the file (or the
//! built-in default when none exists at the default location), build the environment (the
//! `.env` file under the process environment, then what a `reload` caller forwarded), and
//! compile in the mode the command needs. `locate` adds the daemon's files to that.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};

use compiler::{Compiled, Diagnostic, EnvMode, RoutingTable, SourceFile};

use crate::daemon::DaemonPaths;
use crate::home::Paths;

/// How to load.
#[derive(Clone, Copy, Debug)]
pub struct LoadOptions<'a> {
    /// Strict (`serve`, `reload`: an unset `${VAR}` is an error) or lenient.
    pub mode: EnvMode,
    /// A missing file at the default location is an error too (`config validate`), rather
    /// than the built-in default.
    pub require_file: bool,
    /// Variables that win over the process environment (keys a `reload` caller forwarded).
    pub forwarded: Option<&'a BTreeMap<String, String>>,
}

impl LoadOptions<'_> {
    pub fn new(mode: EnvMode) -> LoadOptions<'static> {
        LoadOptions {
            mode,
            require_file: false,
            forwarded: None,
        }
    }
}

/// A configuration read and compiled.
#[derive(Debug)]
pub struct Loaded {
    /// The text, named by its path as the flags wrote it (diagnostics point into it).
    pub source: SourceFile,
    /// The table and warnings, or every diagnostic.
    pub compiled: Result<Compiled, Vec<Diagnostic>>,
}

impl Loaded {
    pub fn table(&self) -> Option<&RoutingTable> {
        self.compiled.as_ref().ok().map(|c| &c.table)
    }
}

/// Why a configuration could not be loaded at all (as opposed to compiled with errors).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the configuration file `{}`", path.display())]
    Config {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read `{}`", path.display())]
    EnvFile {
        path: PathBuf,
        #[source]
        source: dotenvy::Error,
    },
    #[error("invalid line in `{}`", path.display())]
    EnvLine {
        path: PathBuf,
        #[source]
        source: dotenvy::Error,
    },
    #[error("the env file `{}` does not exist", path.display())]
    EnvFileMissing { path: PathBuf },
}

/// Reads, builds the environment, compiles. Diagnostics are data (`Loaded::compiled`); only
/// unreadable files are errors.
pub fn load(paths: &Paths, o: LoadOptions<'_>) -> Result<Loaded, LoadError> {
    let text = read_config(paths, o.require_file)?.unwrap_or_default();
    let mut env = environment(paths)?;
    if let Some(f) = o.forwarded {
        env.extend(f.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let source = SourceFile::new(paths.config.display().to_string(), text);
    let compiled = compiler::compile(&source, &env, o.mode);
    Ok(Loaded { source, compiled })
}

/// The daemon's files for this home, and the configuration loaded leniently on the way: its
/// `server.control_socket` names the socket unless `--socket` does. A configuration that does
/// not load or compile does not stop `stop` or `status`; it is returned for the caller to use
/// or ignore.
#[derive(Debug)]
pub struct Located {
    pub daemon: DaemonPaths,
    pub config: Result<Loaded, LoadError>,
}

pub fn locate(paths: &Paths, socket_flag: Option<&Path>) -> Located {
    let config = load(paths, LoadOptions::new(EnvMode::Lenient));
    let configured = config
        .as_ref()
        .ok()
        .and_then(Loaded::table)
        .and_then(|t| t.server().control_socket.clone());
    Located {
        daemon: DaemonPaths::resolve(paths, socket_flag, configured.as_deref()),
        config,
    }
}

/// The process environment plus the `.env` file; the process environment wins.
/// The ledger's database URL: `--db`, else `DATABASE_URL` (the process environment, then
/// `.env`), else `database.url`, else the home's SQLite file (`<home>/bitrouter.db`).
pub fn database_url(paths: &Paths, table: Option<&RoutingTable>) -> String {
    if let Some(db) = paths.db.as_ref().filter(|d| !d.is_empty()) {
        return db.clone();
    }
    let from_env = std::env::var("DATABASE_URL").ok().or_else(|| {
        environment(paths)
            .ok()
            .and_then(|mut e| e.remove("DATABASE_URL"))
    });
    if let Some(url) = from_env.filter(|u| !u.is_empty()) {
        return url;
    }
    if let Some(url) = table.and_then(|t| t.server().database_url.clone()) {
        return url;
    }
    crate::ledger::sqlite_url(&paths.home.join("bitrouter.db"))
}

pub fn environment(paths: &Paths) -> Result<HashMap<String, String>, LoadError> {
    let mut env: HashMap<String, String> = HashMap::new();
    if paths.env_file.is_file() {
        let path = || paths.env_file.clone();
        let iter =
            dotenvy::from_path_iter(&paths.env_file).map_err(|source| LoadError::EnvFile {
                path: path(),
                source,
            })?;
        for item in iter {
            let (k, v) = item.map_err(|source| LoadError::EnvLine {
                path: path(),
                source,
            })?;
            env.insert(k, v);
        }
    } else if paths.env_explicit {
        return Err(LoadError::EnvFileMissing {
            path: paths.env_file.clone(),
        });
    }
    for (k, v) in std::env::vars_os() {
        if let (Ok(k), Ok(v)) = (k.into_string(), v.into_string()) {
            env.insert(k, v);
        }
    }
    Ok(env)
}

/// The configuration text, or `None` when no file exists at the default location (the
/// built-in default applies: loopback, registry providers, keys from the environment).
fn read_config(paths: &Paths, required: bool) -> Result<Option<String>, LoadError> {
    match std::fs::read_to_string(&paths.config) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound && !paths.config_explicit && !required => {
            Ok(None)
        }
        Err(source) => Err(LoadError::Config {
            path: paths.config.clone(),
            source,
        }),
    }
}

/// What `reload` forwards: the variables a compile of the configuration at `config` reads —
/// the compiler's own answer (`compiler::env::Recording`), built-in registry credentials
/// included — that are set in this process's environment. An unreadable file reads as empty
/// (the registry's names remain).
pub fn forwarded_env(config: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(config).unwrap_or_default();
    let source = SourceFile::new(config.display().to_string(), text);
    let recording = compiler::env::Recording::new(&());
    let _ = compiler::compile(&source, &recording, EnvMode::Lenient);
    recording
        .into_names()
        .into_iter()
        .filter_map(|n| std::env::var(&n).ok().map(|v| (n, v)))
        .collect()
}
