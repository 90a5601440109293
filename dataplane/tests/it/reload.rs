//! Reload under load: the daemon's reload path (strict compile off the hot path, then one
//! `publish`) run 100 times, plus 20 invalid configs, while 64 streams are always in flight
//! against the mock; and a stalled non-streaming request finishing on the table it started with.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use compiler::{EnvMode, RoutingTable, Severity, SourceFile};
use dataplane::Server;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use testkit::MockUpstream;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::support::{Protocol, request};

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

fn env() -> HashMap<String, String> {
    [("A_KEY", "key-a"), ("B_KEY", "key-b")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The daemon's reload path: compile strictly; `Err` is the rendered diagnostics.
fn compile(text: &str, env: &HashMap<String, String>) -> Result<RoutingTable, String> {
    let src = SourceFile::new("bitrouter.yaml", text);
    match compiler::compile(&src, env, EnvMode::Strict) {
        Ok(c) => Ok(c.table),
        Err(d) => {
            assert!(
                d.iter().any(|d| d.severity == Severity::Error),
                "rejected without an error: {d:?}"
            );
            Err(compiler::diagnostic::render::render_human(&src, &d, false))
        }
    }
}

struct Router {
    mock: MockUpstream,
    server: Arc<Server>,
    addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
    _stop: oneshot::Sender<()>,
}

struct Answer {
    status: u16,
    provider: String,
    body: String,
}

impl Router {
    async fn start(mock: MockUpstream, table: RoutingTable) -> Router {
        let server = Server::new(table);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(Arc::clone(&server).run(listener, async {
            let _ = rx.await;
        }));
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(128)
            .build_http();
        Router {
            mock,
            server,
            addr,
            client,
            _stop: tx,
        }
    }

    /// One "Say hello. #id#" call for `vm`; transport errors and timeouts are `Err`, not panics,
    /// so a failure is counted.
    async fn call(&self, p: Protocol, stream: bool, id: usize) -> Result<Answer, String> {
        let (path, body) = request(p, "vm", stream);
        let body = body.replace("Say hello.", &format!("Say hello. #{id}#"));
        self.send("POST", &path, body).await
    }

    async fn send(&self, method: &str, path: &str, body: String) -> Result<Answer, String> {
        let req = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let work = async {
            let res = self.client.request(req).await.map_err(|e| e.to_string())?;
            let status = res.status().as_u16();
            let provider = res
                .headers()
                .get("x-bitrouter-provider")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let body = res
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("body cut: {e}"))?
                .to_bytes();
            Ok(Answer {
                status,
                provider,
                body: String::from_utf8_lossy(&body).into_owned(),
            })
        };
        tokio::time::timeout(Duration::from_secs(15), work)
            .await
            .map_err(|_| "timed out".to_owned())?
    }

    async fn config_hash(&self) -> String {
        let r = self.send("GET", "/ready", String::new()).await.unwrap();
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        v["config_hash"].as_str().unwrap().to_owned()
    }

    /// Which provider the mock saw each request id on (`x-which`), from its request log.
    fn served_by(&self) -> HashMap<usize, String> {
        let mut out = HashMap::new();
        for r in self.mock.requests() {
            let body = String::from_utf8_lossy(&r.body);
            let Some(rest) = body.split("Say hello. #").nth(1) else {
                continue;
            };
            let Some(id) = rest.split('#').next().and_then(|s| s.parse().ok()) else {
                continue;
            };
            let which = r.header("x-which").unwrap_or("?").to_owned();
            assert!(out.insert(id, which).is_none(), "request {id} sent twice");
        }
        out
    }
}

/// The answer's text reassembled from the caller protocol's stream events, or `None` when an
/// event is not JSON.
fn streamed_text(p: Protocol, body: &str) -> Option<String> {
    let mut text = String::new();
    for line in body.lines() {
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let data = data.trim();
        if data == "[DONE]" {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(data).ok()?;
        let piece = match p {
            Protocol::ChatCompletions => v["choices"][0]["delta"]["content"].as_str(),
            Protocol::Responses if v["type"] == "response.output_text.delta" => v["delta"].as_str(),
            Protocol::Messages if v["type"] == "content_block_delta" => v["delta"]["text"].as_str(),
            Protocol::GenerateContent => v["candidates"][0]["content"]["parts"][0]["text"].as_str(),
            _ => None,
        };
        text.push_str(piece.unwrap_or(""));
    }
    Some(text)
}

/// Why a streamed answer is not complete, if it is not.
fn incomplete(p: Protocol, a: &Answer) -> Option<String> {
    if a.status != 200 {
        return Some(format!("status {}", a.status));
    }
    let end = match p {
        Protocol::ChatCompletions => "data: [DONE]",
        Protocol::Responses => "event: response.completed",
        Protocol::Messages => "event: message_stop",
        Protocol::GenerateContent => "\"finishReason\"",
    };
    if a.body.matches(end).count() != 1 {
        return Some(format!("terminal frame `{end}` not there exactly once"));
    }
    if a.body.replace(": ", ":").contains("\"error\":{") {
        return Some("error event".into());
    }
    match streamed_text(p, &a.body) {
        Some(t) if t == "Hello!" => None,
        other => Some(format!("text {other:?}")),
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

const WORKERS: usize = 64;
const MAX_STREAMS_PER_WORKER: usize = 200;
const VALID_RELOADS: usize = 100;
const INVALID_RELOADS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_under_64_streams_drops_nothing() {
    let mock = MockUpstream::start().await.unwrap();
    let base = mock.base_url();
    let env = env();
    // Streams drip an event every 25 ms, so each spans several reloads.
    let texts = [
        config(&base, "a", "drip=25", "drip=25"),
        config(&base, "b", "drip=25", "drip=25"),
    ];
    let invalid = invalid_configs(&[(&texts[0], "a"), (&texts[1], "b")]);
    assert_eq!(invalid.len(), INVALID_RELOADS);
    let hashes: Vec<String> = texts
        .iter()
        .map(|t| compile(t, &env).unwrap().content_hash().to_owned())
        .collect();
    assert_ne!(hashes[0], hashes[1]);

    let router = Arc::new(Router::start(mock, compile(&texts[0], &env).unwrap()).await);
    let done = Arc::new(AtomicBool::new(false));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..WORKERS {
        let (router, done) = (Arc::clone(&router), Arc::clone(&done));
        workers.spawn(async move {
            let p = Protocol::ALL[w % Protocol::ALL.len()];
            let mut results = Vec::new();
            for n in 0..MAX_STREAMS_PER_WORKER {
                if done.load(Ordering::Acquire) {
                    break;
                }
                let id = w * MAX_STREAMS_PER_WORKER + n;
                let outcome = match router.call(p, true, id).await {
                    Ok(a) => match incomplete(p, &a) {
                        None => Ok(a.provider),
                        Some(why) => Err(format!("{p:?} #{id}: {why}: {}", a.body)),
                    },
                    Err(e) => Err(format!("{p:?} #{id}: {e}")),
                };
                results.push((id, outcome));
            }
            results
        });
    }

    // Let every worker get its first stream open.
    let warmup = Instant::now();
    while router.server.in_flight() < WORKERS && warmup.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let mut latencies = Vec::with_capacity(VALID_RELOADS);
    let mut rejections = Vec::with_capacity(INVALID_RELOADS);
    let mut in_flight_at_publish = Vec::with_capacity(VALID_RELOADS);
    let mut current = 0;
    let mut invalid = invalid.into_iter();
    for i in 0..VALID_RELOADS {
        let next = 1 - current;
        let start = Instant::now();
        let table = compile(&texts[next], &env).unwrap();
        router.server.publish(table);
        latencies.push(start.elapsed());
        in_flight_at_publish.push(router.server.in_flight());
        current = next;
        assert_eq!(router.config_hash().await, hashes[current], "reload {i}");

        if i % 5 == 4 {
            // An invalid config: rejected with diagnostics, the table in place untouched.
            let (text, code) = invalid.next().unwrap();
            let start = Instant::now();
            let rendered = compile(&text, &env).expect_err("invalid config compiled");
            rejections.push(start.elapsed());
            assert!(rendered.contains(&format!("error[{code}]")), "{rendered}");
            assert_eq!(
                router.config_hash().await,
                hashes[current],
                "after invalid {i}"
            );
            let fresh = router
                .call(Protocol::ChatCompletions, false, 900_000 + i)
                .await;
            let fresh = fresh.unwrap();
            assert_eq!(fresh.status, 200, "{}", fresh.body);
            assert_eq!(fresh.provider, ["a", "b"][current], "after invalid {i}");
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert!(invalid.next().is_none());
    done.store(true, Ordering::Release);

    let mut served = HashMap::<String, usize>::new();
    let mut failures = Vec::new();
    let mut ids = Vec::new();
    while let Some(results) = workers.join_next().await {
        for (id, outcome) in results.unwrap() {
            match outcome {
                Ok(provider) => {
                    *served.entry(provider.clone()).or_default() += 1;
                    ids.push((id, provider));
                }
                Err(e) => failures.push(e),
            }
        }
    }

    // After the last reload, every caller protocol lands on the last table.
    for (k, p) in Protocol::ALL.into_iter().enumerate() {
        let a = router.call(p, true, 990_000 + k).await.unwrap();
        assert_eq!(incomplete(p, &a), None, "{p:?}");
        assert_eq!(
            a.provider,
            ["a", "b"][current],
            "{p:?} after the last reload"
        );
    }

    // Each stream was served by the provider its response header names, in one attempt.
    let log = router.served_by();
    for (id, provider) in &ids {
        assert_eq!(log.get(id), Some(provider), "stream {id}");
    }

    let total = ids.len() + failures.len();
    latencies.sort();
    rejections.sort();
    in_flight_at_publish.sort();
    println!(
        "reload under load: {total} streams ({served:?}), {} failed; {VALID_RELOADS} reloads \
         with {}..{} requests in flight (median {}); compile+publish p50 {:?} p99 {:?} max {:?}; \
         {INVALID_RELOADS} rejected, compile p50 {:?} max {:?}",
        failures.len(),
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
        failures.is_empty(),
        "{} failed: {failures:#?}",
        failures.len()
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
    let env = env();
    let on_a = config(&base, "a", "stall-first=1500", "");
    let on_b = config(&base, "b", "stall-first=1500", "");
    let router = Arc::new(Router::start(mock, compile(&on_a, &env).unwrap()).await);
    for (k, p) in [Protocol::ChatCompletions, Protocol::Messages]
        .into_iter()
        .enumerate()
    {
        router.server.publish(compile(&on_a, &env).unwrap());
        let seen = router.mock.request_count();
        let id = 100 + k;
        let slow = tokio::spawn({
            let router = Arc::clone(&router);
            async move { router.call(p, false, id).await }
        });
        // Wait until the upstream holds the request, then move the model.
        let t0 = Instant::now();
        while router.mock.request_count() == seen {
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "request never reached a"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        router.server.publish(compile(&on_b, &env).unwrap());

        let fresh = router.call(p, false, 200 + k).await.unwrap();
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
        let log = router.served_by();
        assert_eq!(log.get(&id).map(String::as_str), Some("a"), "{p:?}");
        assert_eq!(log.get(&(200 + k)).map(String::as_str), Some("b"), "{p:?}");
    }
    // Each request reached the upstream exactly once: no retry, no re-route.
    assert_eq!(router.mock.requests().len(), 4);
}
