//! Draining for rolling restarts, with real `bitrouter serve` processes: on SIGTERM `/ready`
//! answers 503 at once and `/health` stays 200, new connections are still served during
//! `server.drain.accept` with `Connection: close`, open streams finish, and the process exits
//! 0; the drain deadline bounds a stream that outlasts it. Then a rolling restart of 3
//! replicas behind a real HAProxy under 100 concurrent streams loses none.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use testkit::haproxy::{Haproxy, HaproxyOptions};
use testkit::load::{self, Caller, Load};

use super::{bin, scratch};

/// One `bitrouter serve` process on its own home and a free port; killed on drop.
pub(crate) struct Replica {
    child: Child,
    pub(crate) addr: SocketAddr,
    home: PathBuf,
}

impl Replica {
    /// `drip`: ms between the mock's stream events; `drain`: the `server.drain` block.
    fn spawn(name: &str, mock: &str, drip: u64, drain: &str) -> Replica {
        let yaml = |addr: SocketAddr| {
            format!(
                "server: {{ skip_auth: true, listen: \"{addr}\", drain: {drain} }}\n\
                 inherit_defaults: false\n\
                 providers:\n\
                 \x20 up: {{ api_base: \"{mock}/v1\", api_key: k, api_protocol: chat_completions, allow_private: true, headers: {{ x-mock-fault: \"drip={drip}\" }}, models: [{{id: up-model}}] }}\n\
                 models:\n\
                 \x20 m: {{ endpoints: [{{provider: up, service_id: up-model}}] }}\n"
            )
        };
        Replica::spawn_with(&format!("drain-{name}"), &yaml, &|_| ())
    }

    /// A replica on a fresh home `name` whose `bitrouter.yaml` is `yaml(listen address)`;
    /// `prep` fills the home first (keys, say).
    pub(crate) fn spawn_with(
        name: &str,
        yaml: &dyn Fn(SocketAddr) -> String,
        prep: &dyn Fn(&std::path::Path),
    ) -> Replica {
        let home = scratch(name);
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        prep(&home);
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            std::fs::write(home.join("bitrouter.yaml"), yaml(addr)).unwrap();
            let mut c = bin();
            c.arg("serve")
                .arg("--home-dir")
                .arg(&home)
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(home.join("serve.out")).unwrap())
                .stderr(std::fs::File::create(home.join("serve.log")).unwrap());
            let mut child = c.spawn().unwrap();
            let began = Instant::now();
            while began.elapsed() < Duration::from_secs(20) {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if get(addr, "/health", true).is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
                    return Replica { child, addr, home };
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "bitrouter serve did not come up:\n{}",
            std::fs::read_to_string(home.join("serve.log")).unwrap_or_default()
        );
    }

    pub(crate) fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} failed");
    }

    fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let began = Instant::now();
        while began.elapsed() < limit {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub(crate) fn log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.home.join(f)).unwrap_or_default();
        read("serve.out") + &read("serve.log")
    }

    /// Whether the log comes to contain `needle` within 5 s (the router writes its log every
    /// 50 ms, not line by line).
    pub(crate) fn log_gets(&self, needle: &str) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            if self.log().contains(needle) {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real HAProxy round-robin in front of `replicas` (slot `i` is `replicas[i]`), with 200 ms
/// `/ready` checks; returns once every slot is UP.
pub(crate) fn balanced(replicas: &[Replica]) -> Haproxy {
    let options = HaproxyOptions {
        check_interval: Duration::from_millis(200),
        ..Default::default()
    };
    let lb = Haproxy::start_with(
        &replicas.iter().map(|r| r.addr).collect::<Vec<_>>(),
        &options,
    )
    .unwrap();
    for slot in 0..replicas.len() {
        lb.wait_status(slot, "UP", Duration::from_secs(10)).unwrap();
    }
    lb
}

/// A GET on a fresh connection (`close`: ask for `Connection: close`), the whole reply; `None`
/// when the connection is refused or fails.
pub(crate) fn get(addr: SocketAddr, path: &str, close: bool) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let conn = if close { "connection: close\r\n" } else { "" };
    write!(s, "GET {path} HTTP/1.1\r\nhost: localhost\r\n{conn}\r\n").ok()?;
    if close {
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        return Some(out);
    }
    read_one(&mut s)
}

/// One response with a `content-length` body from a keep-alive connection.
fn read_one(s: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    s.read_exact(&mut body).ok()?;
    Some(head + &String::from_utf8_lossy(&body))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn sigterm_flips_ready_keeps_serving_and_finishes_open_streams() {
    let rt = rt();
    let mock = rt.block_on(testkit::MockUpstream::start()).unwrap();
    // A stream of ~2.5 s (drip 400 ms), outlasting the 2 s accept window.
    let mut r = Replica::spawn(
        "term",
        &mock.base_url(),
        400,
        "{ timeout: 20s, accept: 2s }",
    );
    let addr = r.addr;

    // A keep-alive connection opened before the signal.
    let mut kept = TcpStream::connect(addr).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    kept.write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .unwrap();
    let first = read_one(&mut kept).unwrap();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(
        !first.to_ascii_lowercase().contains("connection: close"),
        "{first}"
    );

    let stream = rt.spawn(load::call(addr, Caller::Messages, "m", true, 1));
    let began = Instant::now();
    while mock.request_count() == 0 {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "the stream never reached the mock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    r.signal("-TERM");
    let term = Instant::now();
    // `/ready` turns 503 at once (bounded well under a health-check interval).
    loop {
        let ready = get(addr, "/ready", true).expect("a new connection during the drain is served");
        if ready.starts_with("HTTP/1.1 503") {
            break;
        }
        assert!(
            term.elapsed() < Duration::from_secs(1),
            "/ready still: {ready}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let health = get(addr, "/health", true).unwrap();
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    // The old keep-alive connection is served once more, told to close, and closed.
    kept.write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .unwrap();
    let again = read_one(&mut kept).unwrap();
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
    assert!(
        again.to_ascii_lowercase().contains("connection: close"),
        "{again}"
    );
    let mut rest = [0u8; 16];
    assert_eq!(
        kept.read(&mut rest).unwrap_or(0),
        0,
        "the connection closes after it"
    );

    // New connections during the window: served, each response with `close`.
    let ready = get(addr, "/ready", false).unwrap();
    assert!(
        ready.to_ascii_lowercase().contains("connection: close"),
        "{ready}"
    );
    let fresh = rt
        .block_on(load::call(addr, Caller::ChatCompletions, "m", false, 2))
        .unwrap();
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert!(
        term.elapsed() < Duration::from_secs(2),
        "the checks above outlasted the window"
    );

    // The stream open at the signal arrives whole.
    let a = rt.block_on(stream).unwrap().unwrap();
    assert_eq!(load::incomplete(Caller::Messages, &a), None, "{}", a.body);

    let status = r
        .wait_exit(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("no exit:\n{}", r.log()));
    assert!(status.success(), "{status}\n{}", r.log());
    assert!(
        term.elapsed() >= Duration::from_secs(2),
        "left before the accept window closed"
    );
    assert!(
        get(addr, "/health", true).is_none(),
        "still accepting after exit"
    );
}

/// A stream longer than `server.drain.timeout` is cut at the deadline; the process exits then,
/// not when the stream would have ended. Ctrl-C (SIGINT) stops accepting at once.
#[test]
fn the_drain_deadline_bounds_a_stream_and_sigint_stops_accepting_at_once() {
    let rt = rt();
    let mock = rt.block_on(testkit::MockUpstream::start()).unwrap();
    // ~6 s stream (drip 1 s), deadline 1 s.
    let mut r = Replica::spawn(
        "deadline",
        &mock.base_url(),
        1000,
        "{ timeout: 1s, accept: 1s }",
    );
    let addr = r.addr;
    let stream = rt.spawn(load::call(addr, Caller::ChatCompletions, "m", true, 1));
    let began = Instant::now();
    while mock.request_count() == 0 {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "the stream never reached the mock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    r.signal("-INT");
    let sig = Instant::now();
    // SIGINT: no accept window.
    let refused = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        get(addr, "/health", true).is_none()
    });
    assert!(refused, "still accepting after SIGINT");
    assert!(sig.elapsed() < Duration::from_millis(1000) + Duration::from_millis(900));
    let status = r
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no exit:\n{}", r.log()));
    assert!(status.success(), "{status}\n{}", r.log());
    assert!(
        sig.elapsed() < Duration::from_secs(4),
        "exit took {:?}",
        sig.elapsed()
    );
    match rt.block_on(stream).unwrap() {
        Err(_) => {}
        Ok(a) => assert!(
            load::incomplete(Caller::ChatCompletions, &a).is_some(),
            "{}",
            a.body
        ),
    }
}

/// Replaces each of 3 replicas in turn (new process on a new port, SIGTERM to the old one,
/// HAProxy's slot moved once the old one is out) while 100 callers stream without pause:
/// every stream arrives whole.
#[test]
fn a_rolling_restart_behind_haproxy_loses_no_stream() {
    if Haproxy::binary().is_none() {
        return;
    }
    let rt = rt();
    let mock = rt
        .block_on(testkit::MockUpstream::bind(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            false,
        ))
        .unwrap();
    let base = mock.base_url();
    // Streams of ~0.5 s; the accept window covers a few health checks of 200 ms.
    let drain = "{ timeout: 20s, accept: 1500ms }";
    let mut replicas: Vec<Replica> = (0..3)
        .map(|i| Replica::spawn(&format!("roll-{i}"), &base, 100, drain))
        .collect();
    let lb = balanced(&replicas);
    let _guard = rt.enter();
    let running = Load {
        addr: lb.addr(),
        model: "m".into(),
        workers: 100,
        max_per_worker: 10_000,
    }
    .start();
    std::thread::sleep(Duration::from_secs(1));
    #[allow(
        clippy::needless_range_loop,
        reason = "the slot number is the HAProxy slot too"
    )]
    for slot in 0..3 {
        let fresh = Replica::spawn(&format!("roll-{slot}-new"), &base, 100, drain);
        let mut old = std::mem::replace(&mut replicas[slot], fresh);
        old.signal("-TERM");
        lb.wait_status(slot, "DOWN", Duration::from_secs(5))
            .unwrap();
        lb.set_state(slot, "maint").unwrap();
        lb.set_addr(slot, replicas[slot].addr).unwrap();
        lb.set_state(slot, "ready").unwrap();
        lb.wait_status(slot, "UP", Duration::from_secs(10)).unwrap();
        let status = old
            .wait_exit(Duration::from_secs(25))
            .unwrap_or_else(|| panic!("no exit:\n{}", old.log()));
        assert!(status.success(), "{status}\n{}", old.log());
    }
    std::thread::sleep(Duration::from_secs(1));
    let report = rt.block_on(running.finish());
    assert!(
        report.failures.is_empty(),
        "{} failed, first: {:?}\nhaproxy:\n{}",
        report.failures.len(),
        report.failures.first(),
        lb.log()
    );
    assert!(
        report.served.len() >= 300,
        "only {} streams served",
        report.served.len()
    );
    for slot in 0..3 {
        let total = lb.stat(slot).unwrap().total;
        assert!(total > 0, "slot {slot} served nothing");
    }
}
