//! The HAProxy launcher against tiny backends: it balances round-robin over healthy replicas,
//! health-checks `GET /ready`, retries a refused connection elsewhere, and its runtime API
//! takes a slot out of rotation and moves it to a new address.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use testkit::haproxy::Haproxy;

/// An HTTP/1.1 server on its own thread answering every request with `name` (and `/ready`
/// with 200, or 503 once `ready` is false). Keep-alive; ends with the test process.
fn backend(name: &'static str, ready: Arc<AtomicBool>) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let ready = Arc::clone(&ready);
            std::thread::spawn(move || serve(s, name, &ready));
        }
    });
    addr
}

fn serve(s: TcpStream, name: &str, ready: &AtomicBool) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h.trim().is_empty() {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let status = if line.starts_with("GET /ready") && !ready.load(Ordering::Relaxed) {
            "503 Service Unavailable"
        } else {
            "200 OK"
        };
        let reply = format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n{name}",
            name.len()
        );
        if w.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// One request through the balancer on a fresh connection: the status code and body.
fn get(lb: &Haproxy) -> (u16, String) {
    let mut s = TcpStream::connect(lb.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /x HTTP/1.1\r\nhost: lb\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let code = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (code, body)
}

fn up() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(true))
}

#[test]
fn balances_checks_ready_and_moves_slots() {
    let a = backend("a", up());
    let b_ready = up();
    let b = backend("b", Arc::clone(&b_ready));
    let Some(_) = Haproxy::binary() else { return };
    let lb = Haproxy::start(&[a, b]).unwrap();
    assert_eq!(lb.slots(), 2);
    for slot in 0..2 {
        lb.wait_status(slot, "UP", Duration::from_secs(10)).unwrap();
    }

    // Round-robin: both answer.
    let bodies: Vec<String> = (0..6).map(|_| get(&lb).1).collect();
    assert!(bodies.iter().any(|b| b == "a"), "{bodies:?}");
    assert!(bodies.iter().any(|b| b == "b"), "{bodies:?}");

    // `/ready` 503 takes `b` out of rotation.
    b_ready.store(false, Ordering::Relaxed);
    lb.wait_status(1, "DOWN", Duration::from_secs(10)).unwrap();
    for _ in 0..4 {
        assert_eq!(get(&lb), (200, "a".to_owned()));
    }
    b_ready.store(true, Ordering::Relaxed);
    lb.wait_status(1, "UP", Duration::from_secs(10)).unwrap();

    // Maintenance through the runtime API, then back.
    lb.set_state(0, "maint").unwrap();
    lb.wait_status(0, "MAINT", Duration::from_secs(5)).unwrap();
    for _ in 0..4 {
        assert_eq!(get(&lb), (200, "b".to_owned()));
    }

    // Slot 0 moved to a new backend, `c`.
    let c = backend("c", up());
    lb.set_addr(0, c).unwrap();
    lb.set_state(0, "ready").unwrap();
    lb.wait_status(0, "UP", Duration::from_secs(10)).unwrap();
    let bodies: Vec<String> = (0..6).map(|_| get(&lb).1).collect();
    assert!(bodies.iter().any(|b| b == "c"), "{bodies:?}");
    assert!(!bodies.iter().any(|b| b == "a"), "{bodies:?}");
    assert!(lb.stat(0).unwrap().total > 0);

    // A bad command is an error, not silence.
    assert!(lb.set_state(7, "ready").is_err());
}

/// A replica whose port refuses connections while the balancer still thinks it is up: the
/// request is retried on the other one, and the caller never sees the failure.
#[test]
fn a_refused_connection_is_redispatched() {
    let a = backend("a", up());
    // A port nothing listens on (bound, then freed).
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let Some(_) = Haproxy::binary() else { return };
    // Checks every 60 s: the dead slot stays "UP" (never checked) for the whole test.
    let options = testkit::haproxy::HaproxyOptions {
        check_interval: Duration::from_secs(60),
        ..Default::default()
    };
    let lb = Haproxy::start_with(&[a, dead], &options).unwrap();
    for _ in 0..6 {
        assert_eq!(get(&lb), (200, "a".to_owned()));
    }
}
