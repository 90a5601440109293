//! The server side: keep-alive, the request log, control endpoints, routing, client-abort
//! reporting, shutdown on drop, and the `mock-upstream` binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use testkit::MockUpstream;

use crate::client::{Client, call};

const STREAM: &str = r#"{"model":"gpt-4.1","stream":true}"#;
const PLAIN: &str = r#"{"model":"gpt-4.1"}"#;

#[tokio::test]
async fn keep_alive_serves_many_requests_on_one_connection() {
    let mock = MockUpstream::start().await.unwrap();
    let mut c = Client::connect(mock.addr()).await;
    for (path, body) in [
        ("/v1/chat/completions", STREAM),
        ("/v1/chat/completions", PLAIN),
        ("/v1/messages", STREAM),
        ("/v1beta/models/g:streamGenerateContent?alt=sse", "{}"),
        ("/v1/responses", PLAIN),
    ] {
        let r = c.call(path, &[], body).await.unwrap();
        assert_eq!(r.head.status, 200, "{path}");
        assert!(r.complete);
        assert_eq!(r.head.header("connection"), None);
    }
    assert_eq!(mock.request_count(), 5);
    // Two requests written back to back (pipelined) are both answered.
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\ncontent-length: {}\r\n\r\n{PLAIN}",
        PLAIN.len()
    );
    c.send_raw(format!("{req}{req}").as_bytes()).await;
    assert_eq!(c.response().await.unwrap().head.status, 200);
    assert_eq!(c.response().await.unwrap().head.status, 200);
    // `Connection: close` is honoured.
    let r = c
        .call("/v1/chat/completions", &[("connection", "close")], PLAIN)
        .await
        .unwrap();
    assert_eq!(r.head.header("connection"), Some("close"));
    assert!(c.closed().await);
}

#[tokio::test]
async fn records_requests_in_order() {
    let mock = MockUpstream::start().await.unwrap();
    let before = Instant::now();
    let mut c = Client::connect(mock.addr()).await;
    c.call("/openai/v1/chat/completions", &[("X-Api-Key", "k1")], PLAIN)
        .await
        .unwrap();
    let path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
    c.call(path, &[], "{}").await.unwrap();
    // A chunked request body is de-chunked.
    let body = r#"{"model":"chunky"}"#;
    let (a, b) = body.split_at(7);
    let raw = format!(
        "POST /v1/messages HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    c.send_raw(raw.as_bytes()).await;
    assert_eq!(c.response().await.unwrap().head.status, 200);

    let reqs = mock.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(mock.request_count(), 3);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/openai/v1/chat/completions");
    assert_eq!(reqs[0].header("x-api-key"), Some("k1"));
    assert_eq!(reqs[0].header("X-API-KEY"), Some("k1"));
    assert!(
        reqs[0].headers.iter().any(|(n, _)| n == "x-api-key"),
        "names lowercased"
    );
    assert_eq!(reqs[0].json().unwrap(), json!({"model": "gpt-4.1"}));
    assert_eq!(reqs[1].path, path);
    assert_eq!(&reqs[2].body[..], body.as_bytes());
    assert!(reqs[0].received_at >= before && reqs[0].received_at <= reqs[1].received_at);
}

#[tokio::test]
async fn expect_100_continue_and_http_1_0() {
    let mock = MockUpstream::start().await.unwrap();
    let mut c = Client::connect(mock.addr()).await;
    let head = format!(
        "POST /v1/messages HTTP/1.1\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n",
        PLAIN.len()
    );
    c.send_raw(head.as_bytes()).await;
    assert_eq!(c.head().await.unwrap().status, 100);
    c.send_raw(PLAIN.as_bytes()).await;
    assert_eq!(c.response().await.unwrap().head.status, 200);

    let mut c = Client::connect(mock.addr()).await;
    let req = format!(
        "POST /v1/messages HTTP/1.0\r\ncontent-length: {}\r\n\r\n{PLAIN}",
        PLAIN.len()
    );
    c.send_raw(req.as_bytes()).await;
    let r = c.response().await.unwrap();
    assert_eq!(r.head.header("connection"), Some("close"));
    assert!(c.closed().await);
}

#[tokio::test]
async fn control_endpoints() {
    let mock = MockUpstream::start().await.unwrap();
    let mut c = Client::connect(mock.addr()).await;
    c.send("GET", "/health", &[], "").await;
    assert_eq!(c.response().await.unwrap().head.status, 200);
    c.call(
        "/v1/messages",
        &[("x-mock-fault", "status=529")],
        "not json",
    )
    .await
    .unwrap();
    c.call("/v1/chat/completions", &[], PLAIN).await.unwrap();
    c.send("GET", "/_mock/requests", &[], "").await;
    let log = c.response().await.unwrap().json();
    assert_eq!(
        log.as_array().unwrap().len(),
        2,
        "control requests are not recorded"
    );
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["path"], "/v1/messages");
    assert_eq!(log[0]["headers"]["x-mock-fault"], "status=529");
    assert_eq!(
        log[0]["body"], "not json",
        "a body that is not JSON is a string"
    );
    assert_eq!(log[1]["body"], json!({"model": "gpt-4.1"}));
    c.send("POST", "/_mock/reset", &[], "").await;
    assert_eq!(c.response().await.unwrap().head.status, 200);
    assert!(mock.requests().is_empty());
    assert_eq!(mock.request_count(), 0);
}

#[tokio::test]
async fn refusals_use_the_protocol_envelope() {
    let mock = MockUpstream::start().await.unwrap();
    let r = call(mock.addr(), "/v1/nothing", &[], PLAIN).await.unwrap();
    assert_eq!(r.head.status, 404);
    let r = call(mock.addr(), "/v1/messages", &[], "{oops")
        .await
        .unwrap();
    assert_eq!(r.head.status, 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    let r = call(mock.addr(), "/v1/chat/completions", &[], "{}")
        .await
        .unwrap();
    assert_eq!(r.head.status, 400, "model is required");
    let path = "/v1beta/models/g:generateContent";
    let r = call(mock.addr(), path, &[], "[1,").await.unwrap();
    assert_eq!(r.json()["error"]["status"], "INVALID_ARGUMENT");
    let mut c = Client::connect(mock.addr()).await;
    c.send("GET", path, &[], "").await;
    assert_eq!(c.response().await.unwrap().head.status, 405);
}

/// Waits for the mock to report an abort and checks it came within 100 ms of the close.
async fn assert_abort_seen(mock: &MockUpstream, closed_at: Instant) {
    let seen = mock
        .next_abort(Duration::from_secs(2))
        .await
        .expect("abort reported");
    let lag = seen.saturating_duration_since(closed_at);
    assert!(
        lag < Duration::from_millis(100),
        "abort seen {lag:?} after the close"
    );
}

#[tokio::test]
async fn next_abort_reports_a_close_during_stall_first() {
    let mock = MockUpstream::start().await.unwrap();
    assert_eq!(mock.next_abort(Duration::from_millis(10)).await, None);
    let mut c = Client::connect(mock.addr()).await;
    c.send(
        "POST",
        "/v1/chat/completions",
        &[("x-mock-fault", "stall-first=10000")],
        PLAIN,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let closed_at = Instant::now();
    c.close();
    assert_abort_seen(&mock, closed_at).await;
}

#[tokio::test]
async fn next_abort_reports_a_close_mid_stream() {
    let mock = MockUpstream::start().await.unwrap();
    for fault in ["stall-mid=10000", "drip=200"] {
        let mut c = Client::connect(mock.addr()).await;
        c.send("POST", "/v1/messages", &[("x-mock-fault", fault)], STREAM)
            .await;
        c.head().await.unwrap();
        c.chunk().await.unwrap();
        let closed_at = Instant::now();
        c.close();
        assert_abort_seen(&mock, closed_at).await;
    }
    // A request that completes is not an abort, nor is a client leaving between requests.
    let mut c = Client::connect(mock.addr()).await;
    c.call("/v1/messages", &[], STREAM).await.unwrap();
    c.close();
    assert_eq!(mock.next_abort(Duration::from_millis(100)).await, None);
}

#[tokio::test]
async fn dropping_the_mock_stops_it() {
    let mock = MockUpstream::start().await.unwrap();
    let addr = mock.addr();
    assert!(mock.base_url().starts_with("http://127.0.0.1:"));
    let mut c = Client::connect(addr).await;
    c.send(
        "POST",
        "/v1/chat/completions",
        &[("x-mock-fault", "stall-first=10000")],
        PLAIN,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    drop(mock);
    // The stalled connection is closed and no new one is accepted.
    let t = Instant::now();
    assert!(c.head().await.is_none());
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn binary_prints_its_address_and_serves() {
    /// Kills the child even when an assertion fails.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Kill(
        Command::new(env!("CARGO_BIN_EXE_mock-upstream"))
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("mock-upstream listening on http://")
        .unwrap();
    let addr = url.parse().unwrap();
    let r = call(addr, "/v1/messages", &[], PLAIN).await.unwrap();
    assert_eq!(r.json()["content"][0]["text"], "Hello!");
}
