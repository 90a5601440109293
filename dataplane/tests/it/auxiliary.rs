//! The auxiliary endpoints real clients call: Anthropic `count_tokens` and Gemini
//! `countTokens` (forwarded to an endpoint of the caller's protocol, else a marked local
//! estimate), one model's description in each dialect, and query strings on model calls
//! (`/v1/messages?beta=true`, as Claude Code sends).

use crate::support::*;

const YAML: &str = r#"inherit_defaults: false
server: { skip_auth: true }
providers:
  msg: { api_base: "MOCK", api_key: msg-key, api_protocol: messages, allow_private: true, models: [{id: claude, upstream_id: up-claude}] }
  gem: { api_base: "MOCK", api_key: gem-key, api_protocol: generate_content, allow_private: true, models: [{id: gemini, upstream_id: up-gemini}] }
  chat: { api_base: "MOCK/v1", api_key: chat-key, api_protocol: chat_completions, allow_private: true, models: [{id: gpt, upstream_id: up-gpt}] }
"#;

const MSG_COUNT: &str = r#"{"model":"MODEL","messages":[{"role":"user","content":"How many tokens is this sentence, roughly?"}],"system":[{"type":"text","text":"Be terse.","cache_control":{"type":"ephemeral"}}],"tools":[{"name":"Bash","description":"Runs a command","input_schema":{"type":"object","properties":{"command":{"type":"string"}}}}]}"#;
const GEM_COUNT: &str = r#"{"contents":[{"role":"user","parts":[{"text":"How many tokens is this sentence, roughly?"}]}]}"#;
const GEM_COUNT_FULL: &str = r#"{"generateContentRequest":{"model":"models/MODEL","contents":[{"role":"user","parts":[{"text":"How many tokens is this sentence, roughly?"}]}]}}"#;

#[tokio::test]
async fn anthropic_count_tokens_is_forwarded_or_estimated() {
    let h = Harness::start(YAML).await;
    // An Anthropic endpoint: forwarded, with the upstream model and the provider's key.
    for path in [
        "/v1/messages/count_tokens",
        "/v1/messages/count_tokens?beta=true",
    ] {
        h.mock.reset();
        let r = h.post(path, &MSG_COUNT.replace("MODEL", "claude")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["input_tokens"], 42);
        assert!(r.header("x-bitrouter-token-count").is_none());
        let seen = h.mock.requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].path, "/v1/messages/count_tokens");
        let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
        assert_eq!(body["model"], "up-claude");
        assert_eq!(seen[0].header("x-api-key"), Some("msg-key"));
    }
    // No Anthropic endpoint on the route: an honest estimate, nothing sent upstream.
    h.mock.reset();
    let r = h
        .post(
            "/v1/messages/count_tokens",
            &MSG_COUNT.replace("MODEL", "gpt"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-bitrouter-token-count"), Some("estimate"));
    let n = r.json()["input_tokens"].as_u64().unwrap();
    assert!((10..200).contains(&n), "{n}");
    assert_eq!(h.mock.request_count(), 0);
    // Errors in Anthropic's shape: unknown model, wrong method.
    let r = h
        .post(
            "/v1/messages/count_tokens",
            &MSG_COUNT.replace("MODEL", "nope"),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), &r.json()["type"]),
        (404, &serde_json::json!("error"))
    );
    let r = h
        .send_exactly("GET", "/v1/messages/count_tokens", "", &[])
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["type"], "error");
}

#[tokio::test]
async fn gemini_count_tokens_is_forwarded_or_estimated() {
    let h = Harness::start(YAML).await;
    for (v, body) in [("v1beta", GEM_COUNT), ("v1", GEM_COUNT_FULL)] {
        h.mock.reset();
        let r = h
            .post(
                &format!("/{v}/models/gemini:countTokens"),
                &body.replace("MODEL", "gemini"),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["totalTokens"], 42);
        let seen = h.mock.requests();
        assert_eq!(seen.len(), 1);
        assert!(
            seen[0].path.ends_with("/models/up-gemini:countTokens"),
            "{}",
            seen[0].path
        );
        assert_eq!(seen[0].header("x-goog-api-key"), Some("gem-key"));
        if body == GEM_COUNT_FULL {
            let sent: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
            assert_eq!(sent["generateContentRequest"]["model"], "models/up-gemini");
        }
    }
    h.mock.reset();
    for body in [GEM_COUNT, GEM_COUNT_FULL] {
        let r = h
            .post(
                "/v1beta/models/claude:countTokens",
                &body.replace("MODEL", "claude"),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("x-bitrouter-token-count"), Some("estimate"));
        assert!(r.json()["totalTokens"].as_u64().unwrap() > 5);
    }
    assert_eq!(h.mock.request_count(), 0);
    let r = h.post("/v1beta/models/nope:countTokens", GEM_COUNT).await;
    assert_eq!(
        (r.status.as_u16(), &r.json()["error"]["status"]),
        (404, &serde_json::json!("NOT_FOUND"))
    );
}

#[tokio::test]
async fn one_model_in_each_dialect() {
    let h = Harness::start(YAML).await;
    let r = h
        .send_exactly("GET", "/v1beta/models/gemini", "", &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["name"], "models/gemini");
    assert!(
        j["supportedGenerationMethods"]
            .to_string()
            .contains("countTokens")
    );
    let r = h
        .send_exactly(
            "GET",
            "/v1/models/claude",
            "",
            &[("anthropic-version", "2023-06-01")],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), &r.json()["type"]),
        (200, &serde_json::json!("model"))
    );
    assert_eq!(r.json()["id"], "claude");
    let r = h
        .send_exactly("GET", "/v1/models/msg%3Aclaude", "", &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (&r.json()["object"], &r.json()["id"]),
        (
            &serde_json::json!("model"),
            &serde_json::json!("msg:claude")
        )
    );
    let r = h
        .send_exactly("GET", "/v1/models/gemini?key=abc", "", &[])
        .await;
    assert_eq!(r.json()["name"], "models/gemini");
    let r = h.send_exactly("GET", "/v1beta/models/nope", "", &[]).await;
    assert_eq!(
        (r.status.as_u16(), &r.json()["error"]["code"]),
        (404, &serde_json::json!(404))
    );
    let r = h.send_exactly("GET", "/v1/models/nope", "", &[]).await;
    assert_eq!(
        (r.status.as_u16(), &r.json()["error"]["code"]),
        (404, &serde_json::json!("model_not_found"))
    );
    // The list names countTokens too.
    let r = h.send_exactly("GET", "/v1beta/models", "", &[]).await;
    assert!(r.body.contains("countTokens"), "{}", r.body);
}

#[tokio::test]
async fn query_strings_do_not_change_model_calls() {
    let h = Harness::start(YAML).await;
    let (_, body) = request(Protocol::Messages, "claude", false);
    let r = h.post("/v1/messages?beta=true", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Hello!"));
    let r = h
        .post("/v1/messages?beta=true", &body.replace("claude", "gpt"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(h.mock.requests()[0].path, "/v1/messages");
}
