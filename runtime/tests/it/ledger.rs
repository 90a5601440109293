//! The usage ledger end to end, each test on a real SQLite file and on a real Postgres (a
//! fresh database per test on the server `scripts/test` starts; see
//! `runtime::ledger::testing`): a router started in-process with a minted key in front of
//! `testkit::MockUpstream`, known traffic (passthrough, translated, streamed, refused,
//! unpriced), each row checked column by column, `spend` against it; and the spool: rows
//! finished while the database is unreachable or locked are in the ledger exactly once after
//! it comes back or after a restart, and a segment replayed after its rows were committed adds
//! nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime::ledger::{self, By, Row, SpendFilter, Store};
use runtime::{Daemon, StartOptions};
use testkit::MockUpstream;

use crate::support;

fn config(mock: &str) -> String {
    format!(
        r#"inherit_defaults: false
providers:
  oa:
    api_base: "{mock}/v1"
    api_key: k
    api_protocol: chat_completions
    allow_private: true
    models: [{{ id: m, pricing: {{ input: 2.0, output: 8.0, cache_read: 0.5 }} }}]
  an:
    api_base: "{mock}"
    api_key: k
    api_protocol: messages
    allow_private: true
    models: [{{ id: c }}]
models:
  fast: {{ endpoints: [ {{ provider: oa, model_id: m }} ] }}
"#
    )
}

struct Router {
    daemon: Arc<Daemon>,
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(home: &Path, db: Option<&str>) -> Router {
    start_with(home, db, ledger::LedgerOptions::default().spool_cap).await
}

async fn start_with(home: &Path, db: Option<&str>, spool_cap: u64) -> Router {
    let mut o = support::options(home);
    o.db = db.map(str::to_owned);
    let (paths, problem) = runtime::home::resolve(&o);
    assert!(problem.is_none(), "{problem:?}");
    let start = StartOptions {
        listen: Some("127.0.0.1:0".into()),
        ledger: ledger::LedgerOptions {
            connect_timeout: Duration::from_secs(1),
            flush_timeout: Duration::from_secs(2),
            spool_cap,
            enabled: true,
        },
        ..StartOptions::default()
    };
    let running = match runtime::daemon::prepare(paths, start) {
        Ok(p) => p.bind().await.unwrap(),
        Err(e) => panic!("{e}"),
    };
    let addr = running.local_addr();
    let daemon = Arc::clone(running.daemon());
    let task = tokio::spawn(running.serve());
    Router { daemon, addr, task }
}

impl Router {
    async fn stop(self) {
        self.daemon.stop();
        self.task.await.unwrap().unwrap();
    }
}

fn token(home: &Path) -> String {
    let keys = runtime::keys::Keys::at(home);
    keys.generate(Some("test")).unwrap();
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
        name: Some("ci".into()),
    };
    keys.mint(&spec, 86_400 * 365, now).unwrap().token
}

async fn call(r: &Router, token: &str, path: &str, id: &str, body: &str) -> u16 {
    let auth = format!("Bearer {token}");
    let headers = [
        ("authorization", auth.as_str()),
        ("x-request-id", id),
        ("anthropic-version", "2023-06-01"),
    ];
    testkit::load::send_with(r.addr, "POST", path, body, &headers)
        .await
        .unwrap()
        .status
}

const CHAT: &str = r#"{"model":"fast","messages":[{"role":"user","content":"Say hello."}]}"#;

/// Every row, by request id, once `n` are there (panics after 10 s).
async fn rows(url: &str, n: usize) -> Vec<Row> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(store) = Store::connect(url, false, Duration::from_secs(1)).await {
            store.migrate().await.unwrap();
            let mut got = ledger::recent(&store, 1000, None).await.unwrap();
            if got.len() >= n || Instant::now() > deadline {
                got.sort_by(|a, b| a.request_id.cmp(&b.request_id));
                assert_eq!(got.len(), n, "{got:#?}");
                return got;
            }
        } else if Instant::now() > deadline {
            panic!("no ledger at {url}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn db_url(home: &Path) -> String {
    ledger::sqlite_url(&home.join("bitrouter.db"))
}

/// The database a test's ledger lives in.
#[derive(Clone, Copy, Debug)]
enum Backend {
    /// The default: `<home>/bitrouter.db`.
    Sqlite,
    /// A fresh database on the test Postgres, named with `--db`.
    Postgres,
}

/// A test's ledger database.
struct Db {
    url: String,
    /// What `--db` says (`None`: the home's default SQLite file).
    flag: Option<String>,
    backend: Backend,
}

impl Db {
    /// `None`: no test Postgres here (the test skips; `testing::postgres` said why).
    async fn new(backend: Backend, home: &Path, name: &str) -> Option<Db> {
        Some(match backend {
            Backend::Sqlite => Db {
                url: db_url(home),
                flag: None,
                backend,
            },
            Backend::Postgres => {
                let url = ledger::testing::postgres(&format!("rt_{name}")).await?;
                Db {
                    flag: Some(url.clone()),
                    url,
                    backend,
                }
            }
        })
    }

    fn flag(&self) -> Option<&str> {
        self.flag.as_deref()
    }
}

/// A test run once on SQLite and once on Postgres: `mod name { sqlite, postgres }`.
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(super::Backend::Sqlite).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(super::Backend::Postgres).await;
            }
        }
    };
}

on_both!(every_finished_request_is_one_exact_row_and_spend_sums_them);
async fn every_finished_request_is_one_exact_row_and_spend_sums_them(b: Backend) {
    let mock = MockUpstream::start().await.unwrap();
    let home = support::home(&format!("ledger-rows-{b:?}"), &config(&mock.base_url()), "");
    let Some(db) = Db::new(b, &home, "rows").await else {
        return;
    };
    let token = token(&home);
    let r = start(&home, db.flag()).await;
    let chat = "/v1/chat/completions";
    assert_eq!(call(&r, &token, chat, "a-pass", CHAT).await, 200);
    let messages =
        r#"{"model":"fast","max_tokens":64,"messages":[{"role":"user","content":"Say hello."}]}"#;
    assert_eq!(
        call(&r, &token, "/v1/messages", "b-trans", messages).await,
        200
    );
    let stream =
        r#"{"model":"fast","stream":true,"messages":[{"role":"user","content":"Say hello."}]}"#;
    assert_eq!(call(&r, &token, chat, "c-stream", stream).await, 200);
    let unknown = r#"{"model":"nope","messages":[{"role":"user","content":"x"}]}"#;
    assert_eq!(call(&r, &token, chat, "d-refused", unknown).await, 404);
    let unpriced = r#"{"model":"an:c","messages":[{"role":"user","content":"Say hello."}]}"#;
    assert_eq!(call(&r, &token, chat, "e-unpriced", unpriced).await, 200);

    let url = db.url.clone();
    let got = rows(&url, 5).await;
    let show = |r: &Row| {
        format!(
            "{} key={:?} model={} route={:?} provider={:?} upstream={:?} {}->{:?} stream={} \
             status={} {} attempts={} ttfb={} tokens={:?}/{:?}/{:?}/{:?}/{:?} cost={:?}",
            r.request_id,
            r.key_id,
            r.model,
            r.route,
            r.provider,
            r.upstream_model,
            r.inbound,
            r.outbound,
            r.stream,
            r.status,
            r.outcome,
            r.attempts,
            r.ttfb_ms.is_some(),
            r.input_tokens,
            r.output_tokens,
            r.cache_read_tokens,
            r.cache_write_tokens,
            r.reasoning_tokens,
            r.cost_micro_usd,
        )
    };
    let text: Vec<String> = got.iter().map(show).collect();
    let row = |id: &str, inbound: &str, out: &str, stream: bool, tokens: &str, cost: &str| {
        format!(
            r#"{id} key=Some("ci") model=fast route=Some("fast") provider=Some("oa") upstream=Some("m") {inbound}->Some("{out}") stream={stream} status=200 completed attempts=1 ttfb=true tokens={tokens} cost={cost}"#
        )
    };
    // 19 in at $2/M, 3 out at $8/M: 62 micro-USD.
    let priced = "Some(19)/Some(3)/Some(0)/Some(0)/Some(0)";
    let expected = [
        row("a-pass", "chat_completions", "chat_completions", false, priced, "Some(62.0)"),
        row("b-trans", "messages", "chat_completions", false, priced, "Some(62.0)"),
        row("c-stream", "chat_completions", "chat_completions", true, priced, "Some(62.0)"),
        "d-refused key=Some(\"ci\") model=nope route=None provider=None upstream=None chat_completions->None stream=false status=404 refused attempts=0 ttfb=true tokens=None/None/None/None/None cost=None".to_owned(),
        "e-unpriced key=Some(\"ci\") model=an:c route=Some(\"c\") provider=Some(\"an\") upstream=Some(\"c\") chat_completions->Some(\"messages\") stream=false status=200 completed attempts=1 ttfb=true tokens=Some(12)/Some(5)/Some(0)/Some(0)/Some(0) cost=None".to_owned(),
    ];
    assert_eq!(text, expected);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for r in &got {
        assert!((now - r.time_ms).abs() < 60_000, "{r:?}");
        assert!(r.duration_ms >= 0.0);
    }
    let store = Store::connect(&url, false, Duration::from_secs(1))
        .await
        .unwrap();
    let report = ledger::spend(
        &store,
        &SpendFilter {
            since_ms: now - 3_600_000,
            until_ms: now + 60_000,
            by: By::Model,
            key: Some("ci".into()),
        },
    )
    .await
    .unwrap();
    let line = |group: &str, requests, errors, input, output, cost, unpriced| ledger::SpendLine {
        group: group.to_owned(),
        requests,
        errors,
        input_tokens: input,
        output_tokens: output,
        cost_micro_usd: cost,
        unpriced,
        ..ledger::SpendLine::default()
    };
    assert_eq!(
        report.lines,
        [
            line("fast", 3, 0, 57, 9, 186.0, 0),
            line("an:c", 1, 0, 12, 5, 0.0, 1),
            line("nope", 1, 1, 0, 0, 0.0, 0),
        ]
    );
    assert_eq!(report.total, line("total", 5, 1, 69, 14, 186.0, 1));
    let other = ledger::spend(
        &store,
        &SpendFilter {
            since_ms: now - 3_600_000,
            until_ms: now + 60_000,
            by: By::Provider,
            key: Some("someone-else".into()),
        },
    )
    .await
    .unwrap();
    assert!(other.lines.is_empty(), "{other:?}");
    r.stop().await;
}

/// The spool's segment files.
fn segments(home: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(home.join("run/ledger"))
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default()
}

fn spooled_lines(home: &Path) -> usize {
    segments(home)
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap().lines().count())
        .sum()
}

on_both!(rows_finished_while_the_database_is_unreachable_are_in_it_after_a_restart);
async fn rows_finished_while_the_database_is_unreachable_are_in_it_after_a_restart(b: Backend) {
    let mock = MockUpstream::start().await.unwrap();
    let home = support::home(&format!("ledger-down-{b:?}"), &config(&mock.base_url()), "");
    let Some(db) = Db::new(b, &home, "down").await else {
        return;
    };
    let token = token(&home);
    // Nothing listens on port 1: every connect is refused.
    let r = start(
        &home,
        Some("postgres://bitrouter:secret@127.0.0.1:1/ledger"),
    )
    .await;
    for id in ["a", "b", "c"] {
        assert_eq!(
            call(&r, &token, "/v1/chat/completions", id, CHAT).await,
            200
        );
    }
    r.stop().await;
    assert_eq!(spooled_lines(&home), 3, "{:?}", segments(&home));
    assert!(!home.join("bitrouter.db").exists());

    let r = start(&home, db.flag()).await;
    let got = rows(&db.url, 3).await;
    let ids: Vec<&str> = got.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    r.stop().await;
    assert_eq!(spooled_lines(&home), 0, "{:?}", segments(&home));
}

on_both!(rows_wait_out_a_locked_database_and_a_replayed_segment_adds_nothing);
async fn rows_wait_out_a_locked_database_and_a_replayed_segment_adds_nothing(b: Backend) {
    use sqlx::Connection as _;
    let mock = MockUpstream::start().await.unwrap();
    let home = support::home(
        &format!("ledger-locked-{b:?}"),
        &config(&mock.base_url()),
        "",
    );
    let Some(db) = Db::new(b, &home, "locked").await else {
        return;
    };
    let token = token(&home);
    let url = db.url.clone();
    let r = start(&home, db.flag()).await;
    let chat = "/v1/chat/completions";
    assert_eq!(call(&r, &token, chat, "a", CHAT).await, 200);
    rows(&url, 1).await;

    sqlx::any::install_default_drivers();
    let mut lock = sqlx::AnyConnection::connect(&url).await.unwrap();
    let begin: &[&str] = match db.backend {
        Backend::Sqlite => &["BEGIN EXCLUSIVE"],
        Backend::Postgres => &["BEGIN", "LOCK TABLE requests IN ACCESS EXCLUSIVE MODE"],
    };
    for sql in begin {
        sqlx::query(sql).execute(&mut lock).await.unwrap();
    }
    for id in ["b", "c"] {
        assert_eq!(call(&r, &token, chat, id, CHAT).await, 200);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(spooled_lines(&home), 2);
    sqlx::query("COMMIT").execute(&mut lock).await.unwrap();
    let got = rows(&url, 3).await;
    r.stop().await;

    // A crash between a commit and the segment's deletion: the same rows again, and a line
    // the process never finished writing.
    let mut replay = String::new();
    for row in &got {
        replay.push_str(&serde_json::to_string(row).unwrap());
        replay.push('\n');
    }
    replay.push_str(r#"{"id":"torn"#);
    std::fs::write(home.join("run/ledger/spool-0000000000.jsonl"), replay).unwrap();
    let r = start(&home, db.flag()).await;
    assert_eq!(call(&r, &token, chat, "d", CHAT).await, 200);
    let again = rows(&url, 4).await;
    assert_eq!(&again[..3], &got[..]);
    r.stop().await;
    assert_eq!(spooled_lines(&home), 0, "{:?}", segments(&home));
}

/// A row as a router would have spooled it.
fn spooled(
    id: &str,
    time_ms: i64,
    key: Option<&str>,
    outcome: &str,
    tokens: Option<(i64, i64)>,
    cost: Option<f64>,
) -> Row {
    Row {
        id: id.to_owned(),
        time_ms,
        request_id: format!("req-{id}"),
        key_id: key.map(str::to_owned),
        model: "fast".to_owned(),
        route: Some("fast".to_owned()),
        provider: Some("oa".to_owned()),
        upstream_model: Some("m".to_owned()),
        inbound: "messages".to_owned(),
        outbound: Some("chat_completions".to_owned()),
        stream: id.ends_with('s'),
        status: if outcome == "failed" { 502 } else { 200 },
        outcome: outcome.to_owned(),
        attempts: 1,
        duration_ms: 12.5,
        ttfb_ms: tokens.map(|_| 3.25),
        input_tokens: tokens.map(|t| t.0),
        output_tokens: tokens.map(|t| t.1),
        cache_read_tokens: tokens.map(|_| 0),
        cache_write_tokens: tokens.map(|_| 0),
        reasoning_tokens: tokens.map(|_| 0),
        cost_micro_usd: cost,
    }
}

on_both!(spend_groups_by_key_day_and_hour_and_requests_reads_every_column_back);
async fn spend_groups_by_key_day_and_hour_and_requests_reads_every_column_back(b: Backend) {
    let mock = MockUpstream::start().await.unwrap();
    let home = support::home(
        &format!("ledger-query-{b:?}"),
        &config(&mock.base_url()),
        "",
    );
    let Some(db) = Db::new(b, &home, "query").await else {
        return;
    };
    // 2023-11-14 00:00 UTC; rows reach the database through a spool left by "an earlier run".
    let day = 1_699_920_000_000;
    let min = 60_000;
    let written = [
        spooled(
            "r1",
            day + 30 * min,
            Some("a"),
            "completed",
            Some((100, 10)),
            Some(10.0),
        ),
        spooled("r2s", day + 70 * min, Some("a"), "failed", None, None),
        spooled(
            "r3",
            day + 80 * min,
            Some("b"),
            "completed",
            Some((50, 5)),
            None,
        ),
        spooled(
            "r4s",
            day + 1440 * min + 300 * min,
            None,
            "completed",
            Some((1, 1)),
            Some(2.5),
        ),
    ];
    let mut spool = String::new();
    for r in &written {
        spool.push_str(&serde_json::to_string(r).unwrap());
        spool.push('\n');
    }
    std::fs::create_dir_all(home.join("run/ledger")).unwrap();
    std::fs::write(home.join("run/ledger/spool-0000000000.jsonl"), spool).unwrap();
    let r = start(&home, db.flag()).await;
    rows(&db.url, 4).await;
    r.stop().await;

    let store = Store::connect(&db.url, false, Duration::from_secs(1))
        .await
        .unwrap();
    let recent = ledger::recent(&store, 10, None).await.unwrap();
    assert_eq!(recent, written);
    let last = ledger::recent(&store, 2, None).await.unwrap();
    assert_eq!(last, written[2..]);
    let after = ledger::recent(&store, 10, Some((written[1].time_ms, "r2s")))
        .await
        .unwrap();
    assert_eq!(after, written[2..]);

    let spend = |by, until_ms, key: Option<&str>| {
        let store = store.clone();
        let f = SpendFilter {
            since_ms: day,
            until_ms,
            by,
            key: key.map(str::to_owned),
        };
        async move { ledger::spend(&store, &f).await.unwrap() }
    };
    type Sums = (&'static str, i64, i64, i64, i64, f64, i64);
    let sums = |report: ledger::SpendReport| -> Vec<(String, i64, i64, i64, i64, f64, i64)> {
        report
            .lines
            .iter()
            .chain([&report.total])
            .map(|l| {
                (
                    l.group.clone(),
                    l.requests,
                    l.errors,
                    l.input_tokens,
                    l.output_tokens,
                    l.cost_micro_usd,
                    l.unpriced,
                )
            })
            .collect()
    };
    let owned = |want: &[Sums]| -> Vec<(String, i64, i64, i64, i64, f64, i64)> {
        want.iter()
            .map(|w| (w.0.to_owned(), w.1, w.2, w.3, w.4, w.5, w.6))
            .collect()
    };
    let end = day + 2 * 1440 * min;
    assert_eq!(
        sums(spend(By::Day, end, None).await),
        owned(&[
            ("2023-11-14", 3, 1, 150, 15, 10.0, 1),
            ("2023-11-15", 1, 0, 1, 1, 2.5, 0),
            ("total", 4, 1, 151, 16, 12.5, 1),
        ])
    );
    assert_eq!(
        sums(spend(By::Hour, end, None).await),
        owned(&[
            ("2023-11-14 00:00", 1, 0, 100, 10, 10.0, 0),
            ("2023-11-14 01:00", 2, 1, 50, 5, 0.0, 1),
            ("2023-11-15 05:00", 1, 0, 1, 1, 2.5, 0),
            ("total", 4, 1, 151, 16, 12.5, 1),
        ])
    );
    assert_eq!(
        sums(spend(By::Key, end, None).await),
        owned(&[
            ("a", 2, 1, 100, 10, 10.0, 0),
            ("-", 1, 0, 1, 1, 2.5, 0),
            ("b", 1, 0, 50, 5, 0.0, 1),
            ("total", 4, 1, 151, 16, 12.5, 1),
        ])
    );
    // The window's end is exclusive, and --key narrows.
    assert_eq!(
        sums(spend(By::Provider, day + 1440 * min, Some("a")).await),
        owned(&[
            ("oa", 2, 1, 100, 10, 10.0, 0),
            ("total", 2, 1, 100, 10, 10.0, 0)
        ])
    );
}

/// A failing endpoint in front of a working one, and two upstreams that drip their streams.
fn chains(mock: &str) -> String {
    format!(
        r#"inherit_defaults: false
providers:
  oa:
    api_base: "{mock}/v1"
    api_key: k
    api_protocol: chat_completions
    allow_private: true
    models: [{{ id: m, pricing: {{ input: 2.0, output: 8.0 }} }}]
  bad:
    api_base: "{mock}/v1"
    api_key: k
    api_protocol: chat_completions
    allow_private: true
    headers: {{ x-mock-fault: "status=500" }}
    models: [{{ id: m, pricing: {{ input: 100.0, output: 100.0 }} }}]
  slowoa:
    api_base: "{mock}/v1"
    api_key: k
    api_protocol: chat_completions
    allow_private: true
    headers: {{ x-mock-fault: "drip=300" }}
    models: [{{ id: m, pricing: {{ input: 2.0, output: 8.0 }} }}]
  slowan:
    api_base: "{mock}"
    api_key: k
    api_protocol: messages
    allow_private: true
    headers: {{ x-mock-fault: "drip=300" }}
    models: [{{ id: c, pricing: {{ input: 3.0, output: 15.0 }} }}]
models:
  chain: {{ endpoints: [ {{ provider: bad, model_id: m }}, {{ provider: oa, model_id: m }} ] }}
"#
    )
}

on_both!(a_failover_row_names_the_provider_that_served_and_counts_both_attempts);
async fn a_failover_row_names_the_provider_that_served_and_counts_both_attempts(b: Backend) {
    let mock = MockUpstream::start().await.unwrap();
    let home = support::home(
        &format!("ledger-failover-{b:?}"),
        &chains(&mock.base_url()),
        "",
    );
    let Some(db) = Db::new(b, &home, "failover").await else {
        return;
    };
    let token = token(&home);
    let r = start(&home, db.flag()).await;
    let body = r#"{"model":"chain","messages":[{"role":"user","content":"Say hello."}]}"#;
    assert_eq!(
        call(&r, &token, "/v1/chat/completions", "f", body).await,
        200
    );
    assert_eq!(mock.request_count(), 2);
    let got = rows(&db.url, 1).await;
    let row = &got[0];
    assert_eq!(
        (
            row.route.as_deref(),
            row.provider.as_deref(),
            row.upstream_model.as_deref()
        ),
        (Some("chain"), Some("oa"), Some("m"))
    );
    assert_eq!(
        (row.status, row.outcome.as_str(), row.attempts),
        (200, "completed", 2)
    );
    // Priced at the server's prices (19 in at $2/M, 3 out at $8/M), not the failed one's.
    assert_eq!((row.input_tokens, row.output_tokens), (Some(19), Some(3)));
    assert_eq!(row.cost_micro_usd, Some(62.0));
    r.stop().await;
}

/// Starts a streamed chat call for `model` and reads until `until` has arrived, then leaves
/// (drops the connection).
async fn leave_mid_stream(r: &Router, token: &str, id: &str, model: &str, until: &str) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let body = format!(
        r#"{{"model":"{model}","stream":true,"messages":[{{"role":"user","content":"Say hello."}}]}}"#
    );
    let mut s = tokio::net::TcpStream::connect(r.addr).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {token}\r\n\
         x-request-id: {id}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&seen).contains(until) {
        assert!(
            Instant::now() < deadline,
            "{}",
            String::from_utf8_lossy(&seen)
        );
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(
            n > 0,
            "the stream ended early: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(!String::from_utf8_lossy(&seen).contains("[DONE]"));
}

on_both!(a_stream_the_caller_leaves_is_a_cancelled_row_with_the_usage_reported_so_far);
async fn a_stream_the_caller_leaves_is_a_cancelled_row_with_the_usage_reported_so_far(b: Backend) {
    let mock = MockUpstream::start().await.unwrap();
    let home = support::home(
        &format!("ledger-cancel-{b:?}"),
        &chains(&mock.base_url()),
        "",
    );
    let Some(db) = Db::new(b, &home, "cancel").await else {
        return;
    };
    let token = token(&home);
    let r = start(&home, db.flag()).await;
    // A Messages upstream reports its input (12) and a first output token in `message_start`,
    // before any content; a Chat upstream reports usage only in its last chunk.
    leave_mid_stream(&r, &token, "a-messages", "slowan:c", "Hel").await;
    leave_mid_stream(&r, &token, "b-chat", "slowoa:m", "Hel").await;
    let got = rows(&db.url, 2).await;
    let (an, oa) = (&got[0], &got[1]);
    for row in &got {
        assert_eq!(
            (row.status, row.outcome.as_str()),
            (499, "cancelled"),
            "{row:?}"
        );
        assert!(row.stream && row.ttfb_ms.is_some(), "{row:?}");
        assert_eq!(row.attempts, 1);
    }
    assert_eq!(
        (an.provider.as_deref(), an.outbound.as_deref()),
        (Some("slowan"), Some("messages"))
    );
    assert_eq!(
        (
            an.input_tokens,
            an.output_tokens,
            an.cache_read_tokens,
            an.cache_write_tokens,
            an.reasoning_tokens
        ),
        (Some(12), Some(1), Some(0), Some(0), Some(0))
    );
    // 12 in at $3/M and 1 out at $15/M.
    assert_eq!(an.cost_micro_usd, Some(51.0));
    assert_eq!(oa.provider.as_deref(), Some("slowoa"));
    assert_eq!((oa.input_tokens, oa.output_tokens), (None, None));
    assert_eq!(oa.cost_micro_usd, None);
    r.stop().await;
}

#[tokio::test]
async fn rows_past_the_spools_cap_are_dropped_and_counted_in_metrics() {
    let mock = MockUpstream::start().await.unwrap();
    let home = support::home("ledger-dropped", &config(&mock.base_url()), "");
    let token = token(&home);
    // The database never answers and the spool holds one row (a row is some 450 bytes).
    let r = start_with(&home, Some("postgres://bitrouter@127.0.0.1:1/ledger"), 700).await;
    for id in ["a", "b", "c"] {
        assert_eq!(
            call(&r, &token, "/v1/chat/completions", id, CHAT).await,
            200
        );
    }
    let bytes: u64 = segments(&home)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(spooled_lines(&home), 1);
    // What `GET /metrics` renders (an admin token away).
    let metrics = r.daemon.server().scrape();
    let line = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
            .to_owned()
    };
    assert_eq!(
        line("bitrouter_ledger_dropped_total"),
        "bitrouter_ledger_dropped_total 2"
    );
    assert_eq!(
        line("bitrouter_ledger_spool_bytes"),
        format!("bitrouter_ledger_spool_bytes {bytes}")
    );
    assert!(
        metrics.contains("# TYPE bitrouter_ledger_spool_bytes gauge"),
        "{metrics}"
    );
    r.stop().await;
}

/// The nice value of each of this process's threads named `comm` (Linux's `/proc`).
#[cfg(target_os = "linux")]
fn nice_of(comm: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for t in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let name = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if name.trim_end() != comm {
            continue;
        }
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        // Fields after the `(comm)`: state is the 3rd field of stat, nice the 19th.
        if let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) {
            if let Some(n) = rest.split(' ').nth(16).and_then(|n| n.parse().ok()) {
                out.push(n);
            }
        }
    }
    out
}

/// The writer and the SQLite connection it opens run below the data plane's priority, so a
/// batch insert yields the CPU to a request; the data plane's threads keep theirs.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_writer_and_its_database_thread_run_at_a_lower_priority() {
    let mock = MockUpstream::start().await.unwrap();
    let home = support::home("ledger-nice", &config(&mock.base_url()), "");
    let token = token(&home);
    let r = start(&home, None).await;
    assert_eq!(
        call(&r, &token, "/v1/chat/completions", "n", CHAT).await,
        200
    );
    rows(&db_url(&home), 1).await;
    let writers = nice_of("bitrouter-ledge");
    assert!(
        !writers.is_empty() && writers.iter().all(|n| *n == 10),
        "{writers:?}"
    );
    // Other tests' routers run in this process too; at least this writer's connection is there.
    let sqlite = nice_of("sqlx-sqlite-wor");
    assert!(sqlite.contains(&10), "{sqlite:?}");
    let workers = nice_of("tokio-runtime-w");
    assert!(workers.iter().all(|n| *n == 0), "{workers:?}");
    r.stop().await;
}

/// Scale-out: three routers (each its own home, spool and key) write to one Postgres ledger;
/// every replica's rows are there exactly once, told apart by their row ids.
#[tokio::test]
async fn replicas_sharing_a_postgres_ledger_each_write_their_own_rows() {
    let Some(url) = ledger::testing::postgres("rt_replicas").await else {
        return;
    };
    let mock = MockUpstream::start().await.unwrap();
    let mut replicas = Vec::new();
    for n in 0..3 {
        let home = support::home(
            &format!("ledger-replica-{n}"),
            &config(&mock.base_url()),
            "",
        );
        let token = token(&home);
        let r = start(&home, Some(&url)).await;
        replicas.push((r, token));
    }
    for round in 0..4 {
        for (n, (r, token)) in replicas.iter().enumerate() {
            let id = format!("r{n}-{round}");
            assert_eq!(call(r, token, "/v1/chat/completions", &id, CHAT).await, 200);
        }
    }
    let got = rows(&url, 12).await;
    let mut ids: Vec<&str> = got.iter().map(|r| r.request_id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 12, "{ids:?}");
    for n in 0..3 {
        let mine = ids
            .iter()
            .filter(|i| i.starts_with(&format!("r{n}-")))
            .count();
        assert_eq!(mine, 4, "replica {n}: {ids:?}");
    }
    let mut row_ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
    row_ids.sort_unstable();
    row_ids.dedup();
    assert_eq!(row_ids.len(), 12, "row ids collide across replicas");
    for (r, _) in replicas {
        r.stop().await;
    }
}
