//! Translation through the real server: every caller × upstream pair against the mock, tool
//! calls, errors in the caller's envelope, failover across protocols, and what cannot be
//! expressed.

use crate::support::{Harness, Protocol, Reply, assert_clean_answer, base, request};

/// One provider speaking `p`, serving `alias` (upstream model `upstream`).
fn single(p: Protocol, upstream: &str, fault: &str) -> String {
    let b = base(p);
    let proto = p.as_str();
    format!(
        r#"inherit_defaults: false
server:
  skip_auth: true
  timeouts: {{ first_byte: 2s, idle: 700ms }}
providers:
  up: {{ api_base: "{b}", api_key: up-key, api_protocol: {proto}, allow_private: true, headers: {{ x-mock-fault: "{fault}" }}, models: [{{id: alias, upstream_id: {upstream}}}] }}
"#
    )
}

fn pairs() -> impl Iterator<Item = (Protocol, Protocol)> {
    Protocol::ALL
        .into_iter()
        .flat_map(|c| Protocol::ALL.into_iter().map(move |u| (c, u)))
        .filter(|(c, u)| c != u)
}

/// The mock's request log: the paths it was called on.
async fn upstream_paths(h: &Harness) -> Vec<String> {
    let log = h.mock.requests();
    log.iter().map(|r| r.path.clone()).collect()
}

#[tokio::test]
async fn every_cross_pair_answers_text_in_the_callers_protocol() {
    for (caller, up) in pairs() {
        let h = Harness::start(&single(up, "real-model", "")).await;
        for stream in [false, true] {
            let r = h.call(caller, "alias", stream).await;
            assert_clean_answer(caller, stream, &r);
            assert_eq!(r.header("x-bitrouter-provider"), Some("up"));
            if !stream {
                r.json();
            }
        }
        let paths = upstream_paths(&h).await;
        assert_eq!(paths.len(), 2, "{caller:?}→{up:?}: {paths:?}");
        let want = match up {
            Protocol::ChatCompletions => "/v1/chat/completions",
            Protocol::Responses => "/v1/responses",
            Protocol::Messages => "/v1/messages",
            Protocol::GenerateContent => "/models/real-model:",
        };
        assert!(
            paths.iter().all(|p| p.contains(want)),
            "{caller:?}→{up:?}: {paths:?}"
        );
    }
}

/// What a tool call looks like to each caller.
fn assert_tool_call(caller: Protocol, up: Protocol, stream: bool, r: &Reply) {
    let ctx = format!("{caller:?}←{up:?} stream={stream}: {}", r.body);
    assert_eq!(r.status, 200, "{ctx}");
    assert!(r.body.contains("get_weather"), "{ctx}");
    assert!(r.body.contains("Paris"), "{ctx}");
    let marker = match caller {
        Protocol::ChatCompletions => "\"finish_reason\":\"tool_calls\"",
        Protocol::Responses => "\"type\":\"function_call\"",
        Protocol::Messages => "\"stop_reason\":\"tool_use\"",
        Protocol::GenerateContent => "\"functionCall\"",
    };
    let compact = r.body.replace(": ", ":");
    assert!(compact.contains(marker), "{ctx}");
    assert!(!compact.contains("\"error\":{"), "{ctx}");
}

#[tokio::test]
async fn every_cross_pair_carries_a_tool_call() {
    for (caller, up) in pairs() {
        let h = Harness::start(&single(up, "tool-model", "")).await;
        for stream in [false, true] {
            let r = h.call(caller, "alias", stream).await;
            assert_tool_call(caller, up, stream, &r);
        }
    }
}

#[tokio::test]
async fn upstream_errors_arrive_in_the_callers_envelope_with_the_upstream_status() {
    for (caller, up) in pairs() {
        let h = Harness::start(&single(up, "real-model", "status=400")).await;
        let r = h.call(caller, "alias", false).await;
        assert_eq!(r.status, 400, "{caller:?}←{up:?}: {}", r.body);
        let v = r.json();
        match caller {
            Protocol::Messages => {
                assert_eq!(v["type"], "error");
                assert_eq!(v["error"]["type"], "invalid_request_error");
            }
            Protocol::GenerateContent => {
                assert_eq!(v["error"]["code"], 400);
                assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
            }
            _ => assert_eq!(v["error"]["type"], "invalid_request_error"),
        }
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

#[tokio::test]
async fn failover_crosses_protocols_before_commit() {
    // The first endpoint speaks Messages and fails; the second speaks Gemini.
    let yaml = r#"inherit_defaults: false
server:
  skip_auth: true
  timeouts: { first_byte: 2s, idle: 700ms }
  failover: { max_attempts: 3, breaker_failures: 100 }
providers:
  first: { api_base: "MOCK", api_key: k, api_protocol: messages, allow_private: true, headers: { x-mock-fault: "stream-error" }, models: [{id: m}] }
  second: { api_base: "MOCK", api_key: k, api_protocol: generate_content, allow_private: true, models: [{id: m}] }
models:
  chain: { strategy: priority, endpoints: [ {provider: first, model_id: m}, {provider: second, model_id: m} ] }
"#;
    let h = Harness::start(yaml).await;
    for caller in [Protocol::ChatCompletions, Protocol::Responses] {
        for stream in [false, true] {
            let r = h.call(caller, "chain", stream).await;
            assert_clean_answer(caller, stream, &r);
            assert_eq!(r.header("x-bitrouter-provider"), Some("second"));
        }
    }
}

#[tokio::test]
async fn a_cut_after_commit_ends_with_the_callers_terminal_error() {
    for (caller, up) in pairs() {
        // Enough events to pass the first content event, not enough to finish.
        let cut = match up {
            Protocol::GenerateContent => 1,
            Protocol::ChatCompletions => 2,
            Protocol::Messages => 4,
            Protocol::Responses => 5,
        };
        let fault = format!("cut-after={cut}");
        let h = Harness::start(&single(up, "real-model", &fault)).await;
        let r = h.call(caller, "alias", true).await;
        let ctx = format!("{caller:?}←{up:?}: {}", r.body);
        assert_eq!(r.status, 200, "{ctx}");
        assert!(r.body.contains("Hel"), "{ctx}");
        let terminal = match caller {
            Protocol::ChatCompletions => "data: {\"error\":",
            Protocol::Responses => "event: response.failed",
            Protocol::Messages => "event: error",
            Protocol::GenerateContent => "data: {\"error\":",
        };
        assert!(r.body.contains(terminal), "{ctx}");
        assert!(!r.body.contains("[DONE]"), "{ctx}");
    }
}

#[tokio::test]
async fn what_the_upstream_protocol_cannot_express_is_a_400_naming_it() {
    let h = Harness::start(&single(Protocol::ChatCompletions, "real-model", "")).await;
    let r = h
        .post(
            "/v1/responses",
            r#"{"model":"alias","input":"again","previous_response_id":"resp_1"}"#,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(msg.contains("previous_response_id"), "{msg}");
    assert!(msg.contains("chat_completions"), "{msg}");
    assert!(
        upstream_paths(&h).await.is_empty(),
        "nothing was sent upstream"
    );
}

#[tokio::test]
async fn a_request_the_caller_protocol_rejects_is_a_400_before_any_upstream() {
    let h = Harness::start(&single(Protocol::Messages, "real-model", "")).await;
    // Chat `messages` must be an array.
    let (path, _) = request(Protocol::ChatCompletions, "alias", false);
    let r = h.post(&path, r#"{"model":"alias","messages":"hi"}"#).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("messages")
    );
    assert!(upstream_paths(&h).await.is_empty());
}

#[tokio::test]
async fn gemini_callers_without_alt_sse_get_a_json_array() {
    for up in [
        Protocol::ChatCompletions,
        Protocol::Messages,
        Protocol::Responses,
    ] {
        let h = Harness::start(&single(up, "real-model", "")).await;
        let r = h
            .post(
                "/v1beta/models/alias:streamGenerateContent",
                r#"{"contents":[{"role":"user","parts":[{"text":"Say hello."}]}]}"#,
            )
            .await;
        assert_eq!(r.status, 200, "{up:?}: {}", r.body);
        let v = r.json();
        let chunks = v.as_array().unwrap();
        let text: String = chunks
            .iter()
            .filter_map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str())
            .collect();
        assert_eq!(text, "Hello!", "{up:?}: {}", r.body);
        let last = chunks.last().unwrap();
        assert_eq!(last["candidates"][0]["finishReason"], "STOP", "{}", r.body);
    }
}

#[tokio::test]
async fn chat_callers_get_the_usage_chunk_only_when_they_ask() {
    let h = Harness::start(&single(Protocol::Messages, "real-model", "")).await;
    let (path, _) = request(Protocol::ChatCompletions, "alias", true);
    let ask = r#"{"model":"alias","messages":[{"role":"user","content":"Say hello."}],"stream":true,"stream_options":{"include_usage":true}}"#;
    let r = h.post(&path, ask).await;
    assert_eq!(r.count("\"choices\":[],\"usage\":{"), 1, "{}", r.body);
    assert!(r.body.trim_end().ends_with("data: [DONE]"), "{}", r.body);
    let r = h.call(Protocol::ChatCompletions, "alias", true).await;
    assert!(!r.body.contains("\"usage\""), "{}", r.body);
    // The router always asks the upstream for usage when it speaks Chat.
    let h = Harness::start(&single(Protocol::ChatCompletions, "real-model", "")).await;
    let r = h.call(Protocol::Messages, "alias", true).await;
    assert!(r.body.contains("\"output_tokens\":"), "{}", r.body);
    let sent = h.mock.requests();
    let body = String::from_utf8_lossy(&sent[0].body).into_owned();
    assert!(body.contains("\"include_usage\":true"), "{body}");
}

#[tokio::test]
async fn tool_names_too_long_for_the_upstream_are_shortened() {
    let h = Harness::start(&single(Protocol::ChatCompletions, "tool-model", "")).await;
    let long = format!("mcp__filesystem__{}", "read_".repeat(14));
    let body = format!(
        r#"{{"model":"alias","max_tokens":64,"messages":[{{"role":"user","content":"go"}}],"tools":[{{"name":"{long}","input_schema":{{"type":"object"}}}}],"tool_choice":{{"type":"tool","name":"{long}"}}}}"#
    );
    let r = h.post("/v1/messages", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sent: serde_json::Value = serde_json::from_slice(&h.mock.requests()[0].body).unwrap();
    let name = sent["tools"][0]["function"]["name"].as_str().unwrap();
    assert!(
        name.len() <= 64 && name.starts_with("mcp__filesystem__read_"),
        "{name}"
    );
    assert_eq!(sent["tool_choice"]["function"]["name"], name);
}

#[tokio::test]
async fn a_silent_committed_stream_gets_keepalives_in_the_callers_protocol() {
    // Idle timeout 2 s, so a keep-alive is due after 1 s of silence; the mock stalls 1.5 s
    // after its first content event.
    let yaml = |p: Protocol| {
        format!(
            r#"inherit_defaults: false
server:
  skip_auth: true
  timeouts: {{ first_byte: 2s, idle: 2s }}
providers:
  up: {{ api_base: "{}", api_key: k, api_protocol: {}, allow_private: true, headers: {{ x-mock-fault: "stall-mid=1500" }}, models: [{{id: alias, upstream_id: m}}] }}
"#,
            base(p),
            p.as_str()
        )
    };
    for up in [Protocol::Messages, Protocol::ChatCompletions] {
        let h = Harness::start(&yaml(up)).await;
        for caller in Protocol::ALL {
            let r = h.call(caller, "alias", true).await;
            assert_clean_answer(caller, true, &r);
            let ping = match caller {
                Protocol::ChatCompletions | Protocol::Responses => Some(": ping\n\n"),
                Protocol::Messages => Some("event: ping\n"),
                Protocol::GenerateContent => None,
            };
            match ping {
                Some(p) => assert!(r.body.contains(p), "{caller:?}←{up:?}: {}", r.body),
                None => assert!(!r.body.contains("ping"), "{caller:?}←{up:?}: {}", r.body),
            }
        }
    }
}

#[tokio::test]
async fn dropped_fields_are_named_and_strict_refuses_them() {
    // (caller, upstream, path, body, what is dropped)
    let cases = [
        (
            Protocol::Messages,
            Protocol::ChatCompletions,
            "/v1/messages",
            r#"{"model":"alias","max_tokens":64,"top_k":5,"messages":[{"role":"user","content":"hi"}]}"#,
            "top_k",
        ),
        (
            Protocol::GenerateContent,
            Protocol::Responses,
            "/v1beta/models/alias:generateContent",
            r#"{"contents":[{"parts":[{"text":"hi"}]}],"tools":[{"googleSearch":{}}],"generationConfig":{"topK":64}}"#,
            "googleSearch, top_k",
        ),
        (
            Protocol::Responses,
            Protocol::Messages,
            "/v1/responses",
            r#"{"model":"alias","input":"hi","tools":[{"type":"web_search","external_web_access":true}]}"#,
            "web_search",
        ),
    ];
    for (caller, up, path, body, dropped) in cases {
        let lenient = single(up, "real-model", "");
        let h = Harness::start(&lenient).await;
        let r = h.post(path, body).await;
        assert_eq!(r.status, 200, "{caller:?}→{up:?}: {}", r.body);
        assert_eq!(
            r.header("x-bitrouter-dropped"),
            Some(dropped),
            "{caller:?}→{up:?}"
        );
        let sent = String::from_utf8_lossy(&h.mock.requests()[0].body).into_owned();
        for name in dropped.split(", ") {
            assert!(
                !sent.contains(name),
                "{caller:?}→{up:?}: `{name}` reached the upstream: {sent}"
            );
        }
        let strict = lenient.replace("skip_auth: true", "skip_auth: true\n  translation: strict");
        let h = Harness::start(&strict).await;
        let r = h.post(path, body).await;
        assert_eq!(r.status, 400, "{caller:?}→{up:?}: {}", r.body);
        let first = dropped.split(", ").next().unwrap_or_default();
        assert!(r.body.contains(first), "{caller:?}→{up:?}: {}", r.body);
        assert!(r.header("x-bitrouter-dropped").is_none());
        assert_eq!(h.mock.request_count(), 0, "{caller:?}→{up:?}");
    }
    // Nothing dropped, no header.
    let h = Harness::start(&single(Protocol::ChatCompletions, "real-model", "")).await;
    let r = h.call(Protocol::Messages, "alias", false).await;
    assert_eq!(r.status, 200);
    assert!(r.header("x-bitrouter-dropped").is_none());
}
