//! The daemon's files — pid file, control socket, log file — beside the home's, all absolute
//! because the daemon runs in another directory; and the pid file's lifecycle.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::home::Paths;

/// The resolved daemon files. Every path is absolute. Sent in `status` replies as `paths`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonPaths {
    pub home: PathBuf,
    pub config: PathBuf,
    pub env_file: PathBuf,
    pub run_dir: PathBuf,
    pub logs_dir: PathBuf,
    pub socket: PathBuf,
    pub pid_file: PathBuf,
    pub log_file: PathBuf,
}

impl DaemonPaths {
    /// `socket_flag` is `--socket`; `configured` is `server.control_socket` from the table
    /// (relative to the home). Precedence: flag, config, `<run-dir>/bitrouter.sock`.
    pub fn resolve(
        paths: &Paths,
        socket_flag: Option<&Path>,
        configured: Option<&str>,
    ) -> DaemonPaths {
        let home = absolute(&paths.home);
        let run_dir = absolute(&paths.run_dir);
        let logs_dir = absolute(&paths.logs_dir);
        let socket = match (socket_flag, configured) {
            (Some(s), _) => absolute(s),
            (None, Some(c)) if !c.is_empty() => home.join(c),
            _ => run_dir.join("bitrouter.sock"),
        };
        DaemonPaths {
            config: absolute(&paths.config),
            env_file: absolute(&paths.env_file),
            pid_file: run_dir.join("bitrouter.pid"),
            log_file: logs_dir.join("bitrouter.log"),
            home,
            run_dir,
            logs_dir,
            socket,
        }
    }

    /// Writes this process's pid (creating the run directory). A failure is the caller's error:
    /// a daemon whose pid file is wrong cannot be told from a stale one.
    pub(crate) fn write_pid(&self) -> Result<(), PidFileError> {
        let err = |source| PidFileError {
            path: self.pid_file.clone(),
            source,
        };
        std::fs::create_dir_all(&self.run_dir).map_err(err)?;
        std::fs::write(&self.pid_file, format!("{}\n", std::process::id())).map_err(err)
    }
}

/// The pid file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the pid file `{}`", path.display())]
pub struct PidFileError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// Removes the socket and (if it is still ours) the pid file when the daemon exits.
#[derive(Debug)]
pub(crate) struct Cleanup(pub(crate) DaemonPaths);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0.socket);
        if crate::process::read_pid(&self.0.pid_file) == i32::try_from(std::process::id()).ok() {
            let _ = std::fs::remove_file(&self.0.pid_file);
        }
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
