//! Limits shared across replicas (`server.limits.store`), with real processes: 3 `bitrouter
//! serve` replicas behind a real HAProxy and one real Redis/Valkey. One key's `rpm: 10` admits
//! exactly 10 of 30 calls spread over the replicas; a budget that covers 10 calls admits 10 of
//! 50 concurrent ones and is whole again after 100 cancelled streams; `concurrency: 3` admits 3
//! of 10 open streams and 3 again after they finish or are cancelled; a `tpm` for three worst
//! cases admits three open streams, and three more once they settled to what they used; a store
//! killed mid-run refuses (`fail_closed`) or admits (`fail_open`), is counted, and recovers by
//! itself.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use testkit::haproxy::Haproxy;
use testkit::redis::RedisServer;

use super::drain::{Replica, balanced, get};
use super::{bin, run, scratch};

fn ok(home: &Path, args: &[&str]) -> String {
    let mut c = bin();
    c.args(args).arg("--home-dir").arg(home);
    let (code, out, err) = run(&mut c);
    assert_eq!(code, 0, "{args:?}: {out}{err}");
    out
}

/// A home with an account and one key minted with `claims`; the key and the home's `.keys`.
fn mint(name: &str, claims: &[&str]) -> (String, std::path::PathBuf) {
    let home = scratch(&format!("shared-{name}-keys"));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("bitrouter.yaml"),
        "server: { skip_auth: false, listen: \"127.0.0.1:0\" }\n",
    )
    .unwrap();
    ok(&home, &["account", "--generate"]);
    let mut args = vec!["keygen", "--exp", "1h"];
    args.extend_from_slice(claims);
    let token = ok(&home, &args).trim().to_owned();
    (token, home.join(".keys"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A replica trusting `keys`, counting in `store` with `on_error`; its upstream drips stream
/// events every `drip` ms and prices `up` at $2/M in and $8/M out.
fn replica(
    name: &str,
    keys: &Path,
    mock: &str,
    store: &str,
    on_error: &str,
    metrics: Option<u16>,
    drip: u64,
) -> Replica {
    let metrics_line = metrics.map_or_else(String::new, |p| {
        format!("\n  metrics_listen: \"127.0.0.1:{p}\"")
    });
    let yaml = move |addr: SocketAddr| {
        format!(
            "server:\n\
             \x20 skip_auth: false\n\
             \x20 listen: \"{addr}\"{metrics_line}\n\
             \x20 limits: {{ store: \"{store}\", on_store_error: {on_error}, store_timeout: 200ms }}\n\
             inherit_defaults: false\n\
             providers:\n\
             \x20 up: {{ api_base: \"{mock}/v1\", api_key: k, api_protocol: chat_completions, allow_private: true, headers: {{ x-mock-fault: \"drip={drip}\" }}, models: [{{id: up, pricing: {{input: 2.0, output: 8.0}}}}] }}\n\
             models:\n\
             \x20 m: {{ endpoints: [{{provider: up, service_id: up}}] }}\n"
        )
    };
    Replica::spawn_with(&format!("shared-{name}"), &yaml, &|home| {
        copy_dir(keys, &home.join(".keys"))
    })
}

/// One chat completion (`stream`, `max_tokens` 1000) with `token`, on a fresh connection; the
/// whole reply (head and body), or the head only when `cancel` (the connection is then dropped
/// mid-stream).
fn call(addr: SocketAddr, token: &str, stream: bool, cancel: bool) -> String {
    let body = format!(
        r#"{{"model":"m","max_tokens":1000,"stream":{stream},"messages":[{{"role":"user","content":"Say hello."}}]}}"#
    );
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         authorization: Bearer {token}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = Vec::new();
    if cancel {
        let mut byte = [0u8; 1];
        while !out.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
            out.push(byte[0]);
        }
    } else {
        let _ = s.read_to_end(&mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn status(reply: &str) -> u16 {
    reply
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A Redis, a runtime and a mock upstream on it (keep the runtime: the mock runs there); `None` (the test skips) without a Redis binary.
fn engines() -> Option<(RedisServer, tokio::runtime::Runtime, testkit::MockUpstream)> {
    let redis = RedisServer::start()?.expect("redis-server starts");
    let rt = rt();
    let mock = rt.block_on(testkit::MockUpstream::start()).unwrap();
    Some((redis, rt, mock))
}

/// Three replicas on one store behind HAProxy, round-robin with 200 ms health checks.
fn cluster(name: &str, keys: &Path, mock: &str, store: &str, drip: u64) -> (Vec<Replica>, Haproxy) {
    let replicas: Vec<Replica> = (0..3)
        .map(|i| {
            replica(
                &format!("{name}-{i}"),
                keys,
                mock,
                store,
                "fail_closed",
                None,
                drip,
            )
        })
        .collect();
    let lb = balanced(&replicas);
    (replicas, lb)
}

#[test]
fn rpm_10_admits_exactly_10_of_30_across_three_replicas() {
    if Haproxy::binary().is_none() {
        return;
    }
    let Some((redis, _rt, mock)) = engines() else {
        return;
    };
    let (token, keys) = mint("rpm", &["--rpm", "10"]);
    let (replicas, lb) = cluster("rpm", &keys, &mock.base_url(), &redis.url(), 0);

    let began = Instant::now();
    let replies: Vec<String> = (0..30)
        .map(|_| call(lb.addr(), &token, false, false))
        .collect();
    assert!(began.elapsed() < Duration::from_secs(50), "within a minute");
    let admitted = replies.iter().filter(|r| status(r) == 200).count();
    let refused: Vec<&String> = replies.iter().filter(|r| status(r) == 429).collect();
    assert_eq!(
        (admitted, refused.len()),
        (10, 20),
        "{:?}",
        replies.iter().map(|r| status(r)).collect::<Vec<_>>()
    );
    for r in refused {
        assert!(r.to_ascii_lowercase().contains("\r\nretry-after: "), "{r}");
    }
    for slot in 0..3 {
        let total = lb.stat(slot).unwrap().total;
        assert!(total >= 5, "slot {slot} served {total}: not spread");
    }
    drop(replicas);
}

#[test]
fn a_budget_for_10_admits_10_of_50_and_is_whole_after_100_cancelled_streams() {
    if Haproxy::binary().is_none() {
        return;
    }
    let Some((redis, _rt, mock)) = engines() else {
        return;
    };
    // Each call reserves its worst case: 1000 output tokens at $8/M plus ~38 input tokens at
    // $2/M, about 8,080 micro-USD; $0.085 covers 10 such calls, not 11.
    let (token, keys) = mint("budget", &["--budget", "0.085", "--budget-window", "day"]);
    // Streams of several seconds (an event every 400 ms), so all 50 overlap.
    let (replicas, lb) = cluster("budget", &keys, &mock.base_url(), &redis.url(), 400);
    let addr = lb.addr();
    let burst = |n: usize| -> Vec<u16> {
        std::thread::scope(|s| {
            let calls: Vec<_> = (0..n)
                .map(|_| s.spawn(|| status(&call(addr, &token, true, false))))
                .collect();
            calls.into_iter().map(|c| c.join().unwrap()).collect()
        })
    };
    let codes = burst(50);
    let admitted = codes.iter().filter(|c| **c == 200).count();
    assert_eq!(admitted, 10, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 40, "{codes:?}");

    // 100 streams cancelled after their head, 10 at a time (what the budget allows at once):
    // every batch is admitted only if the last one's reservations were released.
    for batch in 0..10 {
        let heads: Vec<String> = std::thread::scope(|s| {
            let calls: Vec<_> = (0..10)
                .map(|_| s.spawn(|| call(addr, &token, true, true)))
                .collect();
            calls.into_iter().map(|c| c.join().unwrap()).collect()
        });
        let began = Instant::now();
        for h in &heads {
            assert_eq!(status(h), 200, "batch {batch}: {h}");
        }
        // The released reservations reach the store on their own task (bounded by the
        // store timeout): give them that long before the next batch.
        std::thread::sleep(Duration::from_millis(300).saturating_sub(began.elapsed()));
    }
    // Whole again: another burst admits 10 (what was really spent is a few hundred
    // micro-USD; a leaked reservation would leave room for fewer).
    std::thread::sleep(Duration::from_millis(500));
    let codes = burst(12);
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 10, "{codes:?}");
    drop(replicas);
}

/// `n` streams at once through `addr`, each read to its end: the replies.
fn streams(addr: SocketAddr, token: &str, n: usize) -> Vec<String> {
    std::thread::scope(|s| {
        let calls: Vec<_> = (0..n)
            .map(|_| s.spawn(|| call(addr, token, true, false)))
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    })
}

fn sorted(replies: &[String]) -> Vec<u16> {
    let mut c: Vec<u16> = replies.iter().map(|r| status(r)).collect();
    c.sort_unstable();
    c
}

#[test]
fn concurrency_3_admits_3_of_10_open_streams_across_three_replicas_and_again_after_cancels() {
    if Haproxy::binary().is_none() {
        return;
    }
    let Some((redis, _rt, mock)) = engines() else {
        return;
    };
    let (token, keys) = mint("conc", &["--concurrency", "3"]);
    // Streams of several seconds (an event every 400 ms), so all 10 overlap.
    let (replicas, lb) = cluster("conc", &keys, &mock.base_url(), &redis.url(), 400);
    let addr = lb.addr();
    let replies = streams(addr, &token, 10);
    assert_eq!(sorted(&replies), [[200; 3].as_slice(), &[429; 7]].concat());
    for r in replies.iter().filter(|r| status(r) == 429) {
        assert!(
            r.to_ascii_lowercase().contains("\r\nretry-after: 1\r\n"),
            "{r}"
        );
        assert!(
            r.contains("this API key already has 3 requests in flight"),
            "{r}"
        );
    }
    // Slots are given back on a task of their own (bounded by the 200 ms store timeout).
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sorted(&streams(addr, &token, 5)), [200, 200, 200, 429, 429]);
    std::thread::sleep(Duration::from_millis(500));
    // Ten streams cancelled after their head, three at a time: each batch is admitted only
    // if the last one's slots came back.
    for batch in [3, 3, 3, 1] {
        let heads: Vec<String> = std::thread::scope(|s| {
            let calls: Vec<_> = (0..batch)
                .map(|_| s.spawn(|| call(addr, &token, true, true)))
                .collect();
            calls.into_iter().map(|c| c.join().unwrap()).collect()
        });
        for h in &heads {
            assert_eq!(status(h), 200, "{h}");
        }
        // The replica sees the caller gone at its next write (400 ms), then gives back.
        std::thread::sleep(Duration::from_millis(1000));
    }
    assert_eq!(sorted(&streams(addr, &token, 5)), [200, 200, 200, 429, 429]);
    drop(replicas);
}

#[test]
fn a_tpm_for_three_worst_cases_admits_three_across_replicas_then_three_more_once_settled() {
    if Haproxy::binary().is_none() {
        return;
    }
    let Some((redis, _rt, mock)) = engines() else {
        return;
    };
    // What `call` reserves: a quarter of its body's bytes plus its 1000 `max_tokens`.
    let body = r#"{"model":"m","max_tokens":1000,"stream":true,"messages":[{"role":"user","content":"Say hello."}]}"#;
    let one = (body.len() as u64).div_ceil(4) + 1000;
    let tpm = 3 * one + one / 2;
    let (token, keys) = mint("tpm", &["--tpm", &tpm.to_string()]);
    let (replicas, lb) = cluster("tpm", &keys, &mock.base_url(), &redis.url(), 400);
    let addr = lb.addr();
    let replies = streams(addr, &token, 8);
    assert_eq!(sorted(&replies), [[200; 3].as_slice(), &[429; 5]].concat());
    for r in replies.iter().filter(|r| status(r) == 429) {
        assert!(r.to_ascii_lowercase().contains("\r\nretry-after: "), "{r}");
        assert!(
            r.contains(&format!("limit of {tpm} tokens per minute")),
            "{r}"
        );
    }
    // Each settled to what it used (a few tens of tokens): three worst cases fit again (a
    // settle that kept the estimate would leave room for none), four do not.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sorted(&streams(addr, &token, 5)), [200, 200, 200, 429, 429]);
    for slot in 0..3 {
        let total = lb.stat(slot).unwrap().total;
        assert!(total >= 3, "slot {slot} served {total}: not spread");
    }
    drop(replicas);
}

fn metric(port: u16, name: &str) -> f64 {
    let text = get(SocketAddr::from(([127, 0, 0, 1], port)), "/metrics", true).unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn a_store_killed_mid_run_refuses_or_admits_as_configured_and_recovers() {
    let Some((mut redis, _rt, mock)) = engines() else {
        return;
    };
    let (token, keys) = mint("kill", &["--rpm", "1000"]);
    let (mc, mo) = (free_port(), free_port());
    let url = redis.url();
    let closed = replica(
        "kill-closed",
        &keys,
        &mock.base_url(),
        &url,
        "fail_closed",
        Some(mc),
        0,
    );
    let open = replica(
        "kill-open",
        &keys,
        &mock.base_url(),
        &url,
        "fail_open",
        Some(mo),
        0,
    );
    for r in [&closed, &open] {
        assert_eq!(status(&call(r.addr, &token, false, false)), 200);
    }

    redis.kill();
    let refused = call(closed.addr, &token, false, false);
    assert_eq!(status(&refused), 503, "{refused}");
    assert!(refused.contains("limit_store_unavailable"), "{refused}");
    assert!(
        refused.to_ascii_lowercase().contains("\r\nretry-after: "),
        "{refused}"
    );
    let admitted = call(open.addr, &token, false, false);
    assert_eq!(status(&admitted), 200, "{admitted}");
    let name = "bitrouter_limit_store_errors_total";
    assert!(metric(mc, &format!("{name}{{action=\"refused\"}}")) >= 1.0);
    assert!(metric(mo, &format!("{name}{{action=\"admitted\"}}")) >= 1.0);
    assert!(closed.log_gets("limit store"), "{}", closed.log());

    redis.restart().unwrap();
    let began = Instant::now();
    loop {
        let r = call(closed.addr, &token, false, false);
        if status(&r) == 200 {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "no automatic recovery: {r}\n{}",
            closed.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
