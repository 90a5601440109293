//! Budget reconciliation: a router started over a pre-filled SQLite ledger seeds its budget
//! counters with what each key spent in the current UTC day, month and in total, and refuses
//! a request the seeded spend leaves no room for.

use std::time::Duration;

use dataplane::spend::BudgetWindow;
use runtime::ledger::{self, Store};
use testkit::MockUpstream;

use crate::support;

fn config(mock: &str) -> String {
    format!(
        r#"inherit_defaults: false
server:
  auth:
    budgets:
      ci: {{ usd: 0.0016, window: total }}
providers:
  oa:
    api_base: "{mock}/v1"
    api_key: k
    api_protocol: chat_completions
    allow_private: true
    models: [{{ id: m, pricing: {{ input: 1.0, output: 1.0 }} }}]
"#
    )
}

fn token(home: &std::path::Path, name: &str) -> String {
    let keys = runtime::keys::Keys::at(home);
    if keys.list().map_or(true, |l| l.is_empty()) {
        keys.generate(Some("test")).unwrap();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let spec = runtime::keys::TokenSpec {
        scope: auth::Scope::Api,
        exp: now + 3600,
        models: None,
        budget: None,
        budget_window: None,
        rpm: None,
        tpm: None,
        concurrency: None,
        name: Some(name.into()),
    };
    keys.mint(&spec, 86_400 * 365, now).unwrap().token
}

/// Writes ledger rows straight into the database: (key, time in Unix ms, cost).
async fn prefill(url: &str, rows: &[(Option<&str>, i64, Option<f64>)]) {
    let store = Store::connect(url, true, Duration::from_secs(2))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    drop(store);
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    for (i, (key, time_ms, cost)) in rows.iter().enumerate() {
        sqlx::query(
            "INSERT INTO requests (id, time_ms, request_id, key_id, model, inbound, stream, \
             status, outcome, attempts, duration_ms, cost_micro_usd) \
             VALUES ($1, $2, $3, $4, 'm', 'chat_completions', 0, 200, 'completed', 1, 1.0, $5)",
        )
        .bind(format!("seed-{i}"))
        .bind(*time_ms)
        .bind(format!("r{i}"))
        .bind(key.map(str::to_owned))
        .bind(*cost)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
}

#[tokio::test]
async fn the_budgets_start_from_the_ledger() {
    let mock = MockUpstream::start().await.unwrap();
    let home = support::home("budget-seed", &config(&mock.base_url()), "");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let day = BudgetWindow::Day.start(now);
    let month = BudgetWindow::Month.start(now);
    let url = ledger::sqlite_url(&home.join("bitrouter.db"));
    prefill(
        &url,
        &[
            // Today.
            (Some("ci"), day * 1000 + 1000, Some(300.0)),
            (Some("ci"), day * 1000 + 2000, Some(0.4)),
            // The first of this month (today, on the 1st).
            (Some("ci"), month * 1000, Some(200.0)),
            // 1971: in the total only.
            (Some("ci"), 365 * 86_400_000, Some(1000.0)),
            // Unpriced, another key, no key.
            (Some("ci"), day * 1000 + 3000, None),
            (Some("other"), day * 1000, Some(7.0)),
            (None, day * 1000, Some(9.0)),
        ],
    )
    .await;
    let token = token(&home, "ci");
    let (daemon, addr) = support::start(&home).await;
    let server = daemon.server();
    let today = if month == day { 500.4 } else { 300.4 };
    let spent = |key: &str, w| server.spend_counters(key, w).map(|c| (c.spent, c.reserved));
    assert_eq!(
        spent("ci", BudgetWindow::Day),
        Some((f64::ceil(today) as u64, 0))
    );
    assert_eq!(spent("ci", BudgetWindow::Month), Some((501, 0)));
    assert_eq!(spent("ci", BudgetWindow::Total), Some((1501, 0)));
    assert_eq!(spent("other", BudgetWindow::Day), Some((7, 0)));
    // 1501 of 1600 micro-USD spent: a request whose worst case is over 99 is refused.
    let auth = format!("Bearer {token}");
    let body = r#"{"model":"oa:m","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}"#;
    let r = testkit::load::send_with(
        addr,
        "POST",
        "/v1/chat/completions",
        body,
        &[("authorization", auth.as_str())],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("server.auth.budgets.ci"), "{}", r.body);
    assert_eq!(mock.request_count(), 0);
    // A smaller one fits.
    let body = r#"{"model":"oa:m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
    let r = testkit::load::send_with(
        addr,
        "POST",
        "/v1/chat/completions",
        body,
        &[("authorization", auth.as_str())],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    daemon.stop();
}
