//! A client that goes away cancels the upstream call at once: while waiting for the first
//! byte, before the commit point, and mid-stream; streaming or not.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

const YAML: &str = r#"inherit_defaults: false
server: { skip_auth: true }
providers:
  stall: { api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, headers: { x-mock-fault: "stall-first=10000" }, models: [{id: m}] }
  drip: { api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, headers: { x-mock-fault: "drip=400" }, models: [{id: m}] }
"#;

async fn start_request(addr: std::net::SocketAddr, model: &str, stream: bool) -> TcpStream {
    let (path, body) = request(Protocol::ChatCompletions, model, stream);
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    s
}

async fn assert_upstream_cancelled(h: &Harness, client: TcpStream) {
    // Let the router reach the upstream first.
    for _ in 0..50 {
        if h.mock.request_count() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(h.mock.request_count(), 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let dropped = Instant::now();
    drop(client);
    let seen = h
        .mock
        .next_abort(Duration::from_secs(3))
        .await
        .expect("the upstream connection was not closed");
    let after = seen.saturating_duration_since(dropped);
    assert!(
        after < Duration::from_millis(100),
        "closed {after:?} after the client left"
    );
}

#[tokio::test]
async fn disconnect_while_waiting_for_the_first_byte() {
    for stream in [false, true] {
        let h = Harness::start(YAML).await;
        let client = start_request(h.addr, "stall:m", stream).await;
        assert_upstream_cancelled(&h, client).await;
    }
}

#[tokio::test]
async fn disconnect_mid_stream() {
    let h = Harness::start(YAML).await;
    let mut client = start_request(h.addr, "drip:m", true).await;
    let mut buf = [0u8; 4096];
    let n = client.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert_upstream_cancelled(&h, client).await;
    assert_eq!(h.server.in_flight(), 0);
}

#[tokio::test]
async fn disconnect_before_commit_on_a_slow_stream() {
    let yaml = YAML.replace("drip=400", "drip=1000");
    let h = Harness::start(&yaml).await;
    let client = start_request(h.addr, "drip:m", true).await;
    assert_upstream_cancelled(&h, client).await;
}
