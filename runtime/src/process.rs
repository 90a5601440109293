//! The daemon as a process, seen from outside: leaving the terminal's session, the pid file,
//! liveness, and waiting for a spawned daemon to answer or an old one to exit (what
//! `bitrouter start/stop/restart` do around the control socket).

use std::fmt::Write as _;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::control::client::{self, ClientError, Probe};
use crate::control::proto::Status;
use crate::daemon::DaemonPaths;

/// Leaves the controlling terminal's session (`bitrouter start` runs `serve --detached`).
///
/// The classic double fork is not possible here without `unsafe` (`fork`/`pre_exec`), which
/// this workspace forbids. Instead `start` spawns `serve` as an ordinary child (stdin null,
/// output to the log file, not waited for) and the child calls `setsid()` itself as its first
/// act: a fresh session with no controlling terminal, so closing the terminal or pressing
/// Ctrl-C there never reaches the daemon. The child is not a process-group leader (it was not
/// spawned with `process_group`), which is what makes `setsid()` succeed. When `start` exits,
/// the daemon is re-parented to init (or the nearest subreaper), as after a double fork.
pub fn detach() -> io::Result<()> {
    rustix::process::setsid()
        .map(|_| ())
        .map_err(io::Error::from)
}

/// Is process `pid` alive? A zombie (exited, not yet reaped) counts as gone.
pub fn process_alive(pid: i32) -> bool {
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

/// Linux: the process's command line mentions bitrouter (a reused pid does not count).
pub fn looks_like_bitrouter(pid: i32) -> bool {
    if cfg!(target_os = "linux") {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains("bitrouter"))
    } else {
        true
    }
}

/// The pid in the pid file, if it holds one.
pub fn read_pid(pid_file: &Path) -> Option<i32> {
    std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|&p: &i32| p > 0)
}

/// A live bitrouter named by the pid file (one that may not answer on its socket).
pub fn live_pid(pid_file: &Path) -> Option<i32> {
    read_pid(pid_file).filter(|&pid| process_alive(pid) && looks_like_bitrouter(pid))
}

/// What stands in the way of starting a daemon with these files.
#[derive(Debug)]
pub enum Occupied {
    /// A daemon answers on the socket.
    Live(Box<Status>),
    /// Something is on the socket but does not answer like a daemon.
    Broken(ClientError),
    /// A live bitrouter named by the pid file does not answer on the socket.
    Unanswering(i32),
}

/// Checks that no daemon runs for `dp`, removing a dead one's leftovers (a socket nobody
/// listens on, a pid file naming a process that is gone).
pub fn check_vacant(dp: &DaemonPaths) -> Result<(), Occupied> {
    match client::probe(&dp.socket) {
        Probe::Live(s) => return Err(Occupied::Live(s)),
        Probe::Broken(e) => return Err(Occupied::Broken(e)),
        Probe::Absent { stale_file } => {
            if stale_file {
                let _ = std::fs::remove_file(&dp.socket);
            }
        }
    }
    if let Some(pid) = live_pid(&dp.pid_file) {
        return Err(Occupied::Unanswering(pid));
    }
    let _ = std::fs::remove_file(&dp.pid_file);
    Ok(())
}

/// A daemon spawned with its output appended to the log file.
#[derive(Debug)]
pub struct Spawned {
    pub child: Child,
    /// Where the log ended before it started (`log_tail` shows what it wrote).
    pub log_start: u64,
}

/// The daemon could not be spawned.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("cannot create the logs directory `{}`", .0.display())]
    LogsDir(PathBuf, #[source] io::Error),
    #[error("cannot open the log file `{}`", .0.display())]
    LogFile(PathBuf, #[source] io::Error),
    #[error("cannot start the daemon")]
    Spawn(#[source] io::Error),
}

/// Spawns `command` (the daemon's program and arguments, chosen by the caller) in the home
/// directory, stdin closed, stdout and stderr appended to `dp.log_file`. It is not waited for.
pub fn spawn(mut command: Command, dp: &DaemonPaths) -> Result<Spawned, SpawnError> {
    std::fs::create_dir_all(&dp.logs_dir)
        .map_err(|e| SpawnError::LogsDir(dp.logs_dir.clone(), e))?;
    let log_error = |e| SpawnError::LogFile(dp.log_file.clone(), e);
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&dp.log_file)
        .map_err(log_error)?;
    let log_start = log.seek(SeekFrom::End(0)).unwrap_or(0);
    let err = log.try_clone().map_err(log_error)?;
    let child = command
        .current_dir(&dp.home)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(SpawnError::Spawn)?;
    Ok(Spawned { child, log_start })
}

/// How a freshly spawned daemon came up.
#[derive(Debug)]
pub enum Ready {
    /// It answers `status` with its own pid.
    Up(Box<Status>),
    /// It exited during startup.
    Exited(ExitStatus),
}

/// Waiting on a daemon failed.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("cannot watch the daemon")]
    Watch(#[source] io::Error),
    #[error(
        "the daemon (pid {pid}) did not answer on `{}` within {} s",
        socket.display(),
        limit.as_secs()
    )]
    NotReady {
        pid: u32,
        socket: PathBuf,
        limit: Duration,
    },
    #[error("the daemon (pid {pid}) has not exited after {} s", limit.as_secs())]
    NotExited { pid: i32, limit: Duration },
}

/// Until `child` answers on `socket` as itself, exits, or `limit` passes.
pub fn wait_ready(child: &mut Child, socket: &Path, limit: Duration) -> Result<Ready, WaitError> {
    let pid = child.id();
    let began = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(WaitError::Watch)? {
            return Ok(Ready::Exited(status));
        }
        if let Probe::Live(s) = client::probe(socket) {
            if s.pid == pid {
                return Ok(Ready::Up(s));
            }
        }
        if began.elapsed() > limit {
            return Err(WaitError::NotReady {
                pid,
                socket: socket.to_path_buf(),
                limit,
            });
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Until `socket` stops answering and process `pid` is gone (`pid <= 0`: the socket only).
pub fn wait_for_exit(socket: &Path, pid: i32, limit: Duration) -> Result<(), WaitError> {
    let began = Instant::now();
    loop {
        let answering = matches!(client::probe(socket), Probe::Live(_));
        if !answering && (pid <= 0 || !process_alive(pid)) {
            return Ok(());
        }
        if began.elapsed() > limit {
            return Err(WaitError::NotExited { pid, limit });
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The last 30 lines the daemon wrote to its log since `from`, under a header naming it.
pub fn log_tail(log: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(log) {
        let _ = f.seek(SeekFrom::Start(from));
        let _ = f.take(256 * 1024).read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(30)..];
    let mut out = format!("--- {} (last lines) ---\n", log.display());
    for l in tail {
        let _ = writeln!(out, "{l}");
    }
    out
}
