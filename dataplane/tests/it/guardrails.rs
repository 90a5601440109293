//! Guardrails through the real server, for every caller protocol × every upstream protocol,
//! streamed and not: a request rule redacts what the upstream sees or blocks before any
//! upstream call; an answer rule redacts the answer (the mock streams "Hello!" as "Hel" +
//! "lo!", so the match spans two deltas) or blocks it with a clean 400 that counts nothing
//! against the endpoint; tool-call arguments stay valid JSON when redacted; a webhook rule
//! decides, and a failing one fails open or closed as configured; matches are counted.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::*;

/// One provider per protocol (model `m`, and `tool-m`, which answers a tool call), and `rules`.
fn config(rules: &str) -> String {
    format!(
        r#"inherit_defaults: false
server:
  skip_auth: true
  timeouts: {{ first_byte: 5s, idle: 5s }}
  failover: {{ max_attempts: 2, breaker_failures: 1 }}
providers:
  chat_completions: {{ api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, models: [{{id: m}}, {{id: tool-m}}] }}
  responses: {{ api_base: "MOCK/v1", api_key: k, api_protocol: responses, allow_private: true, models: [{{id: m}}, {{id: tool-m}}] }}
  messages: {{ api_base: "MOCK", api_key: k, api_protocol: messages, allow_private: true, models: [{{id: m}}, {{id: tool-m}}] }}
  generate_content: {{ api_base: "MOCK", api_key: k, api_protocol: generate_content, allow_private: true, models: [{{id: m}}, {{id: tool-m}}] }}
plugins:
  bitrouter-guardrails:
    rules:
{rules}
"#
    )
}

/// `provider:model` for the provider speaking `upstream`.
fn model(upstream: Protocol, m: &str) -> String {
    format!("{}:{m}", upstream.as_str())
}

fn error_type(p: Protocol, r: &Reply) -> String {
    let v = r.json();
    match p {
        Protocol::GenerateContent => v["error"]["status"].as_str().unwrap_or("").to_owned(),
        _ => v["error"]["type"].as_str().unwrap_or("").to_owned(),
    }
}

fn invalid(p: Protocol) -> &'static str {
    match p {
        Protocol::GenerateContent => "INVALID_ARGUMENT",
        _ => "invalid_request_error",
    }
}

/// The caller's stream has one lifecycle and one clean end.
fn assert_whole_stream(p: Protocol, r: &Reply) {
    let (lifecycle, end) = match p {
        Protocol::ChatCompletions => ("\"role\":\"assistant\"", "data: [DONE]"),
        Protocol::Responses => ("event: response.created", "event: response.completed"),
        Protocol::Messages => ("event: message_start", "event: message_stop"),
        Protocol::GenerateContent => ("\"finishReason\"", "\"finishReason\""),
    };
    assert_eq!(r.count(lifecycle), 1, "{p:?}: {}", r.body);
    assert_eq!(r.count(end), 1, "{p:?}: {}", r.body);
    assert!(!r.body.contains("\"error\":{"), "{p:?}: {}", r.body);
}

#[tokio::test]
async fn request_rules_redact_what_the_upstream_sees_or_block_before_it() {
    let h = Harness::start(&config(
        r#"      - { name: ask, pattern: "(?i)say hello", on: request, action: redact }"#,
    ))
    .await;
    for p in Protocol::ALL {
        for q in Protocol::ALL {
            for stream in [false, true] {
                h.mock.reset();
                let r = h.call(p, &model(q, "m"), stream).await;
                assert_eq!(r.status, 200, "{p:?}→{q:?} stream={stream}: {}", r.body);
                let seen = h.mock.requests();
                assert_eq!(seen.len(), 1);
                let body = String::from_utf8_lossy(&seen[0].body);
                assert!(body.contains("[REDACTED:ask]"), "{p:?}→{q:?}: {body}");
                assert!(!body.to_lowercase().contains("say hello"), "{body}");
            }
        }
    }
    let s = h.server.scrape();
    assert!(
        s.contains(
            r#"bitrouter_guardrail_checks_total{rule="ask",phase="request",action="redact"} 32"#
        ),
        "{s}"
    );

    let h = Harness::start(&config(
        r#"      - { name: ask, pattern: "(?i)say hello", on: request, action: block }"#,
    ))
    .await;
    for p in Protocol::ALL {
        for stream in [false, true] {
            let r = h.call(p, &model(Protocol::Messages, "m"), stream).await;
            assert_eq!(r.status, 400, "{p:?}: {}", r.body);
            assert_eq!(error_type(p, &r), invalid(p), "{p:?}: {}", r.body);
            assert!(r.body.contains("`ask`"), "{}", r.body);
            assert!(!r.body.to_lowercase().contains("say hello"), "{}", r.body);
        }
    }
    assert_eq!(h.mock.request_count(), 0, "nothing went upstream");
}

#[tokio::test]
async fn answer_rules_redact_a_match_split_across_deltas_in_every_pair() {
    let h = Harness::start(&config(
        r#"      - { name: greet, pattern: "Hello", on: response, action: redact }"#,
    ))
    .await;
    for p in Protocol::ALL {
        for q in Protocol::ALL {
            for stream in [false, true] {
                let r = h.call(p, &model(q, "m"), stream).await;
                assert_eq!(r.status, 200, "{p:?}→{q:?} stream={stream}: {}", r.body);
                assert!(
                    r.body.contains("[REDACTED:greet]"),
                    "{p:?}→{q:?} stream={stream}: {}",
                    r.body
                );
                assert!(!r.body.contains("Hello"), "{}", r.body);
                assert!(
                    !r.body.contains("Hel\""),
                    "no part of the match: {}",
                    r.body
                );
                if stream {
                    assert_whole_stream(p, &r);
                }
            }
        }
    }
}

#[tokio::test]
async fn a_gemini_caller_without_sse_gets_a_redacted_json_array() {
    let h = Harness::start(&config(
        r#"      - { name: greet, pattern: "Hello", on: response, action: redact }"#,
    ))
    .await;
    let body = r#"{"contents":[{"role":"user","parts":[{"text":"Say hello."}]}]}"#;
    for q in Protocol::ALL {
        let path = format!("/v1beta/models/{}:streamGenerateContent", model(q, "m"));
        let r = h.post(&path, body).await;
        assert_eq!(r.status, 200, "{q:?}: {}", r.body);
        let v: serde_json::Value =
            serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{q:?}: {e}: {}", r.body));
        let text: String = v
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str())
            .collect();
        assert_eq!(text, "[REDACTED:greet]!", "{q:?}: {}", r.body);
    }
}

#[tokio::test]
async fn a_blocked_answer_is_a_clean_400_that_never_opens_a_breaker() {
    let h = Harness::start(&config(
        r#"      - { name: greet, pattern: "Hello", on: response, action: block }"#,
    ))
    .await;
    for p in Protocol::ALL {
        for q in Protocol::ALL {
            for stream in [false, true] {
                let r = h.call(p, &model(q, "m"), stream).await;
                assert_eq!(r.status, 400, "{p:?}→{q:?} stream={stream}: {}", r.body);
                assert_eq!(error_type(p, &r), invalid(p), "{p:?}: {}", r.body);
                assert!(r.body.contains("`greet`"), "{}", r.body);
                assert!(!r.body.contains("Hel"), "{}", r.body);
            }
        }
    }
    // `breaker_failures: 1`: one failure would have opened a breaker.
    let s = h.server.scrape();
    let breakers: Vec<&str> = s
        .lines()
        .filter(|l| l.starts_with("bitrouter_breaker_open{"))
        .collect();
    assert_eq!(breakers.len(), 8, "{s}");
    assert!(breakers.iter().all(|l| l.ends_with(" 0")), "{s}");
    assert!(
        s.contains(r#"bitrouter_upstream_attempts_total{provider="messages",result="blocked"} 8"#),
        "{s}"
    );
    let ok = |l: &&str| {
        l.starts_with("bitrouter_upstream_attempts_total") && l.contains(r#"result="ok""#)
    };
    assert!(!s.lines().any(|l| ok(&l)), "{s}");
    assert_eq!(
        h.mock.request_count(),
        32,
        "every call reached its endpoint once"
    );
}

#[tokio::test]
async fn redacted_tool_arguments_stay_valid_json() {
    let h = Harness::start(&config(
        r#"      - { name: city, pattern: "Paris", on: response, action: redact, replacement: "<\"city\">" }"#,
    ))
    .await;
    for p in Protocol::ALL {
        for q in Protocol::ALL {
            let r = h.call(p, &model(q, "tool-m"), false).await;
            assert_eq!(r.status, 200, "{p:?}→{q:?}: {}", r.body);
            let v = r.json();
            let args: serde_json::Value = match p {
                Protocol::ChatCompletions => serde_json::from_str(
                    v["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
                        .as_str()
                        .unwrap(),
                )
                .unwrap(),
                Protocol::Responses => {
                    let call = v["output"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|o| o["type"] == "function_call")
                        .unwrap();
                    serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap()
                }
                Protocol::Messages => {
                    let call = v["content"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|c| c["type"] == "tool_use")
                        .unwrap();
                    call["input"].clone()
                }
                Protocol::GenerateContent => {
                    let part = v["candidates"][0]["content"]["parts"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|p| p.get("functionCall").is_some())
                        .unwrap();
                    part["functionCall"]["args"].clone()
                }
            };
            assert_eq!(args["location"], r#"<"city">"#, "{p:?}→{q:?}: {}", r.body);
            let r = h.call(p, &model(q, "tool-m"), true).await;
            assert_eq!(r.status, 200, "{p:?}→{q:?}: {}", r.body);
            assert!(!r.body.contains("Paris"), "{p:?}→{q:?}: {}", r.body);
            assert!(r.body.contains("city"), "{p:?}→{q:?}: {}", r.body);
            assert_whole_stream(p, &r);
        }
    }
}

/// A webhook service on loopback: flags any request whose texts mention `forbidden`; counts
/// the calls it got.
async fn verdicts() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/check", l.local_addr().unwrap());
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n = std::sync::Arc::clone(&calls);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let n = std::sync::Arc::clone(&n);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let body = loop {
                    let Ok(k) = s.read(&mut chunk).await else {
                        return;
                    };
                    if k == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..k]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len: usize = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break text[end + 4..].to_owned();
                        }
                    }
                };
                n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(v["phase"], "request");
                assert_eq!(v["rule"], "moderation");
                let flagged = v["texts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t.as_str().unwrap_or("").contains("forbidden"));
                let answer = format!("{{\"flagged\":{flagged}}}");
                let res = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = s.write_all(res.as_bytes()).await;
            });
        }
    });
    (url, calls)
}

#[tokio::test]
async fn a_webhook_rule_decides_and_fails_open_or_closed() {
    let (url, calls) = verdicts().await;
    let rule = |url: &str, on_error: &str| {
        format!(
            r#"      - {{ name: moderation, webhook: {{ url: "{url}", timeout: 2s, on_error: {on_error}, allow_private: true }}, on: request, action: block }}"#
        )
    };
    let h = Harness::start(&config(&rule(&url, "fail_closed"))).await;
    let r = h.call(Protocol::ChatCompletions, "messages:m", false).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r#"{"model":"messages:m","messages":[{"role":"user","content":"tell me the forbidden thing"}]}"#;
    let r = h.post("/v1/chat/completions", body).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("`moderation`"), "{}", r.body);
    assert!(!r.body.contains("forbidden"), "{}", r.body);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(
        h.mock.request_count(),
        1,
        "the flagged request never went upstream"
    );

    // Nothing listens on the port of a listener that is gone.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://{}/check", l.local_addr().unwrap())
    };
    let h = Harness::start(&config(&rule(&dead, "fail_closed"))).await;
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        h.call(Protocol::Messages, "messages:m", false),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.json()["type"], "error", "{}", r.body);
    assert_eq!(h.mock.request_count(), 0);
    let s = h.server.scrape();
    assert!(
        s.contains(r#"bitrouter_guardrail_webhook_failures_total{rule="moderation",on_error="fail_closed"} 1"#),
        "{s}"
    );
    let h = Harness::start(&config(&rule(&dead, "fail_open"))).await;
    let r = h.call(Protocol::GenerateContent, "messages:m", false).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn rules_apply_only_to_the_models_they_name() {
    let h = Harness::start(&config(
        r#"      - { name: greet, pattern: "Hello", on: response, action: redact, models: ["responses:*"] }"#,
    ))
    .await;
    let r = h
        .call(Protocol::ChatCompletions, "responses:m", false)
        .await;
    assert!(r.body.contains("[REDACTED:greet]"), "{}", r.body);
    let r = h.call(Protocol::ChatCompletions, "messages:m", false).await;
    assert!(r.body.contains("Hello!"), "{}", r.body);
}
