//! Every `x-mock-fault` directive, on streams and on plain responses.

use std::time::{Duration, Instant};

use serde_json::json;
use testkit::MockUpstream;

use crate::client::{Client, call};

const CHAT: &str = "/v1/chat/completions";
const STREAM: &str = r#"{"model":"gpt-4.1","stream":true}"#;
const PLAIN: &str = r#"{"model":"gpt-4.1"}"#;

fn fault(value: &str) -> [(&str, &str); 1] {
    [("x-mock-fault", value)]
}

#[tokio::test]
async fn status_with_retry_after() {
    let mock = MockUpstream::start().await.unwrap();
    let r = call(
        mock.addr(),
        CHAT,
        &fault("status=429;retry-after=7"),
        STREAM,
    )
    .await
    .unwrap();
    assert_eq!(r.head.status, 429);
    assert_eq!(r.head.header("retry-after"), Some("7"));
    assert_eq!(r.json()["error"]["code"], "rate_limit_exceeded");
    let r = call(mock.addr(), CHAT, &fault("status=503"), PLAIN)
        .await
        .unwrap();
    assert_eq!((r.head.status, r.head.header("retry-after")), (503, None));
}

#[tokio::test]
async fn drop_closes_without_a_response() {
    let mock = MockUpstream::start().await.unwrap();
    let mut c = Client::connect(mock.addr()).await;
    c.send("POST", CHAT, &fault("drop"), PLAIN).await;
    assert!(c.head().await.is_none());
    assert_eq!(mock.request_count(), 1, "the request was read and recorded");

    let mut c = Client::connect(mock.addr()).await;
    c.send("POST", CHAT, &fault("drop;rst"), PLAIN).await;
    assert_eq!(
        c.read_error_kind().await,
        Some(std::io::ErrorKind::ConnectionReset)
    );
}

#[tokio::test]
async fn cut_after_n_events_closes_without_terminator() {
    let mock = MockUpstream::start().await.unwrap();
    for n in [0, 1, 2, 4] {
        let mut c = Client::connect(mock.addr()).await;
        let r = c
            .call(CHAT, &fault(&format!("cut-after={n}")), STREAM)
            .await
            .unwrap();
        assert_eq!(r.head.status, 200);
        assert_eq!(r.chunks.len(), n);
        assert!(!r.complete, "no zero-length chunk");
        assert!(!r.text().contains("[DONE]"));
        assert!(c.closed().await);
    }
    // A plain response is cut after N body bytes.
    let r = call(mock.addr(), CHAT, &fault("cut-after=10"), PLAIN)
        .await
        .unwrap();
    assert_eq!(r.body.len(), 10);
    assert!(!r.complete);
    // RST instead of FIN.
    let mut c = Client::connect(mock.addr()).await;
    c.send("POST", CHAT, &fault("cut-after=1;rst"), STREAM)
        .await;
    assert!(c.head().await.is_some());
    let _ = c.chunk().await;
    assert_eq!(
        c.read_error_kind().await,
        Some(std::io::ErrorKind::ConnectionReset)
    );
}

#[tokio::test]
async fn stall_first_delays_the_head() {
    let mock = MockUpstream::start().await.unwrap();
    let t = Instant::now();
    let r = call(mock.addr(), CHAT, &fault("stall-first=150"), PLAIN)
        .await
        .unwrap();
    assert!(t.elapsed() >= Duration::from_millis(150));
    assert_eq!(r.head.status, 200);
    assert_eq!(r.json()["choices"][0]["message"]["content"], "Hello!");
}

#[tokio::test]
async fn stall_mid_waits_after_the_first_content_event() {
    let mock = MockUpstream::start().await.unwrap();
    let mut c = Client::connect(mock.addr()).await;
    c.send("POST", CHAT, &fault("stall-mid=150"), STREAM).await;
    c.head().await.unwrap();
    let (role, _) = c.timed_chunk().await.unwrap();
    assert!(
        String::from_utf8(role)
            .unwrap()
            .contains(r#""role":"assistant""#)
    );
    let (hel, t_hel) = c.timed_chunk().await.unwrap();
    assert!(
        String::from_utf8(hel)
            .unwrap()
            .contains(r#""content":"Hel""#)
    );
    let (lo, t_lo) = c.timed_chunk().await.unwrap();
    assert!(
        String::from_utf8(lo)
            .unwrap()
            .contains(r#""content":"lo!""#)
    );
    assert!(
        t_lo - t_hel >= Duration::from_millis(140),
        "{:?}",
        t_lo - t_hel
    );
    while let Some(chunk) = c.chunk().await {
        if chunk.is_empty() {
            break;
        }
    }
    // Keep-alive survives a fault that completes.
    let r = c.call(CHAT, &[], PLAIN).await.unwrap();
    assert_eq!(r.head.status, 200);
}

#[tokio::test]
async fn drip_waits_between_events() {
    let mock = MockUpstream::start().await.unwrap();
    let t = Instant::now();
    let r = call(mock.addr(), "/v1/messages", &fault("drip=30"), STREAM)
        .await
        .unwrap();
    let n = r.chunks.len() as u32;
    assert_eq!(n, 8);
    assert!(r.complete);
    assert!(
        t.elapsed() >= Duration::from_millis(30) * (n - 1),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn malformed_json() {
    let mock = MockUpstream::start().await.unwrap();
    let r = call(mock.addr(), CHAT, &fault("malformed"), PLAIN)
        .await
        .unwrap();
    assert_eq!(r.head.status, 200);
    assert_eq!(r.text(), "{not json");
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());

    let r = call(mock.addr(), CHAT, &fault("malformed"), STREAM)
        .await
        .unwrap();
    let chunks = r.chunk_texts();
    assert_eq!(chunks[0], "data: {not json\n\n");
    assert!(
        chunks[1].contains(r#""role":"assistant""#),
        "then the normal stream"
    );
    let r = call(mock.addr(), "/v1/messages", &fault("malformed"), STREAM)
        .await
        .unwrap();
    assert_eq!(
        r.chunk_texts()[0],
        "event: message_start\ndata: {not json\n\n"
    );
}

#[tokio::test]
async fn stream_error_on_a_plain_request_is_a_500() {
    let mock = MockUpstream::start().await.unwrap();
    let r = call(mock.addr(), "/v1/messages", &fault("stream-error"), PLAIN)
        .await
        .unwrap();
    assert_eq!(r.head.status, 500);
    assert_eq!(r.json()["error"]["type"], "api_error");
}

#[tokio::test]
async fn times_counts_per_header_value() {
    let mock = MockUpstream::start().await.unwrap();
    let statuses = |v: &'static str, n: usize| {
        let addr = mock.addr();
        async move {
            let mut out = Vec::new();
            for _ in 0..n {
                out.push(
                    call(addr, CHAT, &fault(v), PLAIN)
                        .await
                        .unwrap()
                        .head
                        .status,
                );
            }
            out
        }
    };
    assert_eq!(statuses("status=503;times=2", 3).await, [503, 503, 200]);
    // Another value has its own counter.
    assert_eq!(statuses("times=1;status=500", 2).await, [500, 200]);
    assert_eq!(statuses("status=503;times=2", 1).await, [200]);
    // Without `times`, always.
    assert_eq!(statuses("status=502", 3).await, [502, 502, 502]);
    // Reset starts the counters again.
    mock.reset();
    assert_eq!(statuses("status=503;times=2", 3).await, [503, 503, 200]);
    let mut c = Client::connect(mock.addr()).await;
    c.send("POST", "/_mock/reset", &[], "").await;
    assert_eq!(c.response().await.unwrap().head.status, 200);
    assert_eq!(statuses("status=503;times=2", 1).await, [503]);
}

#[tokio::test]
async fn unknown_directive_is_a_loud_400() {
    let mock = MockUpstream::start().await.unwrap();
    let r = call(
        mock.addr(),
        "/v1/messages",
        &fault("status=500;stal-first=10"),
        PLAIN,
    )
    .await
    .unwrap();
    assert_eq!(r.head.status, 400);
    let v = r.json();
    assert_eq!(v["type"], "error", "the protocol's own envelope");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stal-first"),
        "{v}"
    );
}

#[tokio::test]
async fn faults_combine() {
    let mock = MockUpstream::start().await.unwrap();
    // Stall, then a status.
    let t = Instant::now();
    let r = call(
        mock.addr(),
        CHAT,
        &fault("stall-first=50;status=502"),
        PLAIN,
    )
    .await
    .unwrap();
    assert!(t.elapsed() >= Duration::from_millis(50));
    assert_eq!(r.head.status, 502);
    // Drip and cut: three events, spaced.
    let t = Instant::now();
    let r = call(mock.addr(), CHAT, &fault("drip=20;cut-after=3"), STREAM)
        .await
        .unwrap();
    assert_eq!(r.chunks.len(), 3);
    assert!(t.elapsed() >= Duration::from_millis(40));
    // Gemini array mode can be cut too.
    let body = json!({}).to_string();
    let path = "/v1beta/models/g:streamGenerateContent";
    let r = call(mock.addr(), path, &fault("cut-after=1"), &body)
        .await
        .unwrap();
    assert_eq!(r.chunks.len(), 1);
    assert!(r.text().starts_with("[{") && !r.text().ends_with(']'));
}
