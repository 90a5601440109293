//! Same-protocol calls: what reaches the upstream, what comes back, and how a stream that
//! fails after the commit point ends.

use crate::support::*;

fn single(p: Protocol, fault: &str, extra_server: &str) -> String {
    let b = base(p);
    let proto = p.as_str();
    format!(
        r#"inherit_defaults: false
server:
  skip_auth: true
  timeouts: {{ first_byte: 2s, idle: 400ms }}
{extra_server}
providers:
  up: {{ api_base: "{b}", api_key: up-key, api_protocol: {proto}, allow_private: true, headers: {{ x-mock-fault: "{fault}" }}, models: [{{id: alias, upstream_id: real-model}}] }}
"#
    )
}

#[tokio::test]
async fn upstream_gets_its_own_key_and_model_never_the_callers() {
    for p in Protocol::ALL {
        let h = Harness::start(&single(p, "", "")).await;
        let (path, body) = request(p, "alias", false);
        let r = h
            .send(
                "POST",
                &path,
                &body,
                &[
                    ("authorization", "Bearer caller-secret"),
                    ("x-api-key", "caller-secret"),
                    ("x-goog-api-key", "caller-secret"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{p:?}: {}", r.body);
        assert_eq!(r.header("x-bitrouter-model"), Some("real-model"));
        let seen = &h.mock.requests()[0];
        for (name, value) in &seen.headers {
            assert!(!value.contains("caller-secret"), "{p:?}: {name} forwarded");
        }
        match p {
            Protocol::ChatCompletions | Protocol::Responses => {
                assert_eq!(seen.header("authorization"), Some("Bearer up-key"))
            }
            Protocol::Messages => {
                assert_eq!(seen.header("x-api-key"), Some("up-key"));
                assert!(seen.header("anthropic-version").is_some());
            }
            Protocol::GenerateContent => {
                assert_eq!(seen.header("x-goog-api-key"), Some("up-key"));
                assert!(
                    seen.path.contains("/models/real-model:generateContent"),
                    "{}",
                    seen.path
                );
            }
        }
        if p != Protocol::GenerateContent {
            assert_eq!(seen.json().unwrap()["model"], "real-model");
        }
    }
}

#[tokio::test]
async fn anthropic_version_and_beta_are_forwarded() {
    let h = Harness::start(&single(Protocol::Messages, "", "")).await;
    let (path, body) = request(Protocol::Messages, "alias", false);
    let r = h
        .send(
            "POST",
            &path,
            &body,
            &[
                ("anthropic-version", "2026-10-21"),
                ("anthropic-beta", "x-1"),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    let seen = &h.mock.requests()[0];
    assert_eq!(seen.header("anthropic-version"), Some("2026-10-21"));
    assert_eq!(seen.header("anthropic-beta"), Some("x-1"));
}

#[tokio::test]
async fn chat_streams_ask_for_usage_and_strip_it_unless_the_caller_asked() {
    let h = Harness::start(&single(Protocol::ChatCompletions, "", "")).await;
    let r = h.call(Protocol::ChatCompletions, "alias", true).await;
    assert_clean_answer(Protocol::ChatCompletions, true, &r);
    assert!(!r.body.contains("\"choices\":[]"), "{}", r.body);
    let sent = h.mock.requests()[0].json().unwrap();
    assert_eq!(sent["stream_options"]["include_usage"], true);

    let body =
        r#"{"model":"alias","messages":[],"stream":true,"stream_options":{"include_usage":true}}"#;
    let r = h.post("/v1/chat/completions", body).await;
    assert_eq!(r.count("\"choices\":[]"), 1, "{}", r.body);
    assert!(r.body.ends_with("data: [DONE]\n\n"));
}

/// After the first content event, a cut ends the stream with the caller protocol's terminal
/// error frame — never a clean-looking stop.
#[tokio::test]
async fn cut_after_commit_ends_with_the_protocols_error_frame() {
    for (p, cut) in [
        (Protocol::ChatCompletions, 2),
        (Protocol::Responses, 5),
        (Protocol::Messages, 4),
        (Protocol::GenerateContent, 1),
    ] {
        for fault in [format!("cut-after={cut}"), "stall-mid=3000".to_owned()] {
            let h = Harness::start(&single(p, &fault, "")).await;
            let r = h.call(p, "alias", true).await;
            assert_eq!(r.status, 200, "{p:?}");
            assert!(r.body.contains("Hel"), "{p:?} {fault}: {}", r.body);
            let tail = r.body.trim_end();
            match p {
                Protocol::ChatCompletions => {
                    assert!(tail.ends_with("}}"), "{}", r.body);
                    assert!(
                        tail.rsplit("\n\n")
                            .next()
                            .unwrap()
                            .starts_with("data: {\"error\":")
                    );
                    assert!(!r.body.contains("[DONE]"));
                }
                Protocol::Responses => {
                    let last = tail.rsplit("\n\n").next().unwrap();
                    assert!(last.starts_with("event: response.failed\n"), "{}", r.body);
                    assert!(!r.body.contains("response.completed"));
                }
                Protocol::Messages => {
                    let last = tail.rsplit("\n\n").next().unwrap();
                    assert!(last.starts_with("event: error\n"), "{}", r.body);
                    assert!(!r.body.contains("message_stop"));
                }
                Protocol::GenerateContent => {
                    let tail = tail.replace("\r\n", "\n");
                    let last = tail.rsplit("\n\n").next().unwrap();
                    assert!(last.starts_with("data: {\"error\":"), "{}", r.body);
                }
            }
        }
    }
}

#[tokio::test]
async fn responses_failed_frame_continues_the_sequence() {
    let h = Harness::start(&single(Protocol::Responses, "cut-after=5", "")).await;
    let r = h.call(Protocol::Responses, "alias", true).await;
    let mut seqs = Vec::new();
    for block in r.body.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let data = block.split_once("data: ").unwrap().1;
        let v: serde_json::Value = serde_json::from_str(data).unwrap();
        seqs.push(v["sequence_number"].as_u64().unwrap());
    }
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
}

#[tokio::test]
async fn gemini_without_alt_sse_answers_a_json_array() {
    let h = Harness::start(&single(Protocol::GenerateContent, "", "")).await;
    for v in ["v1", "v1beta"] {
        let r = h
            .post(
                &format!("/{v}/models/alias:streamGenerateContent"),
                r#"{"contents":[]}"#,
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let arr = r.json();
        assert_eq!(arr.as_array().unwrap().len(), 2, "{}", r.body);
    }
    let h = Harness::start(&single(Protocol::GenerateContent, "cut-after=1", "")).await;
    let r = h
        .post(
            "/v1/models/alias:streamGenerateContent",
            r#"{"contents":[]}"#,
        )
        .await;
    let arr = r.json();
    assert!(
        arr.as_array().unwrap().last().unwrap()["error"].is_object(),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn unknown_model_is_404_in_the_callers_shape_with_a_suggestion() {
    let h = Harness::start(&single(Protocol::ChatCompletions, "", "")).await;
    for p in Protocol::ALL {
        let r = h.call(p, "alais", false).await;
        assert_eq!(r.status, 404, "{p:?}");
        let v = r.json();
        let msg = match p {
            Protocol::Messages => {
                assert_eq!(v["error"]["type"], "not_found_error");
                v["error"]["message"].as_str().unwrap().to_owned()
            }
            Protocol::GenerateContent => {
                assert_eq!(v["error"]["status"], "NOT_FOUND");
                v["error"]["message"].as_str().unwrap().to_owned()
            }
            _ => {
                assert_eq!(v["error"]["code"], "model_not_found");
                v["error"]["message"].as_str().unwrap().to_owned()
            }
        };
        assert!(msg.contains("did you mean `alias`"), "{msg}");
    }
}

#[tokio::test]
async fn models_health_and_ready() {
    let h = Harness::start(&single(Protocol::ChatCompletions, "", "")).await;
    let r = h.send("GET", "/v1/models", "", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"][0]["id"], "alias");
    let r = h
        .send(
            "GET",
            "/v1/models",
            "",
            &[("anthropic-version", "2023-06-01")],
        )
        .await;
    assert_eq!(r.json()["data"][0]["type"], "model");
    let r = h.send("GET", "/v1beta/models", "", &[]).await;
    assert_eq!(r.json()["models"][0]["name"], "models/alias");
    assert_eq!(h.send("GET", "/health", "", &[]).await.status, 200);
    let r = h.send("GET", "/ready", "", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.json()["config_hash"].is_string());
}

#[tokio::test]
async fn without_skip_auth_every_call_is_401_in_the_callers_shape() {
    let yaml =
        single(Protocol::ChatCompletions, "", "").replace("skip_auth: true", "skip_auth: false");
    let h = Harness::start(&yaml).await;
    for p in Protocol::ALL {
        let r = h.call(p, "alias", false).await;
        assert_eq!(r.status, 401, "{p:?}");
        let v = r.json();
        if p == Protocol::Messages {
            assert_eq!(v["error"]["type"], "authentication_error");
        } else {
            assert!(
                v["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("missing API key")
            );
        }
    }
    assert_eq!(h.send("GET", "/v1/models", "", &[]).await.status, 401);
    assert_eq!(h.send("GET", "/health", "", &[]).await.status, 200);
    assert_eq!(h.mock.request_count(), 0);
}

#[tokio::test]
async fn reload_swaps_the_table_for_new_requests_only() {
    let h = Harness::start(&single(Protocol::ChatCompletions, "drip=150", "")).await;
    let (path, body) = request(Protocol::ChatCompletions, "alias", true);
    let in_flight = {
        let h = &h;
        async move { h.post(&path, &body).await }
    };
    let reload = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let next = single(Protocol::ChatCompletions, "", "").replace("id: alias,", "id: renamed,");
        h.server.publish(table(&next, &h.mock.base_url()));
    };
    let (r, ()) = tokio::join!(in_flight, reload);
    assert_clean_answer(Protocol::ChatCompletions, true, &r);
    assert_eq!(
        h.call(Protocol::ChatCompletions, "alias", false)
            .await
            .status,
        404
    );
    assert_eq!(
        h.call(Protocol::ChatCompletions, "renamed", false)
            .await
            .status,
        200
    );
}
