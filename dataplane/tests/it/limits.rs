//! Bad input and limits: the right status in the caller's error shape, and the server keeps
//! serving.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

const YAML: &str = r#"inherit_defaults: false
server:
  skip_auth: true
  limits: { max_body_size: 1KiB, max_headers: 20, max_header_size: 4KiB, header_read_timeout: 300ms, max_in_flight: 2 }
providers:
  up: { api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, models: [{id: m}, {id: slow}] }
  slow: { api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, headers: { x-mock-fault: "stall-first=1500" }, models: [{id: s}] }
"#;

/// Sends raw bytes and returns everything the server writes before closing (or 3 s).
async fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_400_in_each_shape() {
    let h = Harness::start(YAML).await;
    for p in Protocol::ALL {
        let (path, _) = request(p, "m", false);
        for body in [
            "{\"model\":",
            "[]",
            "{\"model\": 5}",
            "{\"model\":\"m\",\"stream\":\"yes\"}",
            "\u{0}\u{1}",
        ] {
            if p == Protocol::GenerateContent && body.contains("model") && body != "{\"model\":" {
                continue; // Gemini reads the model from the path, not the body.
            }
            let r = h.post(&path, body).await;
            assert_eq!(r.status, 400, "{p:?} {body:?}: {}", r.body);
            let v = r.json();
            match p {
                Protocol::Messages => assert_eq!(v["error"]["type"], "invalid_request_error"),
                Protocol::GenerateContent => assert_eq!(v["error"]["status"], "INVALID_ARGUMENT"),
                _ => assert_eq!(v["error"]["type"], "invalid_request_error"),
            }
        }
    }
    assert_eq!(h.mock.request_count(), 0);
    assert_eq!(
        h.call(Protocol::ChatCompletions, "m", false).await.status,
        200
    );
}

#[tokio::test]
async fn oversized_bodies_are_413_without_reading_them() {
    let h = Harness::start(YAML).await;
    let big = format!(r#"{{"model":"m","pad":"{}"}}"#, "x".repeat(2000));
    let r = h.post("/v1/messages", &big).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"]["type"], "request_too_large");
    // Declared larger than the limit: refused before the body is sent.
    let head = "POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 100000000\r\n\r\n";
    let out = raw(h.addr, head.as_bytes()).await;
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    // Chunked, no length: refused once the limit is passed.
    let mut chunked = String::from(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
    );
    for _ in 0..3 {
        chunked.push_str(&format!("400\r\n{}\r\n", "y".repeat(1024)));
    }
    let out = raw(h.addr, chunked.as_bytes()).await;
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    assert_eq!(h.mock.request_count(), 0);
}

#[tokio::test]
async fn too_many_or_too_large_headers_are_431() {
    let h = Harness::start(YAML).await;
    let (path, body) = request(Protocol::GenerateContent, "m", false);
    let names: Vec<String> = (0..30).map(|i| format!("x-h{i}")).collect();
    let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    let r = h.send("POST", &path, &body, &headers).await;
    assert_eq!(r.status, 431);
    assert_eq!(r.json()["error"]["code"], 431);
    let big = "v".repeat(5000);
    let r = h
        .send(
            "POST",
            "/v1/chat/completions",
            "{}",
            &[("x-big", big.as_str())],
        )
        .await;
    assert_eq!(r.status, 431);
    // Far beyond the configured limits hyper itself refuses, still with 431.
    let mut head = String::from("POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\n");
    for i in 0..500 {
        head.push_str(&format!("x-n{i}: v\r\n"));
    }
    head.push_str("\r\n");
    let out = raw(h.addr, head.as_bytes()).await;
    assert!(out.starts_with("HTTP/1.1 431"), "{out}");
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let h = Harness::start(YAML).await;
    let mut s = TcpStream::connect(h.addr).await.unwrap();
    s.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the connection was not closed");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn in_flight_limit_answers_503_with_retry_after() {
    let h = Harness::start(YAML).await;
    let slow = || h.call(Protocol::ChatCompletions, "slow:s", false);
    let check = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        h.call(Protocol::Messages, "m", false).await
    };
    let (a, b, c) = tokio::join!(slow(), slow(), check);
    assert_eq!(a.status, 200);
    assert_eq!(b.status, 200);
    assert_eq!(c.status, 503, "{}", c.body);
    assert_eq!(c.header("retry-after"), Some("1"));
    assert_eq!(c.json()["error"]["type"], "overloaded_error");
    assert_eq!(h.server.in_flight(), 0, "slots are released");
}

#[tokio::test]
async fn wrong_method_and_unknown_paths() {
    let h = Harness::start(YAML).await;
    let r = h.send("GET", "/v1/messages", "", &[]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["type"], "error");
    let r = h.send("POST", "/v2/nothing", "{}", &[]).await;
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].is_object());
}

#[tokio::test]
async fn garbage_on_the_wire_never_takes_the_server_down() {
    let h = Harness::start(YAML).await;
    for junk in [
        &b"\x00\x01\x02\xff\xfe\r\n\r\n"[..],
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-length: -1\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"POST /v1beta/models/%ff%fe:generateContent HTTP/1.1\r\nhost: localhost\r\ncontent-length: 2\r\n\r\n{}",
    ] {
        let _ = raw(h.addr, junk).await;
    }
    assert_eq!(
        h.call(Protocol::ChatCompletions, "m", false).await.status,
        200
    );
}

#[tokio::test]
async fn http2_callers_are_served() {
    use http_body_util::{BodyExt, Full};
    let h = Harness::start(YAML).await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<bytes::Bytes>>();
    let (path, body) = request(Protocol::ChatCompletions, "m", true);
    let req = http::Request::post(format!("http://{}{path}", h.addr))
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let res = client.request(req).await.unwrap();
    assert_eq!(res.version(), http::Version::HTTP_2);
    assert_eq!(res.status(), 200);
    let text = res.into_body().collect().await.unwrap().to_bytes();
    assert!(text.ends_with(b"data: [DONE]\n\n"));
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let h = Harness::start(YAML).await;
    let mut s = TcpStream::connect(h.addr).await.unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "an idle keep-alive connection stayed open");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
