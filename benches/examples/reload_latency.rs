//! Reload latency under load: compile + publish percentiles while 64 streams are in flight.
//!
//! `cargo run --release -p benches --example reload_latency [-- RELOADS]` (default 200)
//!
//! Starts the mock upstream (`testkit`) and the data plane (`dataplane::Server`) on a 2-thread
//! tokio runtime, keeps 64 streaming requests running back to back (the four caller protocols,
//! the mock dripping an event every 25 ms so each stream spans several reloads), and reloads
//! RELOADS times alternating the two configs of `benches::reload::pair` (the virtual model moves
//! between a Chat Completions and a Messages provider). Each reload is what the daemon does: a
//! strict compile, then `publish`. Prints reload latency p50/p99/max without load (the same
//! reloads, no streams) and under load, the streams served and how many failed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a measurement program: any failure should stop it, loudly"
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use benches::Fixture;
use bytes::Bytes;
use dataplane::Server;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;

const STREAMS: usize = 64;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Path, body and the stream's terminal frame, per caller protocol.
fn call(k: usize) -> (&'static str, &'static str, &'static str) {
    match k % 4 {
        0 => (
            "/v1/chat/completions",
            r#"{"model":"vm","messages":[{"role":"user","content":"Say hello."}],"stream":true}"#,
            "data: [DONE]",
        ),
        1 => (
            "/v1/responses",
            r#"{"model":"vm","input":"Say hello.","stream":true}"#,
            "event: response.completed",
        ),
        2 => (
            "/v1/messages",
            r#"{"model":"vm","max_tokens":64,"messages":[{"role":"user","content":"Say hello."}],"stream":true}"#,
            "event: message_stop",
        ),
        _ => (
            "/v1beta/models/vm:streamGenerateContent?alt=sse",
            r#"{"contents":[{"role":"user","parts":[{"text":"Say hello."}]}]}"#,
            "\"finishReason\"",
        ),
    }
}

/// One stream; `true` when it completed with its terminal frame.
async fn stream(client: &HttpClient, addr: SocketAddr, k: usize) -> bool {
    let (path, body, end) = call(k);
    let req = Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    let Ok(res) = client.request(req).await else {
        return false;
    };
    if res.status() != 200 {
        return false;
    }
    match res.into_body().collect().await {
        Ok(b) => {
            let b = b.to_bytes();
            let text = String::from_utf8_lossy(&b);
            text.matches(end).count() == 1 && text.contains("lo!")
        }
        Err(_) => false,
    }
}

/// `n` reloads alternating the pair, `gap` apart; the compile + publish time of each.
async fn reloads(server: &Server, pair: &[Fixture; 2], n: usize, gap: Duration) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        let table = pair[(i + 1) % 2].table();
        server.publish(table);
        out.push(start.elapsed());
        tokio::time::sleep(gap).await;
    }
    out.sort();
    out
}

fn summary(label: &str, sorted: &[Duration]) {
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    println!(
        "{label:>13}: {} reloads, compile+publish p50 {:?} p99 {:?} max {:?}",
        sorted.len(),
        at(0.50),
        at(0.99),
        sorted[sorted.len() - 1]
    );
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mock = testkit::MockUpstream::bind(([127, 0, 0, 1], 0).into(), false)
            .await
            .unwrap();
        let pair = benches::reload::pair(&mock.base_url(), "drip=25");
        let server = Server::new(pair[0].table());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(Arc::clone(&server).run(listener, std::future::pending()));

        summary(
            "without load",
            &reloads(&server, &pair, n, Duration::from_millis(5)).await,
        );

        let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
        let done = Arc::new(AtomicBool::new(false));
        let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut workers = Vec::new();
        for k in 0..STREAMS {
            let (client, done) = (client.clone(), Arc::clone(&done));
            let (ok, failed) = (Arc::clone(&ok), Arc::clone(&failed));
            workers.push(tokio::spawn(async move {
                while !done.load(Ordering::Acquire) {
                    let counter = if stream(&client, addr, k).await {
                        &ok
                    } else {
                        &failed
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        let warmup = Instant::now();
        while server.in_flight() < STREAMS && warmup.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let under = reloads(&server, &pair, n, Duration::from_millis(20)).await;
        let in_flight = server.in_flight();
        done.store(true, Ordering::Release);
        for w in workers {
            w.await.unwrap();
        }
        summary("64 in flight", &under);
        println!(
            "{:>13}: {} streams completed, {} failed ({in_flight} in flight at the last reload)",
            "streams",
            ok.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed)
        );
    });
}
