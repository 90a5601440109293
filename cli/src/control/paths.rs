//! Where the daemon keeps its files: `home::Paths` (run dir for the pid file and control socket,
//! logs dir), made absolute because the daemon runs in another directory.

use std::path::{Path, PathBuf};

use crate::args::Global;
use crate::home;

/// The resolved daemon files. Every path is absolute (the daemon runs in another directory).
#[derive(Debug, Clone)]
pub(crate) struct DaemonPaths {
    pub(crate) home: PathBuf,
    pub(crate) config: PathBuf,
    pub(crate) env_file: PathBuf,
    pub(crate) run_dir: PathBuf,
    pub(crate) logs_dir: PathBuf,
    pub(crate) socket: PathBuf,
    pub(crate) pid_file: PathBuf,
    pub(crate) log_file: PathBuf,
}

impl DaemonPaths {
    /// `socket_flag` is `--socket`; `configured` is `server.control_socket` from the table
    /// (relative to the home). Precedence: flag, config, `<run-dir>/bitrouter.sock`.
    pub(crate) fn resolve(
        g: &Global,
        socket_flag: Option<&Path>,
        configured: Option<&str>,
    ) -> DaemonPaths {
        let paths = home::resolve(g);
        let config = absolute(&paths.config);
        let home = absolute(&paths.home);
        let run_dir = absolute(&paths.run_dir);
        let logs_dir = absolute(&paths.logs_dir);
        let socket = match (socket_flag, configured) {
            (Some(s), _) => absolute(s),
            (None, Some(c)) if !c.is_empty() => home.join(c),
            _ => run_dir.join("bitrouter.sock"),
        };
        DaemonPaths {
            env_file: absolute(&paths.env_file),
            pid_file: run_dir.join("bitrouter.pid"),
            log_file: logs_dir.join("bitrouter.log"),
            home,
            config,
            run_dir,
            logs_dir,
            socket,
        }
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "home": self.home, "config": self.config, "env_file": self.env_file,
            "run_dir": self.run_dir, "logs_dir": self.logs_dir, "socket": self.socket,
            "pid_file": self.pid_file, "log_file": self.log_file,
        })
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Is process `pid` alive? A zombie (exited, not yet reaped) counts as gone.
pub(crate) fn process_alive(pid: i32) -> bool {
    #[cfg(target_os = "linux")]
    {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state is the first field after the parenthesised command name.
            Ok(stat) => stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z" && state != "X"),
            Err(_) => false,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        rustix::process::Pid::from_raw(pid)
            .is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
    }
}

/// The pid in the pid file, if it holds one.
pub(crate) fn read_pid(pid_file: &Path) -> Option<i32> {
    std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|&p: &i32| p > 0)
}
