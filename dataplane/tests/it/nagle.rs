//! No Nagle / delayed-ACK stalls: the router sets `TCP_NODELAY` on accepted and upstream
//! sockets, so a small frame leaves as soon as it is written. Without it a write made while
//! the previous segment is unacknowledged waits for the peer's delayed ACK (40 ms on Linux):
//! streamed events would arrive in 40 ms steps and each upstream request could wait as long.
//!
//! Both checks run many requests on kept-alive connections (past TCP's quick-ACK start) and
//! allow 30 ms, well above loopback scheduling noise and below the 40 ms a stall costs. The
//! streaming check fails (45–50 ms gaps) when the accepted socket lacks `TCP_NODELAY`. The
//! upstream check guards request latency; hyper writes an HTTP/1 request in one vectored
//! write, so over the plain-HTTP mock it passes even without `TCP_NODELAY` — the upstream
//! option matters for HTTP/2 over TLS, whose frames and records go out in separate writes.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::support::*;

const STALL: Duration = Duration::from_millis(30);

fn yaml(fault: Option<&str>) -> String {
    let headers = fault.map_or_else(String::new, |f| {
        format!(", headers: {{ x-mock-fault: \"{f}\" }}")
    });
    format!(
        r#"inherit_defaults: false
server: {{ skip_auth: true }}
providers:
  up: {{ api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true{headers}, models: [{{id: m}}] }}
"#
    )
}

#[tokio::test]
async fn streamed_frames_are_not_held_back() {
    // The mock sends each event 8 ms after the last; the router relays each as one write.
    let h = Harness::start(&yaml(Some("drip=8"))).await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let (path, body) = request(Protocol::ChatCompletions, "up:m", true);
    let mut worst = Duration::ZERO;
    let mut frames = 0;
    for _ in 0..8 {
        let req = http::Request::post(format!("http://{}{path}", h.addr))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.clone())))
            .unwrap();
        let res = client.request(req).await.unwrap();
        assert_eq!(res.status(), 200);
        let mut body = res.into_body();
        let mut last = Instant::now();
        while let Some(f) = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("a frame in time")
        {
            if f.unwrap().is_data() {
                let now = Instant::now();
                worst = worst.max(now - last);
                last = now;
                frames += 1;
            }
        }
    }
    assert!(frames >= 8 * 4, "only {frames} frames");
    assert!(
        worst < STALL,
        "a streamed frame waited {worst:?} after the previous one (Nagle / delayed ACK?)"
    );
}

#[tokio::test]
async fn upstream_requests_are_not_held_back() {
    let h = Harness::start(&yaml(None)).await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    // A body larger than one loopback segment.
    let pad = "x".repeat(150_000);
    let body = format!(r#"{{"model":"up:m","messages":[{{"role":"user","content":"{pad}"}}]}}"#);
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let req = http::Request::post(format!("http://{}/v1/chat/completions", h.addr))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.clone())))
            .unwrap();
        let started = Instant::now();
        let res = client.request(req).await.unwrap();
        assert_eq!(res.status(), 200);
        res.into_body().collect().await.unwrap();
        worst = worst.max(started.elapsed());
    }
    assert!(
        worst < STALL,
        "a whole request through the router took {worst:?} (Nagle / delayed ACK?)"
    );
}
