//! `bitrouter spend` and `bitrouter requests` as an operator runs them: a daemon serves known
//! traffic, is killed with SIGKILL, is started again (its spool replayed), and both commands
//! read the ledger's SQLite file directly — exact sums, a total line, the unpriced flag, JSON.
//! And once on Postgres: a daemon started with `--db <postgres url>`, read by `spend --db` and
//! `requests --db` (skipped without the test server; see `runtime::ledger::testing`).

use std::path::Path;

use serde_json::Value;

use super::{bin, run, scratch};

/// A runtime for the mock upstream (and the Postgres helper).
fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn ctl(home: &Path, args: &[&str]) -> (i32, String, String) {
    let mut c = bin();
    c.args(args).arg("--home-dir").arg(home);
    run(&mut c)
}

fn chat(listen: &str, model: &str) -> String {
    super::post_chat(listen, model, "Say hello.", None)
}

fn start(home: &Path) -> (u64, String) {
    start_with(home, &[])
}

/// `bitrouter start` with `flags`; the daemon's pid and address.
fn start_with(home: &Path, flags: &[&str]) -> (u64, String) {
    let args: Vec<&str> = std::iter::once("start")
        .chain(flags.iter().copied())
        .collect();
    let (code, out, err) = ctl(home, &args);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = ctl(home, &["status", "--json"]);
    assert_eq!(code, 0, "{err}");
    let st: Value = serde_json::from_str(&out).unwrap();
    (
        st["pid"].as_u64().unwrap(),
        st["listen"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn spend_and_requests_read_the_ledger_after_a_sigkill_and_restart() {
    let rt = tokio_rt();
    let mock = rt.block_on(testkit::MockUpstream::start()).unwrap();
    let base = mock.base_url();
    let home = scratch("ledger-spend");
    std::fs::write(
        home.join("bitrouter.yaml"),
        format!(
            "server: {{ skip_auth: true, listen: \"127.0.0.1:0\" }}\n\
             inherit_defaults: false\n\
             providers:\n\
             \x20 a: {{ api_base: \"{base}/v1\", api_key: k, api_protocol: chat_completions, allow_private: true, models: [{{id: up, pricing: {{input: 2.0, output: 8.0}}}}, {{id: free}}] }}\n\
             models:\n\
             \x20 m: {{ endpoints: [{{provider: a, service_id: up}}] }}\n"
        ),
    )
    .unwrap();
    let (code, _, err) = ctl(&home, &["spend"]);
    assert_eq!(code, 2);
    assert!(err.contains("there is no ledger at"), "{err}");

    let (pid, listen) = start(&home);
    for _ in 0..3 {
        assert_eq!(chat(&listen, "m"), "HTTP/1.1 200 OK");
    }
    assert_eq!(chat(&listen, "a:free"), "HTTP/1.1 200 OK");
    assert!(chat(&listen, "nope").starts_with("HTTP/1.1 404"));
    // No drain, no flush: whatever was not committed is in the spool.
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (pid, _) = start(&home);
    let guard = scopeguard(pid);

    // The restarted daemon replays the spool; wait until all five rows are there.
    let began = std::time::Instant::now();
    let rows = loop {
        let (code, out, err) = ctl(&home, &["requests", "--json", "--last", "100"]);
        if code == 0 {
            let v: Value = serde_json::from_str(&out).unwrap();
            if v.as_array().unwrap().len() >= 5 || began.elapsed().as_secs() > 10 {
                break v;
            }
        } else {
            assert!(began.elapsed().as_secs() < 10, "{err}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 5, "{rows:#?}");
    let models: Vec<&str> = rows.iter().map(|r| r["model"].as_str().unwrap()).collect();
    assert_eq!(models, ["m", "m", "m", "a:free", "nope"]);

    let (code, out, err) = ctl(&home, &["spend", "--since", "1h"]);
    assert_eq!(code, 0, "{err}");
    let body: Vec<&str> = out.lines().skip(1).collect();
    // 19 in at $2/M and 3 out at $8/M per call: 62 micro-USD, three times.
    assert_eq!(
        body,
        [
            "model   requests  errors  input  output  cache_read  cache_write  reasoning                    cost",
            "m              3       0     57       9           0            0          0               $0.000186",
            "a:free         1       0     19       3           0            0          0  $0.000000 + 1 unpriced",
            "nope           1       1      0       0           0            0          0               $0.000000",
            "total          5       1     76      12           0            0          0  $0.000186 + 1 unpriced",
            "1 request(s) had usage but no price; their cost is not in the sums (set `pricing` on the model)",
            format!(
                "prices: a model's `pricing` in the configuration, else the built-in list prices of {}",
                compiler::registry::PRICES_AS_OF
            )
            .as_str(),
        ],
        "{out}"
    );
    let (code, out, err) = ctl(&home, &["spend", "--by", "provider", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["by"], "provider");
    assert_eq!(v["lines"][0]["group"], "a");
    assert_eq!(v["lines"][0]["requests"], 4);
    assert_eq!(v["lines"][1]["group"], "-");
    assert_eq!(v["total"]["cost_micro_usd"], 186.0);
    assert_eq!(v["total"]["unpriced"], 1);
    assert_eq!(v["builtin_prices_as_of"], compiler::registry::PRICES_AS_OF);

    let (code, _, err) = ctl(&home, &["stop"]);
    assert_eq!(code, 0, "{err}");
    std::mem::forget(guard);
}

#[test]
fn spend_and_requests_read_a_postgres_ledger_with_db() {
    let rt = tokio_rt();
    let Some(db) = rt.block_on(runtime::ledger::testing::postgres("cli_spend")) else {
        return;
    };
    let mock = rt.block_on(testkit::MockUpstream::start()).unwrap();
    let base = mock.base_url();
    let home = scratch("ledger-spend-pg");
    std::fs::write(
        home.join("bitrouter.yaml"),
        format!(
            "server: {{ skip_auth: true, listen: \"127.0.0.1:0\" }}\n\
             inherit_defaults: false\n\
             providers:\n\
             \x20 a: {{ api_base: \"{base}/v1\", api_key: k, api_protocol: chat_completions, allow_private: true, models: [{{id: up, pricing: {{input: 2.0, output: 8.0}}}}] }}\n\
             models:\n\
             \x20 m: {{ endpoints: [{{provider: a, service_id: up}}] }}\n"
        ),
    )
    .unwrap();
    let (code, out, err) = ctl(&home, &["start", "--db", &db]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = ctl(&home, &["status", "--json"]);
    assert_eq!(code, 0, "{err}");
    let st: Value = serde_json::from_str(&out).unwrap();
    let guard = scopeguard(st["pid"].as_u64().unwrap());
    let listen = st["listen"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        assert_eq!(chat(&listen, "m"), "HTTP/1.1 200 OK");
    }
    assert!(chat(&listen, "nope").starts_with("HTTP/1.1 404"));

    let began = std::time::Instant::now();
    loop {
        let (code, out, err) = ctl(&home, &["requests", "--json", "--db", &db]);
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let models: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["model"].as_str().unwrap())
            .collect();
        if models.len() >= 3 || began.elapsed().as_secs() > 10 {
            assert_eq!(models, ["m", "m", "nope"]);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (code, out, err) = ctl(&home, &["spend", "--since", "1h", "--db", &db]);
    assert_eq!(code, 0, "{err}");
    let body: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(
        body,
        [
            "model  requests  errors  input  output  cache_read  cache_write  reasoning       cost",
            "m             2       0     38       6           0            0          0  $0.000124",
            "nope          1       1      0       0           0            0          0  $0.000000",
            "total         3       1     38       6           0            0          0  $0.000124",
            format!(
                "prices: a model's `pricing` in the configuration, else the built-in list prices of {}",
                compiler::registry::PRICES_AS_OF
            )
            .as_str(),
        ],
        "{out}"
    );
    // The home's default SQLite file was never made: everything went to Postgres.
    assert!(!home.join("bitrouter.db").exists());
    let (code, _, err) = ctl(&home, &["stop"]);
    assert_eq!(code, 0, "{err}");
    std::mem::forget(guard);
}

/// Kills `pid` if the test fails before `stop`.
fn scopeguard(pid: u64) -> impl Drop {
    struct G(u64);
    impl Drop for G {
        fn drop(&mut self) {
            let _ = std::process::Command::new("kill")
                .args(["-9", &self.0.to_string()])
                .status();
        }
    }
    G(pid)
}

#[test]
fn no_ledger_records_nothing_and_makes_no_database() {
    let rt = tokio_rt();
    let mock = rt.block_on(testkit::MockUpstream::start()).unwrap();
    let base = mock.base_url();
    let home = scratch("ledger-off");
    std::fs::write(
        home.join("bitrouter.yaml"),
        format!(
            "server: {{ skip_auth: true, listen: \"127.0.0.1:0\" }}\n\
             inherit_defaults: false\n\
             providers:\n\
             \x20 a: {{ api_base: \"{base}/v1\", api_key: k, api_protocol: chat_completions, allow_private: true, models: [{{id: up}}] }}\n"
        ),
    )
    .unwrap();
    let (pid, listen) = start_with(&home, &["--no-ledger"]);
    let guard = scopeguard(pid);
    for _ in 0..3 {
        assert_eq!(chat(&listen, "a:up"), "HTTP/1.1 200 OK");
    }
    let (code, _, err) = ctl(&home, &["stop"]);
    assert_eq!(code, 0, "{err}");
    std::mem::forget(guard);
    // Served, logged, and not recorded: no database, no spool.
    let log = std::fs::read_to_string(home.join("logs/bitrouter.log")).unwrap();
    assert_eq!(log.matches("request finished").count(), 3, "{log}");
    assert!(log.contains("ledger=\"off\""), "{log}");
    assert!(!home.join("bitrouter.db").exists());
    assert!(!home.join("run/ledger").exists());
    let (code, _, err) = ctl(&home, &["spend"]);
    assert_eq!(code, 2);
    assert!(err.contains("there is no ledger at"), "{err}");
}
