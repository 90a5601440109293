//! Where things are: the home directory, the config file and the `.env` file (SPEC §1), and
//! the environment map handed to the compiler.

pub(crate) mod files;
pub(crate) mod template;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::args::Global;
use crate::output;

#[derive(Debug)]
pub(crate) struct Paths {
    /// The resolved home directory.
    pub(crate) home: PathBuf,
    /// Pid file and control socket (`--run-dir`, default `<home>/run`).
    pub(crate) run_dir: PathBuf,
    /// Log files (`--logs-dir`, default `<home>/logs`).
    pub(crate) logs_dir: PathBuf,
    pub(crate) config: PathBuf,
    /// `-c` was given: a missing file is an error rather than "use the built-in default".
    pub(crate) config_explicit: bool,
    pub(crate) env_file: PathBuf,
    pub(crate) env_explicit: bool,
}

/// Home resolution: `--home-dir`; the config file's directory when `-c` names one (its `.env`,
/// `run/` and `logs/` sit beside it, as the self-hosting guide's `/etc/bitrouter` layout
/// expects); `.` if `./bitrouter.yaml` exists; `$BITROUTER_HOME` if it is a directory;
/// `~/.bitrouter`, scaffolded when anything of it is missing.
pub(crate) fn resolve(g: &Global) -> Paths {
    let (home, source) = chosen_home(g).unwrap_or_else(default_home);
    if source == Source::UserDefault {
        if let Err(e) = files::scaffold(&home) {
            output::message(&format!(
                "warning: cannot set up the home `{}`: {e:#}",
                home.display()
            ));
        }
    }
    paths_in(g, home)
}

/// Resolution for `bitrouter init`: as [`resolve`], except that with no home chosen (no flag,
/// no `./bitrouter.yaml`, no `$BITROUTER_HOME`) the file goes to the current directory — the
/// self-hosting guide's `bitrouter init  # writes ./bitrouter.yaml` — and nothing is scaffolded.
pub(crate) fn resolve_for_init(g: &Global) -> Paths {
    let home = match chosen_home(g).unwrap_or_else(default_home) {
        (_, Source::UserDefault) => PathBuf::from("."),
        (h, _) => h,
    };
    paths_in(g, home)
}

/// The home the flags choose: `--home-dir`, else the directory of `-c`'s file.
fn chosen_home(g: &Global) -> Option<(PathBuf, Source)> {
    if let Some(h) = &g.home_dir {
        return Some((h.clone(), Source::Flag));
    }
    let dir = g.config_file.as_deref()?.parent()?;
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir.to_path_buf()
    };
    Some((dir, Source::ConfigFile))
}

fn paths_in(g: &Global, home: PathBuf) -> Paths {
    Paths {
        run_dir: g.run_dir.clone().unwrap_or_else(|| home.join("run")),
        logs_dir: g.logs_dir.clone().unwrap_or_else(|| home.join("logs")),
        config: g
            .config_file
            .clone()
            .unwrap_or_else(|| home.join("bitrouter.yaml")),
        config_explicit: g.config_file.is_some(),
        env_file: g.env_file.clone().unwrap_or_else(|| home.join(".env")),
        env_explicit: g.env_file.is_some(),
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

/// The process environment plus the `.env` file; the process environment wins.
pub(crate) fn environment(paths: &Paths) -> Result<HashMap<String, String>> {
    let mut env: HashMap<String, String> = HashMap::new();
    if paths.env_file.is_file() {
        let iter = dotenvy::from_path_iter(&paths.env_file)
            .with_context(|| format!("cannot read `{}`", paths.env_file.display()))?;
        for item in iter {
            let (k, v) =
                item.with_context(|| format!("invalid line in `{}`", paths.env_file.display()))?;
            env.insert(k, v);
        }
    } else if paths.env_explicit {
        bail!("the env file `{}` does not exist", paths.env_file.display());
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
pub(crate) fn read_config(paths: &Paths, required: bool) -> Result<Option<String>> {
    match std::fs::read_to_string(&paths.config) {
        Ok(text) => Ok(Some(text)),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound && !paths.config_explicit && !required =>
        {
            Ok(None)
        }
        Err(e) => Err(e).with_context(|| {
            format!(
                "cannot read the configuration file `{}`",
                paths.config.display()
            )
        }),
    }
}
