//! Failover before the commit point is invisible; non-retryable answers are not retried;
//! breakers and `Retry-After` keep failing endpoints out of the way.

use crate::support::*;

const STREAM_AND_NOT: [bool; 2] = [false, true];

/// Every retryable class, on an endpoint of each protocol, streaming and not: the client sees
/// one clean answer served by the second endpoint.
#[tokio::test]
async fn every_retryable_failure_fails_over_invisibly() {
    let faults: &[(&str, bool)] = &[
        // (fault, applies to streams only)
        ("status=500", false),
        ("status=503", false),
        ("status=502", false),
        ("status=408", false),
        ("status=429", false),
        // That account is out of credit (OpenRouter's answer): another may not be.
        ("status=402", false),
        ("drop", false),
        ("stall-first=3000", false),
        ("malformed", false),
        ("stream-error", true),
        ("cut-after=0", true),
        // After the lifecycle frames (Gemini has none: its first event is content).
        ("cut-after=1", true),
    ];
    for p in Protocol::ALL {
        for &(fault, stream_only) in faults {
            let h = Harness::start(&chain(p, fault, "m", "")).await;
            for stream in STREAM_AND_NOT {
                if stream_only && !stream
                    || fault == "cut-after=1" && p == Protocol::GenerateContent
                {
                    continue;
                }
                let r = h.call(p, "chain", stream).await;
                assert_clean_answer(p, stream, &r);
                assert_eq!(
                    r.header("x-bitrouter-provider"),
                    Some("second"),
                    "{p:?} {fault} stream={stream}"
                );
            }
        }
    }
}

#[tokio::test]
async fn connect_errors_fail_over() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    for p in Protocol::ALL {
        let yaml = chain(p, "", "m", "").replacen(
            "api_base: \"MOCK",
            &format!("api_base: \"http://{closed}"),
            1,
        );
        let h = Harness::start(&yaml).await;
        for stream in STREAM_AND_NOT {
            let r = h.call(p, "chain", stream).await;
            assert_clean_answer(p, stream, &r);
        }
    }
}

#[tokio::test]
async fn client_errors_are_returned_as_they_are_without_failover() {
    for p in Protocol::ALL {
        for status in [400, 401, 403, 404, 422] {
            let h = Harness::start(&chain(p, &format!("status={status}"), "m", "")).await;
            for stream in STREAM_AND_NOT {
                h.mock.reset();
                let r = h.call(p, "chain", stream).await;
                assert_eq!(r.status, status, "{p:?}: {}", r.body);
                let v = r.json();
                match p {
                    Protocol::Messages => assert_eq!(v["type"], "error"),
                    _ => assert!(v["error"].is_object(), "{}", r.body),
                }
                assert_eq!(
                    h.mock.request_count(),
                    1,
                    "{p:?} {status}: no second attempt"
                );
            }
        }
    }
}

#[tokio::test]
async fn exhausted_chain_returns_the_last_upstream_error() {
    let yaml = chain(Protocol::ChatCompletions, "status=503", "m", "").replace(
        "second: { api_base",
        "second: { headers: { x-mock-fault: \"status=529\" }, api_base",
    );
    let h = Harness::start(&yaml).await;
    let r = h.call(Protocol::ChatCompletions, "chain", false).await;
    assert_eq!(r.status, 529, "{}", r.body);
    assert!(r.json()["error"]["message"].is_string());
}

#[tokio::test]
async fn max_attempts_bounds_the_chain() {
    let yaml = r#"inherit_defaults: false
server: { skip_auth: true, failover: { max_attempts: 2, breaker_failures: 100 } }
providers:
  a: { api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, headers: { x-mock-fault: "status=500" }, models: [{id: m}] }
  b: { api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, headers: { x-mock-fault: "status=500" }, models: [{id: m}] }
  c: { api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, models: [{id: m}] }
models:
  chain: { endpoints: [ {provider: a, model_id: m}, {provider: b, model_id: m}, {provider: c, model_id: m} ] }
"#;
    let h = Harness::start(yaml).await;
    let r = h.call(Protocol::ChatCompletions, "chain", false).await;
    assert_eq!(r.status, 500);
    assert_eq!(h.mock.request_count(), 2);
}

#[tokio::test]
async fn retry_after_cools_the_endpoint_down() {
    let h = Harness::start(&chain(
        Protocol::ChatCompletions,
        "status=429;retry-after=30",
        "m",
        "",
    ))
    .await;
    let r = h.call(Protocol::ChatCompletions, "chain", false).await;
    assert_clean_answer(Protocol::ChatCompletions, false, &r);
    assert_eq!(h.mock.request_count(), 2);
    h.mock.reset();
    let r = h.call(Protocol::ChatCompletions, "chain", false).await;
    assert_clean_answer(Protocol::ChatCompletions, false, &r);
    assert_eq!(h.mock.request_count(), 1, "the cooling endpoint is skipped");
}

#[tokio::test]
async fn breaker_opens_after_consecutive_failures() {
    let yaml = chain(Protocol::Messages, "status=500", "m", "").replace(
        "breaker_failures: 100",
        "breaker_failures: 2, breaker_cooldown: 1m",
    );
    let h = Harness::start(&yaml).await;
    for _ in 0..2 {
        assert_eq!(h.call(Protocol::Messages, "chain", false).await.status, 200);
    }
    h.mock.reset();
    assert_eq!(h.call(Protocol::Messages, "chain", true).await.status, 200);
    assert_eq!(
        h.mock.request_count(),
        1,
        "open breaker: first endpoint skipped"
    );
}

#[tokio::test]
async fn all_endpoints_cooling_down_is_503_with_retry_after() {
    let yaml = r#"inherit_defaults: false
server: { skip_auth: true }
providers:
  a: { api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, headers: { x-mock-fault: "status=429;retry-after=20" }, models: [{id: m}] }
"#;
    let h = Harness::start(yaml).await;
    let r = h.call(Protocol::ChatCompletions, "a:m", false).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("20"));
    let r = h.call(Protocol::ChatCompletions, "a:m", false).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    assert_eq!(h.mock.request_count(), 1);
}

#[tokio::test]
async fn round_robin_spreads_the_start() {
    let yaml = r#"inherit_defaults: false
server: { skip_auth: true }
providers:
  a: { api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, models: [{id: m}] }
  b: { api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, models: [{id: m}] }
models:
  rr: { strategy: round_robin, endpoints: [ {provider: a, model_id: m}, {provider: b, model_id: m} ] }
"#;
    let h = Harness::start(yaml).await;
    let mut served = Vec::new();
    for _ in 0..4 {
        let r = h.call(Protocol::ChatCompletions, "rr", false).await;
        served.push(r.header("x-bitrouter-provider").unwrap().to_owned());
    }
    assert!(
        served.contains(&"a".to_owned()) && served.contains(&"b".to_owned()),
        "{served:?}"
    );
}

/// A failing first endpoint cannot double the load: failovers stop at the retry budget
/// (10 a second plus a fifth of requests) and the rest get the first endpoint's error.
#[tokio::test]
async fn retry_budget_limits_failovers_in_an_outage() {
    let h = Harness::start(&chain(Protocol::ChatCompletions, "status=503", "m", "")).await;
    let started = std::time::Instant::now();
    let mut served_by_second = 0;
    let mut refused = 0;
    for _ in 0..60 {
        let r = h.call(Protocol::ChatCompletions, "chain", false).await;
        match r.status.as_u16() {
            200 => served_by_second += 1,
            503 => refused += 1,
            s => panic!("unexpected {s}: {}", r.body),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let allowed = 10.0 + 60.0 * 0.2 + 10.0 * secs + 1.0;
    assert!(
        f64::from(served_by_second) <= allowed,
        "{served_by_second} failovers in {secs:.2}s"
    );
    if secs < 1.5 {
        assert!(
            refused > 0,
            "no request was refused a failover in {secs:.2}s"
        );
    }
}

/// A stream is judged at its end, not at its commit point: an endpoint that commits and then
/// cuts every stream after its first token is failing, and its breaker opens (once, at the end
/// of each stream, as linkerd classifies responses).
#[tokio::test]
async fn an_endpoint_that_cuts_every_stream_after_its_first_token_opens_its_breaker() {
    for p in Protocol::ALL {
        // Through the first content event: the stream commits, then the upstream cuts it.
        let cut = match p {
            Protocol::GenerateContent => 1,
            Protocol::ChatCompletions => 2,
            Protocol::Messages => 4,
            Protocol::Responses => 5,
        };
        let yaml = chain(p, &format!("cut-after={cut}"), "m", "").replace(
            "breaker_failures: 100",
            "breaker_failures: 2, breaker_cooldown: 1m",
        );
        let h = Harness::start(&yaml).await;
        for i in 0..2 {
            let r = h.call(p, "chain", true).await;
            assert_eq!(r.status, 200, "{p:?} #{i}");
            assert_eq!(
                r.header("x-bitrouter-provider"),
                Some("first"),
                "{p:?} #{i}: committed on the first endpoint"
            );
            assert!(
                r.body.contains("error"),
                "{p:?}: the stream was cut: {}",
                r.body
            );
        }
        h.mock.reset();
        let r = h.call(p, "chain", true).await;
        assert_clean_answer(p, true, &r);
        assert_eq!(r.header("x-bitrouter-provider"), Some("second"), "{p:?}");
        assert_eq!(
            h.mock.request_count(),
            1,
            "{p:?}: the open breaker skipped the first endpoint"
        );
    }
}
