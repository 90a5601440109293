//! `bitrouter start | stop | status | restart | reload`: the daemon lifecycle, driven through
//! the control socket (`runtime::control::client`) and the process helpers of
//! `runtime::process`. This module chooses what to print and the exit code.
//!
//! Behaviour chosen for operators: `stop` with no daemon running prints "not running" and
//! exits 0 (idempotent, like `systemctl stop`); `status` exits 3 when stopped (LSB convention,
//! so scripts can test it) but still prints the resolved paths, and 4 when a live bitrouter
//! named by the pid file does not answer; `reload` with no daemon is an error (exit 2) because
//! the change the caller wanted did not happen.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use runtime::DaemonPaths;
use runtime::control::client::{self, ClientError, Probe};
use runtime::control::proto::{Answer, Failure, Forwarded, Status};
use runtime::process::{self, Occupied, Ready, WaitError};
use serde_json::json;

use crate::args::{ControlArgs, Global, StartArgs};
use crate::output::{self, Hinted};

/// How long `start` waits for the new daemon to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `stop`/`restart` wait for the old daemon to exit (the drain limit plus slack).
const EXIT_TIMEOUT: Duration = Duration::from_secs(40);

/// The daemon's files (the socket from `--socket`, else `server.control_socket`).
fn locate(g: &Global, socket: Option<&Path>) -> DaemonPaths {
    runtime::config::locate(&super::paths(g), socket).daemon
}

pub(crate) fn start(g: &Global, a: &StartArgs) -> Result<ExitCode> {
    let dp = locate(g, a.serve.socket.as_deref());
    process::check_vacant(&dp).map_err(|o| match o {
        Occupied::Live(s) => Hinted::wrap(
            anyhow!(
                "bitrouter is already running (pid {}, listening on http://{})",
                s.pid,
                s.listen
            ),
            "`bitrouter restart` replaces it; `bitrouter stop` stops it",
        ),
        Occupied::Broken(e) => Hinted::wrap(
            e,
            "is another daemon hung on this socket? `bitrouter status` shows the pid file",
        ),
        Occupied::Unanswering(pid) => Hinted::wrap(
            anyhow!(
                "process {pid} from `{}` is running but does not answer on `{}`",
                dp.pid_file.display(),
                dp.socket.display()
            ),
            format!("if it is a stuck bitrouter, `kill {pid}`; otherwise remove the pid file"),
        ),
    })?;
    let exe = std::env::current_exe().context("cannot find the bitrouter executable")?;
    let mut cmd = Command::new(exe);
    // The same global flags, as absolute paths: the daemon runs in the home directory. The
    // config and env files are named only when the caller named them (naming one makes a
    // missing file an error); otherwise the daemon finds the same defaults in the home.
    cmd.arg("--home-dir").arg(&dp.home);
    if g.config_file.is_some() {
        cmd.arg("--config-file").arg(&dp.config);
    }
    if g.env_file.is_some() || dp.env_file.is_file() {
        cmd.arg("--env-file").arg(&dp.env_file);
    }
    cmd.arg("--run-dir").arg(&dp.run_dir);
    cmd.arg("--logs-dir").arg(&dp.logs_dir);
    if let Some(db) = &g.db {
        cmd.arg("--db").arg(db);
    }
    cmd.args(["serve", "--detached", "--socket"])
        .arg(&dp.socket);
    if let Some(l) = &a.serve.listen {
        cmd.arg("--listen").arg(l);
    }
    if a.serve.allow_insecure_public {
        cmd.arg("--allow-insecure-public");
    }
    if a.serve.no_ledger {
        cmd.arg("--no-ledger");
    }
    let mut spawned = process::spawn(cmd, &dp)?;
    let tail = || process::log_tail(&dp.log_file, spawned.log_start);
    match process::wait_ready(&mut spawned.child, &dp.socket, READY_TIMEOUT) {
        Ok(Ready::Up(s)) if a.json => output::data(&status_json(*s)?),
        Ok(Ready::Up(s)) => output::data(&format!(
            "bitrouter started: pid {}, listening on http://{}, {} routable models\n  log:    {}\n  socket: {}",
            s.pid,
            s.listen,
            s.models,
            dp.log_file.display(),
            dp.socket.display()
        )),
        Ok(Ready::Exited(status)) => {
            output::message(&tail());
            output::fail(
                &format!("the daemon exited during startup ({status})"),
                Some(&format!(
                    "its log is `{}` (the end is above)",
                    dp.log_file.display()
                )),
            );
            return Ok(ExitCode::from(if status.code() == Some(1) { 1 } else { 2 }));
        }
        Err(e @ WaitError::NotReady { .. }) => {
            output::message(&tail());
            return Err(Hinted::wrap(e, format!("see `{}`", dp.log_file.display())));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}

/// A status as `--json` prints it: the reply as the socket sent it.
fn status_json(s: Status) -> Result<String> {
    let reply = Ok(Answer::Status(Box::new(s)));
    Ok(serde_json::to_string_pretty(
        &runtime::control::proto::reply_value(&reply),
    )?)
}

/// The daemon's refusal as an error with its hint; other client errors as they are.
fn client_error(e: ClientError) -> anyhow::Error {
    match e {
        ClientError::Refused(f) => refusal(f),
        e => e.into(),
    }
}

fn refusal(f: Failure) -> anyhow::Error {
    let e = anyhow!("{}", f.error);
    match f.hint {
        Some(h) => Hinted::wrap(e, h),
        None => e,
    }
}

fn wait_for_exit(dp: &DaemonPaths, pid: i32) -> Result<()> {
    process::wait_for_exit(&dp.socket, pid, EXIT_TIMEOUT).map_err(|e| {
        Hinted::wrap(
            e,
            format!(
                "see `{}`; `kill -9 {pid}` ends it at once",
                dp.log_file.display()
            ),
        )
    })
}

fn pid_of(s: &Status) -> i32 {
    i32::try_from(s.pid).unwrap_or(0)
}

pub(crate) fn stop(g: &Global, a: &ControlArgs) -> Result<ExitCode> {
    let dp = locate(g, a.socket.as_deref());
    match client::probe(&dp.socket) {
        Probe::Live(s) => {
            client::stop(&dp.socket).map_err(client_error)?;
            let pid = pid_of(&s);
            wait_for_exit(&dp, pid)?;
            if a.json {
                output::data(&json!({"stopped": true, "pid": pid}).to_string());
            } else {
                output::data(&format!("bitrouter stopped (pid {pid})"));
            }
        }
        Probe::Absent { stale_file } => {
            if stale_file {
                let _ = std::fs::remove_file(&dp.socket);
            }
            if a.json {
                output::data(&json!({"stopped": false, "running": false}).to_string());
            } else {
                output::message(&format!(
                    "bitrouter is not running (nothing answers on `{}`); nothing to stop",
                    dp.socket.display()
                ));
            }
        }
        Probe::Broken(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn status(g: &Global, a: &ControlArgs) -> Result<ExitCode> {
    let dp = locate(g, a.socket.as_deref());
    match client::probe(&dp.socket) {
        Probe::Live(s) => {
            if a.json {
                output::data(&status_json(*s)?);
            } else {
                output::data(&s.human());
            }
            Ok(ExitCode::SUCCESS)
        }
        Probe::Absent { .. } => {
            // A live bitrouter named by the pid file that does not answer (its socket removed,
            // or hung) is not "stopped": say so, as `start` would.
            let unanswering = process::live_pid(&dp.pid_file);
            if a.json {
                let v = json!({
                    "running": false,
                    "unanswering_pid": unanswering,
                    "socket": dp.socket,
                    "paths": dp,
                });
                output::data(&serde_json::to_string_pretty(&v)?);
            } else {
                let mut o = match unanswering {
                    Some(pid) => format!(
                        "bitrouter is not answering: process {pid} (from the pid file) is running \
                         but nothing listens on the control socket; if it is stuck, `kill {pid}`\n"
                    ),
                    None => String::from("bitrouter is stopped\n"),
                };
                o.push_str(&dp.human());
                output::data(&o);
            }
            Ok(ExitCode::from(if unanswering.is_some() { 4 } else { 3 }))
        }
        Probe::Broken(e) => Err(e.into()),
    }
}

pub(crate) fn restart(g: &Global, a: &StartArgs) -> Result<ExitCode> {
    let dp = locate(g, a.serve.socket.as_deref());
    if let Probe::Live(s) = client::probe(&dp.socket) {
        let pid = pid_of(&s);
        output::message(&format!(
            "draining bitrouter (pid {pid}; open requests get up to 30 s)"
        ));
        // The daemon may exit before its reply arrives; only an explicit refusal stops us.
        if let Err(ClientError::Refused(f)) =
            client::drain(&dp.socket, Duration::from_secs(30), EXIT_TIMEOUT)
        {
            return Err(refusal(f));
        }
        wait_for_exit(&dp, pid)?;
    }
    start(g, a)
}

pub(crate) fn reload(g: &Global, a: &ControlArgs) -> Result<ExitCode> {
    let dp = locate(g, a.socket.as_deref());
    let status = match client::probe(&dp.socket) {
        Probe::Live(s) => s,
        Probe::Absent { .. } => {
            return Err(Hinted::wrap(
                anyhow!(
                    "bitrouter is not running (nothing answers on `{}`)",
                    dp.socket.display()
                ),
                "start it with `bitrouter start`",
            ));
        }
        Probe::Broken(e) => return Err(e.into()),
    };
    // The variables the daemon's config (as it is on disk now) and the registry make the
    // compiler read, from this shell.
    let env = runtime::config::forwarded_env(&status.paths.config);
    let reply = client::reload(&dp.socket, Forwarded(env)).map_err(client_error)?;
    if a.json {
        let wire = reply.clone().map(Answer::Reloaded);
        let v = runtime::control::proto::reply_value(&wire);
        output::data(&serde_json::to_string_pretty(&v)?);
        return Ok(if reply.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    match reply {
        Ok(r) => {
            if let Some(w) = &r.warnings {
                output::message(w);
            }
            let mut o = r.message;
            for n in &r.needs_restart {
                let _ = write!(o, "\n  needs restart: {n}");
            }
            output::data(&o);
            Ok(ExitCode::SUCCESS)
        }
        Err(f) => {
            if let Some(d) = &f.diagnostics {
                output::message(d);
            }
            output::fail(&f.error, f.hint.as_deref());
            Ok(ExitCode::from(1))
        }
    }
}
