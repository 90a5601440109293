//! Spend budgets through the real server: a burst never overshoots, a settled request frees
//! what it did not spend, cancelled streams leak no reservation and charge what the ledger
//! records, the 429 in every caller's shape, and `server.auth.budgets` beside a token's claim.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth::{AccountKey, BudgetWindow, Claims, Scope};
use dataplane::usage::{Entry, UsageSink};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Harness, Protocol, now, request};

fn token(
    key: &AccountKey,
    name: &str,
    budget: Option<f64>,
    window: Option<BudgetWindow>,
) -> String {
    auth::mint(
        key,
        &Claims {
            iss: key.public().id(),
            jti: format!("jti-{name}"),
            iat: now(),
            exp: Some(now() + 3600),
            nbf: None,
            scope: Some(Scope::Api),
            name: Some(name.into()),
            models: None,
            budget,
            budget_window: window,
            rpm: None,
            tpm: None,
            concurrency: None,
        },
    )
}

/// One priced model per behaviour, every price 1 USD per million tokens (so a token costs one
/// micro-USD): `slow` answers after 400 ms, `drip` streams an event every 100 ms, `free` has
/// no price.
fn config(key: &AccountKey, extra: &str) -> String {
    format!(
        r#"inherit_defaults: false
server:
  skip_auth: false
  timeouts: {{ first_byte: 5s, idle: 5s }}
  auth: {{ trusted_keys: ["{}"] {extra} }}
providers:
  slow: {{ api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, headers: {{ x-mock-fault: "stall-first=400" }}, models: [{{id: slow, pricing: {{input: 1, output: 1}}}}] }}
  drip: {{ api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, headers: {{ x-mock-fault: "drip=100" }}, models: [{{id: drip, pricing: {{input: 1, output: 1}}}}] }}
  fast: {{ api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, models: [{{id: fast, pricing: {{input: 1, output: 1}}}}, {{id: free}}] }}
"#,
        key.public().encode()
    )
}

/// A Chat call with `max_tokens`, and its worst case in micro-USD at 1 USD per million:
/// a quarter of the body's bytes plus `max_tokens`.
fn chat(model: &str, max_tokens: u64, stream: bool) -> (String, u64) {
    let body = format!(
        r#"{{"model":"{model}","max_tokens":{max_tokens},"messages":[{{"role":"user","content":"Say hello."}}],"stream":{stream}}}"#
    );
    let worst = (body.len() as u64).div_ceil(4) + max_tokens;
    (body, worst)
}

/// The mock's Chat answer: 19 prompt tokens and 3 completion tokens.
const ANSWER_COST: u64 = 22;

#[derive(Debug, Default)]
struct Ledger(Mutex<Vec<(String, Option<f64>)>>);

impl UsageSink for Ledger {
    fn finished(&self, e: &Entry<'_>) {
        self.0
            .lock()
            .unwrap()
            .push((e.outcome.to_owned(), e.cost_micro_usd));
    }
}

impl Ledger {
    fn cost(&self) -> f64 {
        self.0.lock().unwrap().iter().filter_map(|(_, c)| *c).sum()
    }
}

#[tokio::test]
async fn fifty_concurrent_requests_against_a_budget_for_ten_admit_ten() {
    let key = AccountKey::generate().unwrap();
    let h = Arc::new(Harness::start(&config(&key, "")).await);
    let (body, worst) = chat("slow", 1000, false);
    // Exactly ten worst cases.
    let t = token(
        &key,
        "burst",
        Some(10.0 * worst as f64 / 1e6),
        Some(BudgetWindow::Day),
    );
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (h, body, t) = (Arc::clone(&h), body.clone(), t.clone());
        tasks.spawn(async move { h.chat_as(&body, &t).await });
    }
    let (mut ok, mut refused) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        let r = r.unwrap();
        match r.status.as_u16() {
            200 => ok += 1,
            429 => {
                refused += 1;
                assert!(r.body.contains("budget"), "{}", r.body);
                let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
                assert!((1..=86_400).contains(&wait), "{wait}");
            }
            s => panic!("{s}: {}", r.body),
        }
    }
    assert_eq!((ok, refused), (10, 40));
    // All ten were in flight together (the upstream holds each 400 ms).
    assert_eq!(h.mock.request_count(), 10);
    h.settled().await;
    let c = h.server.spend_counters("burst", BudgetWindow::Day).unwrap();
    // Each settled at its actual cost, well below its reservation.
    assert_eq!((c.spent, c.reserved), (10 * ANSWER_COST, 0));
    assert!(ANSWER_COST < worst);
    // What they did not spend is free again: nine more worst cases fit.
    for _ in 0..9 {
        let r = h.chat_as(&chat("fast", 1000, false).0, &t).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

#[tokio::test]
async fn a_settled_request_frees_what_it_did_not_spend() {
    let key = AccountKey::generate().unwrap();
    let h = Harness::start(&config(&key, "")).await;
    let (body, worst) = chat("fast", 500, false);
    // Room for one worst case and a bit, not two.
    let t = token(
        &key,
        "one",
        Some((worst + ANSWER_COST) as f64 / 1e6),
        Some(BudgetWindow::Month),
    );
    assert_eq!(h.chat_as(&body, &t).await.status, 200);
    h.settled().await;
    let c = h.server.spend_counters("one", BudgetWindow::Month).unwrap();
    assert_eq!((c.spent, c.reserved), (ANSWER_COST, 0));
    // The second fits because the first freed its reservation; the third does not fit.
    assert_eq!(h.chat_as(&body, &t).await.status, 200);
    let r = h.chat_as(&body, &t).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("per month"), "{}", r.body);
    // A route with no price cannot be costed: admitted, and never charged.
    assert_eq!(h.chat_as(&chat("free", 500, false).0, &t).await.status, 200);
    h.settled().await;
    let c = h.server.spend_counters("one", BudgetWindow::Month).unwrap();
    assert_eq!((c.spent, c.reserved), (2 * ANSWER_COST, 0));
}

#[tokio::test]
async fn cancelled_streams_leak_no_reservation_and_charge_what_the_ledger_records() {
    let key = AccountKey::generate().unwrap();
    let h = Arc::new(Harness::start(&config(&key, "")).await);
    let ledger = Arc::new(Ledger::default());
    assert!(
        h.server
            .set_usage_sink(Arc::clone(&ledger) as Arc<dyn UsageSink>)
    );
    let t = token(&key, "cancel", Some(1000.0), Some(BudgetWindow::Total));
    let (body, _) = chat("drip", 1000, true);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let (addr, body, t) = (h.addr, body.clone(), t.clone());
        tasks.spawn(async move {
            // Spread the starts a little so the mock is not hit by 100 connects at once.
            tokio::time::sleep(Duration::from_millis(i % 10 * 5)).await;
            let mut s = TcpStream::connect(addr).await.unwrap();
            let req = format!(
                "POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nauthorization: Bearer {t}\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            s.write_all(req.as_bytes()).await.unwrap();
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            assert!(
                String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
                "{}",
                String::from_utf8_lossy(&buf[..n])
            );
            // Mid-stream: the client leaves.
            drop(s);
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    h.settled().await;
    let c = h
        .server
        .spend_counters("cancel", BudgetWindow::Total)
        .unwrap();
    assert_eq!(c.reserved, 0);
    let rows = ledger.0.lock().unwrap().clone();
    assert_eq!(rows.len(), 100);
    assert!(rows.iter().all(|(o, _)| o == "cancelled"), "{rows:?}");
    assert_eq!(c.spent as f64, ledger.cost().ceil());
    // And a finished stream charges exactly what its row says.
    let r = h.chat_as(&chat("fast", 1000, true).0, &t).await;
    assert_eq!(r.status, 200, "{}", r.body);
    h.settled().await;
    let c = h
        .server
        .spend_counters("cancel", BudgetWindow::Total)
        .unwrap();
    assert_eq!(c.reserved, 0);
    assert_eq!(c.spent as f64, ledger.cost().ceil());
    assert!(c.spent >= ANSWER_COST);
}

#[tokio::test]
async fn over_budget_is_a_429_in_every_callers_shape() {
    let key = AccountKey::generate().unwrap();
    let h = Harness::start(&config(&key, "")).await;
    let day = token(&key, "broke", Some(0.0), Some(BudgetWindow::Day));
    let total = token(&key, "spent", Some(0.0), None);
    for p in Protocol::ALL {
        let (path, body) = request(p, "fast", false);
        let bearer = format!("Bearer {day}");
        let header = match p {
            Protocol::ChatCompletions | Protocol::Responses => ("authorization", bearer.as_str()),
            Protocol::Messages => ("x-api-key", day.as_str()),
            Protocol::GenerateContent => ("x-goog-api-key", day.as_str()),
        };
        let r = h.send("POST", &path, &body, &[header]).await;
        assert_eq!(r.status, 429, "{p:?}: {}", r.body);
        let v = r.json();
        let message = match p {
            Protocol::ChatCompletions | Protocol::Responses => {
                // OpenAI's own spelling of a spent quota.
                assert_eq!(v["error"]["type"], "insufficient_quota", "{p:?}: {v}");
                assert_eq!(v["error"]["code"], "insufficient_quota", "{p:?}: {v}");
                &v["error"]["message"]
            }
            Protocol::Messages => {
                assert_eq!(v["type"], "error", "{v}");
                assert_eq!(v["error"]["type"], "rate_limit_error", "{v}");
                &v["error"]["message"]
            }
            Protocol::GenerateContent => {
                assert_eq!(v["error"]["code"], 429, "{v}");
                assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED", "{v}");
                &v["error"]["message"]
            }
        };
        // The OpenAI and Anthropic SDKs read this before the status: no retries.
        assert_eq!(r.header("x-should-retry"), Some("false"), "{p:?}");
        let message = message.as_str().unwrap();
        assert!(message.contains("key `broke`"), "{message}");
        assert!(message.contains("window day"), "{message}");
        assert!(message.contains("resets at"), "{message}");
        // Retry-After: the seconds to the next UTC midnight.
        let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
        let midnight = (now() / 86_400 + 1) * 86_400;
        assert!(wait.abs_diff(midnight - now()) <= 2, "{wait}");
    }
    assert_eq!(h.mock.request_count(), 0);
    // A `total` budget never resets: no Retry-After.
    let r = h.chat_as(&chat("fast", 10, false).0, &total).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_none());
    assert!(r.body.contains("does not reset"), "{}", r.body);
}

#[tokio::test]
async fn a_configured_budget_holds_beside_the_tokens_own() {
    let key = AccountKey::generate().unwrap();
    let (body, worst) = chat("fast", 100, false);
    // `ci`: room for two worst cases a day in the file, ten in total in its claim; `plain`:
    // one micro-USD short of one.
    let extra = format!(
        ", budgets: {{ ci: {{ usd: {}, window: day }}, plain: {{ usd: {}, window: month }} }}",
        2.0 * worst as f64 / 1e6,
        (worst - 1) as f64 / 1e6
    );
    let h = Harness::start(&config(&key, &extra)).await;
    let ci = token(&key, "ci", Some(10.0 * worst as f64 / 1e6), None);
    // Two requests in flight at once hold both budgets; the third is refused by the file's.
    let slow = chat("slow", 100, false).0;
    let (a, b, c) = tokio::join!(h.chat_as(&slow, &ci), h.chat_as(&slow, &ci), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        h.chat_as(&slow, &ci).await
    });
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (200, 200));
    assert_eq!(c.status, 429, "{}", c.body);
    assert!(c.body.contains("`server.auth.budgets.ci`"), "{}", c.body);
    h.settled().await;
    for w in [BudgetWindow::Day, BudgetWindow::Total] {
        let c = h.server.spend_counters("ci", w).unwrap();
        assert_eq!((c.spent, c.reserved), (2 * ANSWER_COST, 0), "{w:?}");
    }
    // A key with no claim is held to its configured budget alone.
    let plain = token(&key, "plain", None, None);
    assert_eq!(h.chat_as(&body, &plain).await.status, 429);
    let c = h
        .server
        .spend_counters("plain", BudgetWindow::Month)
        .unwrap();
    assert_eq!((c.spent, c.reserved), (0, 0));
    // And a key with neither is not counted at all.
    let free = token(&key, "free", None, None);
    assert_eq!(h.chat_as(&body, &free).await.status, 200);
    assert!(
        h.server
            .spend_counters("free", BudgetWindow::Total)
            .is_none()
    );
}
