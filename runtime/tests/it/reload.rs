//! Reload under load, in-process: the runtime's reload (`Daemon::reload`: read the file and
//! `.env`, strict compile on a blocking thread, the policies, one publish) run 100 times, plus
//! 20 invalid configs, while 64 streams are always in flight against the mock; and a stalled
//! non-streaming request finishing on the table it started with. The same load through the
//! daemon's control socket is `cli/tests/it/daemon.rs`; both use `testkit::load`.

use std::time::{Duration, Instant};

use compiler::Severity;
use runtime::daemon::{ReloadError, Trigger};
use testkit::MockUpstream;
use testkit::load::{self, Caller, Load};

use crate::support;

/// Provider `a` speaks Chat Completions, `b` Anthropic Messages; the virtual model `vm` routes
/// to `target`. Both providers tag their upstream requests with `x-which` so the mock's log
/// says who served each one, and carry `fault` (`drip=MS`, `stall-first=MS`) when it is theirs.
fn config(mock: &str, target: &str, fault_a: &str, fault_b: &str) -> String {
    format!(
        r#"inherit_defaults: false
server:
  skip_auth: true
  timeouts: {{ first_byte: 10s, idle: 5s }}
providers:
  a: {{ api_base: "{mock}/v1", api_key: "${{A_KEY}}", api_protocol: chat_completions, allow_private: true, headers: {{ x-which: a, x-mock-fault: "{fault_a}" }}, models: [{{id: real-model}}] }}
  b: {{ api_base: "{mock}", api_key: "${{B_KEY}}", api_protocol: messages, allow_private: true, headers: {{ x-which: b, x-mock-fault: "{fault_b}" }}, models: [{{id: real-model}}] }}
models:
  vm: {{ strategy: priority, endpoints: [ {{provider: {target}, model_id: real-model}} ] }}
"#
    )
}

/// The keys, in the home's `.env` (the daemon reads it on every reload).
const DOTENV: &str = "A_KEY=key-a\nB_KEY=key-b\n";

/// Twenty configs that differ from a valid one by one mistake each (ten mistakes, applied to
/// both valid configs); strict compilation must reject every one with at least one error.
/// Each comes with the diagnostic code it must be rejected with.
fn invalid_configs(valid: &[(&str, &str); 2]) -> Vec<(String, &'static str)> {
    let edits: [(&str, &str, &str); 10] = [
        ("provider: TARGET,", "provider: nobody,", "E0050"),
        ("models:\n  vm:", "models:\n  vm: [\n", "E0001"),
        ("${A_KEY}", "${MISSING_KEY}", "E0010"),
        (
            "api_protocol: chat_completions",
            "api_protocol: carrier_pigeon",
            "E0020",
        ),
        ("api_base: \"", "api_base: \"not a url ", "E0040"),
        ("first_byte: 10s", "first_byte: soon", "E0004"),
        ("strategy: priority", "strategy: dice", "E0004"),
        (
            "endpoints: [ {provider: TARGET, model_id: real-model} ]",
            "endpoints: []",
            "E0052",
        ),
        ("skip_auth: true", "skip_auth: maybe", "E0003"),
        (
            "inherit_defaults: false",
            "inherit_defaults: false\nproviders: {}",
            "E0001",
        ),
    ];
    let mut out = Vec::new();
    for (text, target) in valid {
        for (from, to, code) in edits {
            let from = from.replace("TARGET", target);
            assert!(text.contains(&from), "edit `{from}` does not apply");
            out.push((text.replacen(&from, to, 1), code));
        }
    }
    out
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn api() -> Trigger {
    Trigger::Api(Default::default())
}

const WORKERS: usize = 64;
const MAX_STREAMS_PER_WORKER: usize = 200;
const VALID_RELOADS: usize = 100;
const INVALID_RELOADS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_under_64_streams_drops_nothing() {
    let mock = MockUpstream::start().await.unwrap();
    let base = mock.base_url();
    // Streams drip an event every 25 ms, so each spans several reloads.
    let texts = [
        config(&base, "a", "drip=25", "drip=25"),
        config(&base, "b", "drip=25", "drip=25"),
    ];
    let invalid = invalid_configs(&[(&texts[0], "a"), (&texts[1], "b")]);
    assert_eq!(invalid.len(), INVALID_RELOADS);
    let home = support::home("reload-load", &texts[0], DOTENV);
    let (daemon, addr) = support::start(&home).await;
    // The hash of each valid config, as the daemon computes it: the one it started with, and
    // the one the first reload publishes.
    let mut hashes = vec![daemon.status().config_hash];

    let load = Load {
        addr,
        model: "vm".into(),
        workers: WORKERS,
        max_per_worker: MAX_STREAMS_PER_WORKER,
    }
    .start();

    // Let every worker get its first stream open.
    let warmup = Instant::now();
    while daemon.server().in_flight() < WORKERS && warmup.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let mut latencies = Vec::with_capacity(VALID_RELOADS);
    let mut rejections = Vec::with_capacity(INVALID_RELOADS);
    let mut in_flight_at_publish = Vec::with_capacity(VALID_RELOADS);
    let mut current = 0;
    let mut invalid = invalid.into_iter();
    for i in 0..VALID_RELOADS {
        let next = 1 - current;
        support::write(&home, &texts[next]);
        let start = Instant::now();
        let r = match daemon.reload(api()).await {
            Ok(r) => r,
            Err(e) => panic!("reload {i}: {e}"),
        };
        latencies.push(start.elapsed());
        in_flight_at_publish.push(daemon.server().in_flight());
        if hashes.len() == 1 {
            hashes.push(r.config_hash.clone());
            assert_ne!(hashes[0], hashes[1]);
        }
        assert_eq!(r.previous_hash, hashes[current], "reload {i}");
        assert_eq!(r.config_hash, hashes[next], "reload {i}");
        assert!(
            r.changed() && r.needs_restart.is_empty(),
            "reload {i}: {r:?}"
        );
        current = next;
        assert_eq!(
            support::served_hash(addr).await,
            hashes[current],
            "reload {i}"
        );

        if i % 5 == 4 {
            // An invalid config: refused with diagnostics, the table in place untouched.
            let (text, code) = invalid.next().unwrap();
            support::write(&home, &text);
            let start = Instant::now();
            let refused = daemon.reload(api()).await;
            rejections.push(start.elapsed());
            match &refused {
                Err(ReloadError::Invalid {
                    diagnostics,
                    kept_hash,
                    ..
                }) => {
                    assert!(
                        diagnostics
                            .iter()
                            .any(|d| d.code.as_str() == code && d.severity == Severity::Error),
                        "{code} not among {diagnostics:?}"
                    );
                    assert_eq!(kept_hash, &hashes[current]);
                }
                other => panic!("invalid config {i}: {other:?}"),
            }
            let rendered = refused.unwrap_err().to_failure().diagnostics.unwrap();
            assert!(rendered.contains(&format!("error[{code}]")), "{rendered}");
            assert_eq!(
                support::served_hash(addr).await,
                hashes[current],
                "after invalid {i}"
            );
            let fresh = load::call(addr, Caller::ChatCompletions, "vm", false, 900_000 + i)
                .await
                .unwrap();
            assert_eq!(fresh.status, 200, "{}", fresh.body);
            assert_eq!(fresh.provider, ["a", "b"][current], "after invalid {i}");
            let last = daemon.status().last_reload.unwrap();
            assert!(!last.ok && last.config_hash == hashes[current], "{last:?}");
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert!(invalid.next().is_none());
    let report = load.finish().await;

    // After the last reload, every caller protocol lands on the last table.
    for (k, p) in Caller::ALL.into_iter().enumerate() {
        let a = load::call(addr, p, "vm", true, 990_000 + k).await.unwrap();
        assert_eq!(load::incomplete(p, &a), None, "{p:?}");
        assert_eq!(
            a.provider,
            ["a", "b"][current],
            "{p:?} after the last reload"
        );
    }

    // Each stream was served by the provider its response header names, in one attempt.
    let log = load::served_by(&mock).unwrap();
    for (tag, provider) in &report.served {
        assert_eq!(log.get(tag), Some(provider), "stream {tag}");
    }

    let served = report.by_provider();
    let total = report.total();
    latencies.sort();
    rejections.sort();
    in_flight_at_publish.sort();
    println!(
        "reload under load: {total} streams ({served:?}), {} failed; {VALID_RELOADS} reloads \
         with {}..{} requests in flight (median {}); reload p50 {:?} p99 {:?} max {:?}; \
         {INVALID_RELOADS} refused, p50 {:?} max {:?}",
        report.failures.len(),
        in_flight_at_publish[0],
        in_flight_at_publish[VALID_RELOADS - 1],
        in_flight_at_publish[VALID_RELOADS / 2],
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[VALID_RELOADS - 1],
        percentile(&rejections, 0.50),
        rejections[INVALID_RELOADS - 1],
    );
    assert!(
        report.failures.is_empty(),
        "{} failed: {:#?}",
        report.failures.len(),
        report.failures
    );
    assert!(served.get("a").is_some_and(|&n| n > 0), "{served:?}");
    assert!(served.get("b").is_some_and(|&n| n > 0), "{served:?}");
    assert!(
        in_flight_at_publish[VALID_RELOADS / 2] >= WORKERS / 2,
        "reloads did not happen under load: {in_flight_at_publish:?}"
    );
    assert!(total >= 4 * WORKERS, "only {total} streams");
}

/// A non-streaming request waiting on a stalled upstream (`a`, 1.5 s before the response head)
/// while `vm` moves to `b` completes against `a`; requests that start after the reload go to
/// `b` and finish while the first is still waiting. Once with a passthrough caller (Chat
/// Completions → `a`) and once with a translated one (Messages → `a`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_finishes_on_the_table_it_started_with() {
    let mock = MockUpstream::start().await.unwrap();
    let base = mock.base_url();
    let on_a = config(&base, "a", "stall-first=1500", "");
    let on_b = config(&base, "b", "stall-first=1500", "");
    let home = support::home("reload-stalled", &on_a, DOTENV);
    let (daemon, addr) = support::start(&home).await;
    for (k, p) in [Caller::ChatCompletions, Caller::Messages]
        .into_iter()
        .enumerate()
    {
        support::write(&home, &on_a);
        daemon.reload(api()).await.unwrap();
        let seen = mock.request_count();
        let id = 100 + k;
        let slow = tokio::spawn(load::call(addr, p, "vm", false, id));
        // Wait until the upstream holds the request, then move the model.
        let t0 = Instant::now();
        while mock.request_count() == seen {
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "request never reached a"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        support::write(&home, &on_b);
        daemon.reload(api()).await.unwrap();

        let fresh = load::call(addr, p, "vm", false, 200 + k).await.unwrap();
        assert_eq!(fresh.status, 200, "{}", fresh.body);
        assert_eq!(
            fresh.provider, "b",
            "{p:?}: a fresh request uses the new table"
        );
        assert!(
            !slow.is_finished(),
            "{p:?}: the stalled request was still waiting"
        );

        let slow = slow.await.unwrap().unwrap();
        assert!(
            t0.elapsed() >= Duration::from_millis(1400),
            "{p:?}: it did stall"
        );
        assert_eq!(slow.status, 200, "{p:?}: {}", slow.body);
        assert!(slow.body.contains("Hello!"), "{p:?}: {}", slow.body);
        assert_eq!(
            slow.provider, "a",
            "{p:?}: finished on the table it started with"
        );
        let log = load::served_by(&mock).unwrap();
        assert_eq!(log.get(&id).map(String::as_str), Some("a"), "{p:?}");
        assert_eq!(log.get(&(200 + k)).map(String::as_str), Some("b"), "{p:?}");
    }
    // Each request reached the upstream exactly once: no retry, no re-route.
    assert_eq!(mock.requests().len(), 4);
}
