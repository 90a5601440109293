//! A token's `concurrency` and `tpm` through the real server, counted on this replica (no
//! `server.limits.store`): slots held while streams are open and given back when they end or
//! the caller leaves, the 429 in the caller's shape; tokens reserved as the worst case, settled
//! to what was used, and a request larger than the whole limit refused for good.

use std::sync::Arc;
use std::time::Duration;

use auth::{AccountKey, Claims, Scope};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Harness, Reply, now};

fn token(key: &AccountKey, jti: &str, tpm: Option<u32>, concurrency: Option<u32>) -> String {
    auth::mint(
        key,
        &Claims {
            iss: key.public().id(),
            jti: jti.into(),
            iat: now(),
            exp: Some(now() + 3600),
            nbf: None,
            scope: Some(Scope::Api),
            name: Some(jti.into()),
            models: None,
            budget: None,
            budget_window: None,
            rpm: None,
            tpm,
            concurrency,
        },
    )
}

/// `drip` streams an event every 150 ms (a stream of a second or more); `slow` answers whole
/// after 400 ms; `fast` at once.
fn config(key: &AccountKey) -> String {
    format!(
        r#"inherit_defaults: false
server:
  skip_auth: false
  timeouts: {{ first_byte: 5s, idle: 5s }}
  auth: {{ trusted_keys: ["{}"] }}
providers:
  drip: {{ api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, headers: {{ x-mock-fault: "drip=150" }}, models: [{{id: drip}}] }}
  slow: {{ api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, headers: {{ x-mock-fault: "stall-first=400" }}, models: [{{id: slow}}] }}
  fast: {{ api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, models: [{{id: fast}}] }}
"#,
        key.public().encode()
    )
}

fn chat(model: &str, max_tokens: u64, stream: bool) -> String {
    format!(
        r#"{{"model":"{model}","max_tokens":{max_tokens},"messages":[{{"role":"user","content":"Say hello."}}],"stream":{stream}}}"#
    )
}

/// What a request reserves under `tpm`: a quarter of its body's bytes plus `max_tokens`.
fn estimate(body: &str, max_tokens: u64) -> u64 {
    (body.len() as u64).div_ceil(4) + max_tokens
}

/// The mock's Chat answer: 19 prompt tokens and 3 completion tokens.
const ANSWER_TOKENS: u64 = 22;

async fn burst(h: &Arc<Harness>, n: usize, body: &str, token: &str) -> Vec<Reply> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (h, body, t) = (Arc::clone(h), body.to_owned(), token.to_owned());
        tasks.spawn(async move { h.chat_as(&body, &t).await });
    }
    let mut out = Vec::new();
    while let Some(r) = tasks.join_next().await {
        out.push(r.unwrap());
    }
    out
}

fn codes(replies: &[Reply]) -> Vec<u16> {
    let mut c: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    c.sort_unstable();
    c
}

/// A stream whose caller leaves after its head: the head's status line.
async fn cancelled(h: &Harness, body: &str, token: &str) -> String {
    let mut s = TcpStream::connect(h.addr).await.unwrap();
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nauthorization: Bearer {token}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("a head in time")
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    drop(s);
    head.lines().next().unwrap_or("").to_owned()
}

#[tokio::test]
async fn concurrency_3_admits_3_of_10_open_streams_and_frees_them_on_every_end() {
    let key = AccountKey::generate().unwrap();
    let h = Arc::new(Harness::start(&config(&key)).await);
    let t = token(&key, "three", None, Some(3));
    let body = chat("drip", 50, true);
    let replies = burst(&h, 10, &body, &t).await;
    assert_eq!(codes(&replies), [[200; 3].as_slice(), &[429; 7]].concat());
    for r in replies.iter().filter(|r| r.status == 429) {
        assert_eq!(r.header("retry-after"), Some("1"), "{}", r.body);
        let v = r.json();
        assert_eq!(v["error"]["type"], "rate_limit_error", "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("this API key already has 3 requests in flight"),
            "{v}"
        );
    }
    assert_eq!(h.mock.request_count(), 3, "the refused never went upstream");
    h.settled().await;
    // Finished: three again, and only three.
    let replies = burst(&h, 5, &body, &t).await;
    assert_eq!(codes(&replies), [200, 200, 200, 429, 429]);
    h.settled().await;
    // Ten streams the caller leaves mid-way, three at a time: each batch is admitted only if
    // the last one's slots were given back.
    for batch in [3, 3, 3, 1] {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..batch {
            let (h, body, t) = (Arc::clone(&h), body.clone(), t.clone());
            tasks.spawn(async move { cancelled(&h, &body, &t).await });
        }
        while let Some(head) = tasks.join_next().await {
            let head = head.unwrap();
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        }
        h.settled().await;
    }
    let replies = burst(&h, 5, &body, &t).await;
    assert_eq!(codes(&replies), [200, 200, 200, 429, 429]);
    // Another key is not held to this one's slots.
    let other = token(&key, "other", None, Some(1));
    assert_eq!(
        h.chat_as(&chat("fast", 50, false), &other).await.status,
        200
    );
}

#[tokio::test]
async fn tpm_admits_what_fits_settles_to_what_was_used_and_refuses_the_too_large() {
    let key = AccountKey::generate().unwrap();
    let h = Arc::new(Harness::start(&config(&key)).await);
    let body = chat("slow", 1000, false);
    let one = estimate(&body, 1000);
    // Room for three worst cases, not four.
    let tpm = 3 * one + one / 2;
    let t = token(&key, "tpm", Some(tpm as u32), None);
    let replies = burst(&h, 8, &body, &t).await;
    assert_eq!(codes(&replies), [[200; 3].as_slice(), &[429; 5]].concat());
    for r in replies.iter().filter(|r| r.status == 429) {
        let v = r.json();
        let m = v["error"]["message"].as_str().unwrap();
        assert!(
            m.contains(&format!("limit of {tpm} tokens per minute")),
            "{m}"
        );
        let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
    }
    h.settled().await;
    // Each settled at what it used (22 tokens), so three more worst cases fit, not four.
    assert!(3 * ANSWER_TOKENS + 3 * one <= tpm && 3 * ANSWER_TOKENS + 4 * one > tpm);
    let replies = burst(&h, 5, &body, &t).await;
    assert_eq!(codes(&replies), [200, 200, 200, 429, 429]);
    // Larger than the whole limit: never fits, so no Retry-After and no retries.
    let huge = chat("fast", tpm + 1, false);
    let r = h.chat_as(&huge, &t).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_none());
    assert_eq!(r.header("x-should-retry"), Some("false"));
    assert!(r.body.contains("lower `max_tokens`"), "{}", r.body);
}
