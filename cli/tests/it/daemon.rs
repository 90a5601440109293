//! The daemon lifecycle as an operator runs it: `start`, `status`, requests through the router,
//! `reload` (with forwarded keys, and rejected when invalid), SIGHUP, the control socket, `stop`.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{bin, run, scratch};

/// Kills the daemon if a test fails before `stop`.
struct Guard(Option<u64>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        }
    }
}

fn config(base: &str, model_provider: &str, extra: &str) -> String {
    config_on("127.0.0.1:0", base, model_provider, extra)
}

fn config_on(listen: &str, base: &str, model_provider: &str, extra: &str) -> String {
    format!(
        "server: {{ skip_auth: true, listen: \"{listen}\" }}\n\
         inherit_defaults: false\n\
         providers:\n\
         \x20 a: {{ api_base: \"{base}/v1\", api_key: \"${{KEY_A}}\", api_protocol: chat_completions, allow_private: true, models: [{{id: up-model}}] }}\n\
         \x20 b: {{ api_base: \"{base}/v1\", api_key: key-b, api_protocol: chat_completions, allow_private: true, models: [{{id: up-model}}] }}\n\
         models:\n\
         \x20 m: {{ endpoints: [{{provider: {model_provider}, service_id: up-model}}] }}\n{extra}"
    )
}

fn ctl(home: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = bin();
    c.args(args).arg("--home-dir").arg(home);
    for (k, v) in env {
        c.env(k, v);
    }
    run(&mut c)
}

fn status(home: &Path) -> Value {
    let (code, out, err) = ctl(home, &["status", "--json"], &[]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// POSTs a chat completion for `model`; the status line and the key the mock upstream saw.
fn chat(listen: &str, mock: &testkit::MockUpstream, model: &str) -> (String, Option<String>) {
    mock.reset();
    let status = super::post_chat(listen, model, "hi", None);
    let key = mock
        .requests()
        .first()
        .and_then(|r| r.header("authorization").map(str::to_owned));
    (status, key)
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let began = Instant::now();
    while !f() {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn lifecycle_start_status_request_reload_sighup_stop() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mock = rt.block_on(testkit::MockUpstream::start()).unwrap();
    let base = mock.base_url();
    let home = scratch("daemon-life");
    let cfg = home.join("bitrouter.yaml");
    std::fs::write(&cfg, config(&base, "a", "")).unwrap();
    let run_dir = home.join("run");
    let socket = run_dir.join("bitrouter.sock");
    let pid_file = run_dir.join("bitrouter.pid");

    // Stopped: `status` says so (exit 3) with the resolved paths; `stop` is a clear no-op.
    let (code, out, _) = ctl(&home, &["status"], &[]);
    assert_eq!(code, 3, "{out}");
    assert!(out.starts_with("bitrouter is stopped\n"), "{out}");
    assert!(
        out.contains(&format!("socket:      {}", socket.display())),
        "{out}"
    );
    assert!(
        out.contains(&format!("config:      {}", cfg.display())),
        "{out}"
    );
    let (code, _, err) = ctl(&home, &["stop"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("bitrouter is not running"), "{err}");

    // Leftovers of a daemon that died: a socket nobody listens on and a pid file.
    std::fs::create_dir_all(&run_dir).unwrap();
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    std::fs::write(&pid_file, "999999999\n").unwrap();

    let (code, out, err) = ctl(&home, &["start"], &[("KEY_A", "k1")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("bitrouter started: pid "), "{out}");
    let st = status(&home);
    let mut guard = Guard(st["pid"].as_u64());
    let pid = st["pid"].as_u64().unwrap();
    let listen = st["listen"].as_str().unwrap().to_owned();
    let hash1 = st["config_hash"].as_str().unwrap().to_owned();
    assert!(
        out.contains(&format!("listening on http://{listen}, 2 routable models")),
        "{out}"
    );
    assert_eq!(st["models"], 2);
    assert_eq!(st["socket"], socket.display().to_string());
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        pid.to_string()
    );
    let mode = std::fs::metadata(&socket).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    let (code, out, _) = ctl(&home, &["status"], &[]);
    assert_eq!(code, 0);
    for want in [
        format!("pid:         {pid}"),
        format!("listen:      http://{listen}"),
        format!("config hash: {hash1}"),
    ] {
        assert!(out.contains(&want), "missing {want:?} in {out}");
    }

    // A second start refuses and leaves the first one alone.
    let (code, _, err) = ctl(&home, &["start", "--listen", "127.0.0.1:0"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bitrouter is already running (pid "), "{err}");

    let (line, key) = chat(&listen, &mock, "m");
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    assert_eq!(key.as_deref(), Some("Bearer k1"));

    // Move `m` to provider b and rotate a's key in the caller's shell: reload applies both.
    std::fs::write(&cfg, config(&base, "b", "")).unwrap();
    let (code, out, err) = ctl(&home, &["reload"], &[("KEY_A", "k2")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("reloaded: hash "), "{out}");
    let hash2 = status(&home)["config_hash"].as_str().unwrap().to_owned();
    assert_ne!(hash1, hash2);
    assert_eq!(chat(&listen, &mock, "m").1.as_deref(), Some("Bearer key-b"));
    assert_eq!(
        chat(&listen, &mock, "a:up-model").1.as_deref(),
        Some("Bearer k2")
    );

    // An invalid config is rejected with every diagnostic; the old table keeps serving.
    std::fs::write(&cfg, config(&base, "nope", "bogus: 1\n")).unwrap();
    let (code, out, err) = ctl(&home, &["reload"], &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.matches("error[").count() >= 2, "{err}");
    assert!(err.contains("unknown top-level section `bogus`"), "{err}");
    assert!(err.contains("keeping the current table"), "{err}");
    let st = status(&home);
    assert_eq!(st["config_hash"], hash2.as_str());
    assert_eq!(st["last_reload"]["ok"], false);
    assert_eq!(chat(&listen, &mock, "m").1.as_deref(), Some("Bearer key-b"));

    // A changed listen address is reported as needing a restart, not applied.
    std::fs::write(&cfg, config_on("127.0.0.1:1", &base, "b", "")).unwrap();
    let (code, out, _) = ctl(&home, &["reload", "--json"], &[]);
    assert_eq!(code, 0);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["ok"], true, "{r}");
    let notes = r["needs_restart"].as_array().unwrap();
    assert!(
        notes[0].as_str().unwrap().starts_with(&format!(
            "server.listen changed (127.0.0.1:0 -> 127.0.0.1:1): still listening on {listen}"
        )),
        "{r}"
    );
    assert_eq!(status(&home)["listen"], listen.as_str());
    let (code, out, _) = ctl(&home, &["reload"], &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains("\n  needs restart: server.listen changed"),
        "{out}"
    );

    // The control socket: a malformed line gets an error reply, the connection and the
    // daemon keep going, and `route` answers from the live table.
    let mut s = UnixStream::connect(&socket).unwrap();
    s.write_all(b"this is not json\n{\"v\":1,\"op\":\"launch\"}\n{\"v\":1,\"op\":\"route\",\"model\":\"m\"}\n")
        .unwrap();
    let mut lines = BufReader::new(s.try_clone().unwrap()).lines();
    for _ in 0..2 {
        let e: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        assert_eq!(e["ok"], false, "{e}");
        assert!(
            e["error"]
                .as_str()
                .unwrap()
                .starts_with("malformed request"),
            "{e}"
        );
    }
    let r: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert!(
        r["output"]
            .as_str()
            .unwrap()
            .contains("1. b / up-model via chat_completions"),
        "{r}"
    );
    drop(s);
    let (code, out, err) = run(bin().args(["route", "m", "--socket"]).arg(&socket));
    assert_eq!(code, 0, "{err}");
    let live_hash = status(&home)["config_hash"].as_str().unwrap().to_owned();
    let first = format!(
        "from the running daemon (config hash {})\n",
        &live_hash[..12]
    );
    assert!(
        out.starts_with(&format!("{first}m: virtual model")),
        "{out}"
    );
    assert!(
        out.contains("1. b / up-model via chat_completions"),
        "{out}"
    );
    // Without `--socket`, the daemon of this home answers too — from its live table, which
    // differs from the file now: the file moves `m` to provider a and has not been reloaded.
    std::fs::write(&cfg, config(&base, "a", "")).unwrap();
    let (code, out, err) = ctl(&home, &["route", "m"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&first), "{out}");
    assert!(out.contains("1. b / up-model"), "{out}");
    let (code, out, err) = ctl(&home, &["route", "m", "--json"], &[]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["source"].as_str(), v["config_hash"].as_str()),
        (Some("daemon"), Some(live_hash.as_str())),
        "{v}"
    );
    assert_eq!(v["chain"][0]["provider"], "b", "{v}");
    // `--file` compiles the file instead.
    let (code, out, err) = ctl(&home, &["route", "m", "--file"], &[("KEY_A", "x")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("m: virtual model"), "{out}");
    assert!(out.contains("1. a / up-model"), "{out}");
    let (code, out, _) = ctl(&home, &["route", "m", "--file", "--json"], &[]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["source"], "file", "{v}");
    assert!(v.get("config_hash").is_none(), "{v}");
    let (code, _, err) = run(bin().args(["route", "mm", "--socket"]).arg(&socket));
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: unknown model `mm`\nhint: did you mean `m`?"),
        "{err}"
    );

    // SIGHUP reloads from the file (the forwarded key is remembered).
    std::fs::write(&cfg, config(&base, "a", "")).unwrap();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    wait_until("SIGHUP reload", || {
        status(&home)["last_reload"]["via"] == "SIGHUP"
    });
    let st = status(&home);
    assert_eq!(st["last_reload"]["ok"], true, "{st}");
    assert_ne!(st["config_hash"], hash2.as_str());
    assert_eq!(chat(&listen, &mock, "m").1.as_deref(), Some("Bearer k2"));

    let (code, out, err) = ctl(&home, &["stop"], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("bitrouter stopped (pid {pid})\n"));
    guard.0 = None;
    assert!(!socket.exists() && !pid_file.exists());
    assert_eq!(ctl(&home, &["status"], &[]).0, 3);
    let log = std::fs::read_to_string(home.join("logs/bitrouter.log")).unwrap();
    assert!(
        log.contains(&format!("listening on http://{listen}")),
        "{log}"
    );
}

#[test]
fn start_with_an_invalid_config_prints_the_log_tail() {
    let home = scratch("daemon-bad");
    std::fs::write(home.join("bitrouter.yaml"), "provders: {}\n").unwrap();
    let (code, out, err) = ctl(&home, &["start", "--listen", "127.0.0.1:0"], &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("unknown top-level section `provders`"),
        "{err}"
    );
    assert!(err.contains("the daemon exited during startup"), "{err}");
    assert!(
        err.contains(&format!(
            "{}",
            PathBuf::from(&home).join("logs/bitrouter.log").display()
        )),
        "{err}"
    );
}

#[test]
fn reload_without_a_daemon_is_an_error_with_a_hint() {
    let home = scratch("daemon-none");
    let (code, _, err) = ctl(&home, &["reload"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("error: bitrouter is not running"), "{err}");
    assert!(
        err.contains("hint: start it with `bitrouter start`"),
        "{err}"
    );
}

#[test]
fn restart_lets_an_open_stream_finish_then_serves_again() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mock = rt.block_on(testkit::MockUpstream::start()).unwrap();
    let base = mock.base_url();
    let home = scratch("daemon-restart");
    std::fs::write(
        home.join("bitrouter.yaml"),
        format!(
            "server: {{ skip_auth: true, listen: \"127.0.0.1:0\" }}\n\
             inherit_defaults: false\n\
             providers:\n\
             \x20 s: {{ api_base: \"{base}/v1\", api_key: k, api_protocol: chat_completions, allow_private: true, headers: {{ x-mock-fault: \"stall-mid=700\" }}, models: [{{id: up-model}}] }}\n\
             models:\n\
             \x20 slow: {{ endpoints: [{{provider: s, service_id: up-model}}] }}\n"
        ),
    )
    .unwrap();
    let (code, _, err) = ctl(&home, &["start"], &[]);
    assert_eq!(code, 0, "{err}");
    let st = status(&home);
    let _guard = Guard(st["pid"].as_u64());
    let listen = st["listen"].as_str().unwrap().to_owned();

    // A streaming request that is past its first content event when the restart begins.
    let body = r#"{"model":"slow","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let mut s = std::net::TcpStream::connect(&listen).unwrap();
    write!(
        s,
        "POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reader = BufReader::new(s);
    let mut head = String::new();
    while !head.contains("data: ") {
        assert_ne!(reader.read_line(&mut head).unwrap(), 0, "{head}");
    }
    let finish = std::thread::spawn(move || {
        let mut rest = String::new();
        reader.read_to_string(&mut rest).map(|_| rest)
    });

    let (code, out, err) = ctl(&home, &["restart"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("draining bitrouter (pid "), "{err}");
    assert!(out.starts_with("bitrouter started: pid "), "{out}");
    let rest = finish.join().unwrap().unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(rest.contains("data: [DONE]"), "the stream was cut: {rest}");

    let st2 = status(&home);
    let _guard2 = Guard(st2["pid"].as_u64());
    assert_ne!(st2["pid"], st["pid"]);
    let (line, _) = chat(st2["listen"].as_str().unwrap(), &mock, "slow");
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    assert_eq!(ctl(&home, &["stop"], &[]).0, 0);
}

/// The self-hosting guide as an operator follows it: `init` → `config validate` → `start` →
/// `status` → `route` → a request → rotate a key and `reload` → `status` shows the new hash →
/// `stop`.
#[test]
fn operator_walkthrough_init_validate_start_route_request_reload_stop() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mock = rt.block_on(testkit::MockUpstream::start()).unwrap();
    let base = mock.base_url();
    let home = scratch("daemon-walkthrough");
    let _ = std::fs::remove_file(home.join("bitrouter.yaml"));
    let custom = format!("mock=openai:{base}/v1#up-model");
    let (code, out, err) = ctl(
        &home,
        &["init", "--yes", "--custom", &custom],
        &[("MOCK_API_KEY", "k1")],
    );
    assert_eq!(code, 0, "{out}{err}");
    let cfg = home.join("bitrouter.yaml");
    // Any free port: tests run side by side.
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = text.replace("listen: 127.0.0.1:4356", "listen: \"127.0.0.1:0\"");
    std::fs::write(&cfg, text).unwrap();

    let (code, out, err) = ctl(&home, &["config", "validate", "--strict"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = ctl(&home, &["start"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let st = status(&home);
    let mut guard = Guard(st["pid"].as_u64());
    let listen = st["listen"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .to_owned();
    let hash1 = st["config_hash"].as_str().unwrap().to_owned();

    let (code, out, err) = ctl(&home, &["route", "default"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("mock / up-model"), "{out}");
    let (line, key) = chat(&listen, &mock, "default");
    assert!(line.contains(" 200 "), "{line}");
    assert_eq!(key.as_deref(), Some("Bearer k1"));

    // Rotate the key in this shell only: `reload` forwards it.
    let (code, out, err) = ctl(&home, &["reload"], &[("MOCK_API_KEY", "k2")]);
    assert_eq!(code, 0, "{out}{err}");
    let st = status(&home);
    assert_ne!(st["config_hash"].as_str().unwrap(), hash1);
    let (line, key) = chat(&listen, &mock, "default");
    assert!(line.contains(" 200 "), "{line}");
    assert_eq!(key.as_deref(), Some("Bearer k2"));

    let (code, out, err) = ctl(&home, &["stop"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    guard.0 = None;
    let (code, out, _) = ctl(&home, &["status"], &[]);
    assert_eq!(code, 3, "{out}");
}

/// Reload under load through the daemon's own control socket: 64 streaming clients (the four
/// caller protocols, `testkit::load`, as in the in-process `runtime/tests/it/reload.rs`) keep
/// requests in flight while the configuration is reloaded 100 times (a virtual model moving
/// between two providers) and 20 invalid configurations are refused; nothing is dropped.
#[test]
fn reloads_through_the_socket_under_64_streams_drop_nothing() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mock = rt.block_on(testkit::MockUpstream::start()).unwrap();
    let base = mock.base_url();
    let home = scratch("daemon-reload-load");
    let cfg = home.join("bitrouter.yaml");
    // Streams drip an event every 15 ms, so each spans several reloads; each provider names
    // itself to the mock (`x-which`).
    let drip = "  m2: { endpoints: [{provider: a, service_id: up-model}] }\n";
    let valid = |p: &str| {
        config(&base, p, drip)
            .replace(
                "  a: { api_base",
                "  a: { headers: { x-which: a, x-mock-fault: \"drip=15\" }, api_base",
            )
            .replace(
                "  b: { api_base",
                "  b: { headers: { x-which: b, x-mock-fault: \"drip=15\" }, api_base",
            )
    };
    std::fs::write(&cfg, valid("a")).unwrap();
    let (code, out, err) = ctl(&home, &["start"], &[("KEY_A", "k1")]);
    assert_eq!(code, 0, "{out}{err}");
    let st = status(&home);
    let mut guard = Guard(st["pid"].as_u64());
    let listen: std::net::SocketAddr = st["listen"].as_str().unwrap().parse().unwrap();
    let socket = home.join("run").join("bitrouter.sock");

    let load = {
        let _in_runtime = rt.enter();
        testkit::load::Load {
            addr: listen,
            model: "m".into(),
            workers: 64,
            max_per_worker: 200,
        }
        .start()
    };

    let conn = UnixStream::connect(&socket).unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut writer = conn;
    let mut ask = |line: &str| -> Value {
        writeln!(writer, "{line}").unwrap();
        let mut reply = String::new();
        reader.read_line(&mut reply).unwrap();
        serde_json::from_str(&reply).unwrap()
    };
    let reload = r#"{"v":1,"op":"reload","env":{"KEY_A":"k1"}}"#;
    let mut latencies = Vec::new();
    let mut hash = status(&home)["config_hash"].as_str().unwrap().to_owned();
    let mut on_b = false;
    for i in 0..120 {
        std::thread::sleep(Duration::from_millis(25));
        if i % 6 == 5 {
            // Invalid: an endpoint naming a provider that does not exist.
            std::fs::write(&cfg, valid("nobody")).unwrap();
            let r = ask(reload);
            assert_eq!(r["ok"], false, "{r}");
            assert!(r.to_string().contains("nobody"), "{r}");
            assert_eq!(
                status(&home)["config_hash"],
                hash.as_str(),
                "old table kept"
            );
            continue;
        }
        on_b = !on_b;
        std::fs::write(&cfg, valid(if on_b { "b" } else { "a" })).unwrap();
        let began = Instant::now();
        let r = ask(reload);
        latencies.push(began.elapsed());
        assert_eq!(r["ok"], true, "{r}");
        let now = status(&home)["config_hash"].as_str().unwrap().to_owned();
        assert_ne!(now, hash, "reload {i} published a new table");
        hash = now;
    }
    let report = rt.block_on(load.finish());
    assert!(
        report.failures.is_empty(),
        "{} of {} streams failed, first: {}",
        report.failures.len(),
        report.total(),
        report.failures[0]
    );
    let served = report.by_provider();
    assert!(
        report.served.len() >= 64,
        "only {} streams completed",
        report.served.len()
    );
    assert!(served.get("a").is_some_and(|&n| n > 0), "{served:?}");
    assert!(served.get("b").is_some_and(|&n| n > 0), "{served:?}");
    // Each stream was served by the provider its response header names, in one attempt.
    let log = testkit::load::served_by(&mock).unwrap();
    for (tag, provider) in &report.served {
        assert_eq!(log.get(tag), Some(provider), "stream {tag}");
    }
    latencies.sort();
    let pct = |p: usize| latencies[(latencies.len() - 1) * p / 100];
    println!(
        "{} reloads over the socket under 64 streams ({} streams {served:?}, 0 failed): p50 {:?} p99 {:?} max {:?}",
        latencies.len(),
        report.served.len(),
        pct(50),
        pct(99),
        latencies[latencies.len() - 1]
    );
    assert_eq!(latencies.len(), 100);

    let (code, out, err) = ctl(&home, &["stop"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    guard.0 = None;
}

#[test]
fn status_tells_a_live_but_silent_daemon_from_a_stopped_one() {
    let home = scratch("daemon-silent");
    std::fs::write(home.join("bitrouter.yaml"), "server: { skip_auth: true }\n").unwrap();
    std::fs::create_dir_all(home.join("run")).unwrap();
    // A process whose command line names bitrouter, that never opens the socket.
    let mut fake = std::process::Command::new("bash")
        .args(["-c", "exec -a bitrouter-silent sleep 30"])
        .spawn()
        .unwrap();
    std::fs::write(home.join("run/bitrouter.pid"), format!("{}\n", fake.id())).unwrap();
    wait_until("the fake daemon's command line", || {
        std::fs::read(format!("/proc/{}/cmdline", fake.id()))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains("bitrouter"))
    });
    let (code, out, _) = ctl(&home, &["status"], &[]);
    let _ = fake.kill();
    let _ = fake.wait();
    assert_eq!(code, 4, "{out}");
    assert!(
        out.starts_with("bitrouter is not answering: process "),
        "{out}"
    );
    // Once it is gone, the same pid file means stopped.
    let (code, out, _) = ctl(&home, &["status"], &[]);
    assert_eq!(code, 3, "{out}");
}
