//! `bitrouter start | stop | status | restart | reload`: the daemon lifecycle, driven through
//! the control socket (`control::client`).
//!
//! Behaviour chosen for operators: `stop` with no daemon running prints "not running" and
//! exits 0 (idempotent, like `systemctl stop`); `status` exits 3 when stopped (LSB convention,
//! so scripts can test it) but still prints the resolved paths; `reload` with no daemon is an
//! error (exit 2) because the change the caller wanted did not happen.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use compiler::EnvMode;
use compiler::SourceFile;
use serde_json::{Value, json};

use crate::args::{ControlArgs, Global, StartArgs};
use crate::control::client::{self, Probe};
use crate::control::paths::{self, DaemonPaths};
use crate::control::proto;
use crate::home;
use crate::output::{self, Hinted};

/// How long `start` waits for the new daemon to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `stop`/`restart` wait for the old daemon to exit (the drain limit plus slack).
const EXIT_TIMEOUT: Duration = Duration::from_secs(40);

/// The daemon's files, with `server.control_socket` read from the configuration when it
/// compiles (leniently: a broken file must not stop `stop` or `status`).
fn locate(g: &Global, socket: Option<&Path>) -> DaemonPaths {
    let files = home::resolve(g);
    let configured = home::read_config(&files, false)
        .ok()
        .flatten()
        .and_then(|text| {
            let env = home::environment(&files).ok()?;
            let source = SourceFile::new(files.config.display().to_string(), text);
            compiler::compile(&source, &env, EnvMode::Lenient).ok()
        })
        .and_then(|c| c.table.server().control_socket.clone());
    DaemonPaths::resolve(g, socket, configured.as_deref())
}

pub(crate) fn start(g: &Global, a: &StartArgs) -> Result<ExitCode> {
    let dp = locate(g, a.serve.socket.as_deref());
    match client::probe(&dp.socket) {
        Probe::Live(v) => {
            return Err(Hinted::wrap(
                anyhow!(
                    "bitrouter is already running (pid {}, listening on http://{})",
                    v["pid"],
                    v["listen"].as_str().unwrap_or("?")
                ),
                "`bitrouter restart` replaces it; `bitrouter stop` stops it",
            ));
        }
        Probe::Broken(e) => {
            return Err(Hinted::wrap(
                e,
                "is another daemon hung on this socket? `bitrouter status` shows the pid file",
            ));
        }
        Probe::Absent { stale_file } => {
            if stale_file {
                let _ = std::fs::remove_file(&dp.socket);
            }
        }
    }
    if let Some(pid) = paths::read_pid(&dp.pid_file) {
        if paths::process_alive(pid) && looks_like_bitrouter(pid) {
            return Err(Hinted::wrap(
                anyhow!(
                    "process {pid} from `{}` is running but does not answer on `{}`",
                    dp.pid_file.display(),
                    dp.socket.display()
                ),
                format!("if it is a stuck bitrouter, `kill {pid}`; otherwise remove the pid file"),
            ));
        }
        // A pid file from a daemon that is gone.
        let _ = std::fs::remove_file(&dp.pid_file);
    }
    spawn_and_wait(g, a, &dp)
}

/// Linux: the process's command line mentions bitrouter (a reused pid does not count).
fn looks_like_bitrouter(pid: i32) -> bool {
    if cfg!(target_os = "linux") {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains("bitrouter"))
    } else {
        true
    }
}

fn spawn_and_wait(g: &Global, a: &StartArgs, dp: &DaemonPaths) -> Result<ExitCode> {
    std::fs::create_dir_all(&dp.logs_dir).with_context(|| {
        format!(
            "cannot create the logs directory `{}`",
            dp.logs_dir.display()
        )
    })?;
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&dp.log_file)
        .with_context(|| format!("cannot open the log file `{}`", dp.log_file.display()))?;
    let log_start = log.seek(SeekFrom::End(0)).unwrap_or(0);
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
    cmd.arg("--run-dir")
        .arg(&dp.run_dir)
        .arg("--logs-dir")
        .arg(&dp.logs_dir);
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
    let err = log
        .try_clone()
        .context("cannot duplicate the log file handle")?;
    let mut child = cmd
        .current_dir(&dp.home)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .context("cannot start the daemon")?;
    let child_pid = child.id();
    let began = Instant::now();
    loop {
        if let Some(status) = child.try_wait().context("cannot watch the daemon")? {
            output::message(&log_tail(&dp.log_file, log_start));
            output::fail(
                &format!("the daemon exited during startup ({status})"),
                Some(&format!(
                    "its log is `{}` (the end is above)",
                    dp.log_file.display()
                )),
            );
            return Ok(ExitCode::from(if status.code() == Some(1) { 1 } else { 2 }));
        }
        if let Probe::Live(v) = client::probe(&dp.socket) {
            if v["pid"].as_u64() == Some(u64::from(child_pid)) {
                if a.json {
                    output::data(&serde_json::to_string_pretty(&v)?);
                } else {
                    output::data(&format!(
                        "bitrouter started: pid {child_pid}, listening on http://{}, {} routable models\n  log:    {}\n  socket: {}",
                        v["listen"].as_str().unwrap_or("?"),
                        v["models"],
                        dp.log_file.display(),
                        dp.socket.display()
                    ));
                }
                return Ok(ExitCode::SUCCESS);
            }
        }
        if began.elapsed() > READY_TIMEOUT {
            output::message(&log_tail(&dp.log_file, log_start));
            return Err(Hinted::wrap(
                anyhow!(
                    "the daemon (pid {child_pid}) did not answer on `{}` within {} s",
                    dp.socket.display(),
                    READY_TIMEOUT.as_secs()
                ),
                format!("see `{}`", dp.log_file.display()),
            ));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The last lines the daemon wrote to its log since `from`.
fn log_tail(log: &Path, from: u64) -> String {
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

pub(crate) fn stop(g: &Global, a: &ControlArgs) -> Result<ExitCode> {
    let dp = locate(g, a.socket.as_deref());
    match client::probe(&dp.socket) {
        Probe::Live(v) => {
            let reply = client::request(
                &dp.socket,
                &json!({"v": proto::VERSION, "op": "stop"}),
                Duration::from_secs(5),
            )?;
            check(&reply)?;
            let pid = pid_of(&v);
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
        Probe::Broken(e) => return Err(e),
    }
    Ok(ExitCode::SUCCESS)
}

fn pid_of(status: &Value) -> i32 {
    status["pid"]
        .as_u64()
        .and_then(|p| i32::try_from(p).ok())
        .unwrap_or(0)
}

fn check(reply: &Value) -> Result<()> {
    if reply["ok"] == true {
        return Ok(());
    }
    let e = anyhow!(
        "{}",
        reply["error"].as_str().unwrap_or("the daemon refused")
    );
    Err(match reply["hint"].as_str() {
        Some(h) => Hinted::wrap(e, h),
        None => e,
    })
}

/// Until the socket stops answering and the process is gone.
fn wait_for_exit(dp: &DaemonPaths, pid: i32) -> Result<()> {
    let began = Instant::now();
    loop {
        let answering = matches!(client::probe(&dp.socket), Probe::Live(_));
        if !answering && (pid <= 0 || !paths::process_alive(pid)) {
            return Ok(());
        }
        if began.elapsed() > EXIT_TIMEOUT {
            return Err(Hinted::wrap(
                anyhow!(
                    "the daemon (pid {pid}) has not exited after {} s",
                    EXIT_TIMEOUT.as_secs()
                ),
                format!(
                    "see `{}`; `kill -9 {pid}` ends it at once",
                    dp.log_file.display()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

pub(crate) fn status(g: &Global, a: &ControlArgs) -> Result<ExitCode> {
    let dp = locate(g, a.socket.as_deref());
    match client::probe(&dp.socket) {
        Probe::Live(v) => {
            if a.json {
                output::data(&serde_json::to_string_pretty(&v)?);
            } else {
                output::data(&human_status(&v));
            }
            Ok(ExitCode::SUCCESS)
        }
        Probe::Absent { .. } => {
            // A live bitrouter named by the pid file that does not answer (its socket removed,
            // or hung) is not "stopped": say so, as `start` would.
            let unanswering = paths::read_pid(&dp.pid_file)
                .filter(|&pid| paths::process_alive(pid) && looks_like_bitrouter(pid));
            if a.json {
                let v = json!({
                    "running": false,
                    "unanswering_pid": unanswering,
                    "socket": dp.socket,
                    "paths": dp.to_json(),
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
                paths_text(&mut o, &dp.to_json());
                output::data(&o);
            }
            Ok(ExitCode::from(if unanswering.is_some() { 4 } else { 3 }))
        }
        Probe::Broken(e) => Err(e),
    }
}

fn human_status(v: &Value) -> String {
    let mut o = String::from("bitrouter is running\n");
    let s = |k: &str| {
        v[k].as_str()
            .map_or_else(|| v[k].to_string(), str::to_owned)
    };
    let _ = writeln!(o, "  pid:         {}", s("pid"));
    let _ = writeln!(o, "  listen:      http://{}", s("listen"));
    let _ = writeln!(o, "  models:      {} routable", s("models"));
    let _ = writeln!(o, "  config hash: {}", s("config_hash"));
    let providers: Vec<String> = v["providers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in_file"] == true || p["credential"] == "set")
        .map(|p| {
            format!(
                "{} (key {})",
                p["name"].as_str().unwrap_or("?"),
                p["credential"].as_str().unwrap_or("?")
            )
        })
        .collect();
    let _ = writeln!(
        o,
        "  providers:   {}",
        if providers.is_empty() {
            "none configured".to_owned()
        } else {
            providers.join(", ")
        }
    );
    let secs = v["uptime_secs"].as_u64().unwrap_or(0);
    let _ = writeln!(
        o,
        "  uptime:      {}h {}m {}s",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    let _ = writeln!(
        o,
        "  in flight:   {}{}",
        s("in_flight"),
        if v["draining"] == true {
            " (draining)"
        } else {
            ""
        }
    );
    let last = &v["last_reload"];
    let reload = if last.is_null() {
        "none since start".to_owned()
    } else {
        format!(
            "{} via {}: {}",
            if last["ok"] == true { "ok" } else { "FAILED" },
            last["via"].as_str().unwrap_or("?"),
            last["message"].as_str().unwrap_or("")
        )
    };
    let _ = writeln!(o, "  last reload: {reload}");
    paths_text(&mut o, &v["paths"]);
    o
}

fn paths_text(o: &mut String, p: &Value) {
    for (label, key) in [
        ("socket", "socket"),
        ("config", "config"),
        ("env file", "env_file"),
        ("home", "home"),
        ("run dir", "run_dir"),
        ("pid file", "pid_file"),
        ("logs dir", "logs_dir"),
        ("log file", "log_file"),
    ] {
        let _ = writeln!(
            o,
            "  {:<12} {}",
            format!("{label}:"),
            p[key].as_str().unwrap_or("?")
        );
    }
}

pub(crate) fn restart(g: &Global, a: &StartArgs) -> Result<ExitCode> {
    let dp = locate(g, a.serve.socket.as_deref());
    if let Probe::Live(v) = client::probe(&dp.socket) {
        let pid = pid_of(&v);
        output::message(&format!(
            "draining bitrouter (pid {pid}; open requests get up to 30 s)"
        ));
        let reply = client::request(
            &dp.socket,
            &json!({"v": proto::VERSION, "op": "drain", "timeout_ms": 30_000}),
            EXIT_TIMEOUT,
        );
        // The daemon may exit before its reply arrives; only an explicit refusal stops us.
        if let Ok(r) = &reply {
            check(r)?;
        }
        wait_for_exit(&dp, pid)?;
    }
    start(g, a)
}

pub(crate) fn reload(g: &Global, a: &ControlArgs) -> Result<ExitCode> {
    let dp = locate(g, a.socket.as_deref());
    let status = match client::probe(&dp.socket) {
        Probe::Live(v) => v,
        Probe::Absent { .. } => {
            return Err(Hinted::wrap(
                anyhow!(
                    "bitrouter is not running (nothing answers on `{}`)",
                    dp.socket.display()
                ),
                "start it with `bitrouter start`",
            ));
        }
        Probe::Broken(e) => return Err(e),
    };
    // The variables the daemon's config (as it is on disk now) and the registry refer to.
    let config = status["paths"]["config"]
        .as_str()
        .map_or_else(|| dp.config.clone(), Into::into);
    let text = std::fs::read_to_string(config).ok();
    let env = proto::forwarded_env(text.as_deref());
    let reply = client::request(
        &dp.socket,
        &json!({"v": proto::VERSION, "op": "reload", "env": env}),
        Duration::from_secs(120),
    )?;
    if a.json {
        output::data(&serde_json::to_string_pretty(&reply)?);
        return Ok(if reply["ok"] == true {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    if reply["ok"] == true {
        if let Some(w) = reply["warnings"].as_str() {
            output::message(w);
        }
        let mut o = reply["message"].as_str().unwrap_or("reloaded").to_owned();
        for n in reply["needs_restart"].as_array().into_iter().flatten() {
            let _ = write!(o, "\n  needs restart: {}", n.as_str().unwrap_or(""));
        }
        output::data(&o);
        Ok(ExitCode::SUCCESS)
    } else {
        if let Some(d) = reply["diagnostics"].as_str() {
            output::message(d);
        }
        output::fail(
            reply["error"].as_str().unwrap_or("reload failed"),
            reply["hint"].as_str(),
        );
        Ok(ExitCode::from(1))
    }
}
