//! Caller authentication through the real server: minted keys admitted in every protocol's
//! credential header, every refusal in the caller's own error shape with the right status and
//! a challenge, scope, model and rate limits, and reloads that trust a new issuer or revoke a
//! token for new requests while in-flight ones finish.

use auth::{AccountKey, BudgetWindow, Claims, Scope};

use crate::support::{Harness, Protocol, Reply, base, now, request, table};

fn claims(key: &AccountKey, jti: &str) -> Claims {
    Claims {
        iss: key.public().id(),
        jti: jti.into(),
        iat: now(),
        exp: Some(now() + 3600),
        nbf: None,
        scope: Some(Scope::Api),
        name: Some(format!("key-{jti}")),
        models: None,
        budget: Some(1.0),
        budget_window: Some(BudgetWindow::Day),
        rpm: None,
        tpm: None,
        concurrency: None,
    }
}

fn config(trusted: &[&AccountKey], extra: &str) -> String {
    let keys: Vec<String> = trusted
        .iter()
        .map(|k| format!("\"{}\"", k.public().encode()))
        .collect();
    let (b, proto) = (
        base(Protocol::ChatCompletions),
        Protocol::ChatCompletions.as_str(),
    );
    format!(
        r#"inherit_defaults: false
server:
  skip_auth: false
  timeouts: {{ first_byte: 2s, idle: 2s }}
  auth: {{ trusted_keys: [{}] {extra} }}
providers:
  up: {{ api_base: "{b}", api_key: up-key, api_protocol: {proto}, allow_private: true, models: [{{id: m}}, {{id: other}}] }}
  slow: {{ api_base: "{b}", api_key: up-key, api_protocol: {proto}, allow_private: true, headers: {{ x-mock-fault: "drip=100" }}, models: [{{id: slow}}] }}
"#,
        keys.join(", ")
    )
}

/// A call in `p` with `token` in the header that protocol's SDK uses.
async fn call(h: &Harness, p: Protocol, model: &str, token: &str) -> Reply {
    let (path, body) = request(p, model, false);
    let bearer = format!("Bearer {token}");
    let header = match p {
        Protocol::ChatCompletions | Protocol::Responses => ("authorization", bearer.as_str()),
        Protocol::Messages => ("x-api-key", token),
        Protocol::GenerateContent => ("x-goog-api-key", token),
    };
    h.send("POST", &path, &body, &[header]).await
}

#[tokio::test]
async fn a_minted_key_is_admitted_in_every_protocol_and_never_forwarded() {
    let key = AccountKey::generate().unwrap();
    let h = Harness::start(&config(&[&key], "")).await;
    let token = auth::mint(&key, &claims(&key, "good"));
    for p in Protocol::ALL {
        let r = call(&h, p, "m", &token).await;
        assert_eq!(r.status, 200, "{p:?}: {}", r.body);
    }
    // Gemini's `?key=` too, and the model list.
    let (path, body) = request(Protocol::GenerateContent, "m", false);
    let r = h
        .send("POST", &format!("{path}?key={token}"), &body, &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let auth = format!("Bearer {token}");
    let r = h
        .send("GET", "/v1/models", "", &[("authorization", &auth)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for seen in h.mock.requests() {
        for (name, value) in &seen.headers {
            assert!(
                !value.contains(&token[..40]),
                "{name}: the caller's key reached the upstream"
            );
        }
        assert!(!seen.path.contains(&token[..40]));
    }
}

#[tokio::test]
async fn every_refusal_is_in_the_callers_shape_with_a_challenge() {
    let key = AccountKey::generate().unwrap();
    let stranger = AccountKey::generate().unwrap();
    let h = Harness::start(&config(&[&key], ", revoked_jti: [gone]")).await;
    let good = auth::mint(&key, &claims(&key, "ok"));
    let expired = auth::mint(
        &key,
        &Claims {
            exp: Some(now() - 5),
            ..claims(&key, "old")
        },
    );
    let revoked = auth::mint(&key, &claims(&key, "gone"));
    let foreign = auth::mint(
        &stranger,
        &Claims {
            iss: stranger.public().id(),
            ..claims(&stranger, "x")
        },
    );
    let mut tampered = good.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (token, reason) in [
        (expired.as_str(), "expired"),
        (revoked.as_str(), "revoked"),
        (foreign.as_str(), "not trusted"),
        (tampered.as_str(), "bad signature"),
        ("sk-not-a-token", "malformed"),
    ] {
        for p in Protocol::ALL {
            let r = call(&h, p, "m", token).await;
            assert_eq!(r.status, 401, "{p:?} {reason}: {}", r.body);
            let challenge = r.header("www-authenticate").unwrap_or_default();
            assert!(
                challenge.starts_with("Bearer") && challenge.contains("invalid_token"),
                "{challenge}"
            );
            let v = r.json();
            let message = match p {
                Protocol::Messages => {
                    assert_eq!(v["type"], "error");
                    assert_eq!(v["error"]["type"], "authentication_error");
                    v["error"]["message"].as_str().unwrap().to_owned()
                }
                Protocol::GenerateContent => {
                    assert_eq!(v["error"]["status"], "UNAUTHENTICATED");
                    assert_eq!(v["error"]["code"], 401);
                    v["error"]["message"].as_str().unwrap().to_owned()
                }
                _ => {
                    assert_eq!(v["error"]["type"], "authentication_error");
                    v["error"]["message"].as_str().unwrap().to_owned()
                }
            };
            assert!(message.contains(reason), "{p:?}: {message}");
            assert!(
                !message.contains(&token[token.len().saturating_sub(10)..]),
                "echoes the token"
            );
        }
    }
    let r = h.call(Protocol::ChatCompletions, "m", false).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"bitrouter\"")
    );
    assert_eq!(h.mock.request_count(), 0, "nothing reached the upstream");
}

#[tokio::test]
async fn scope_models_and_rate_are_enforced() {
    let key = AccountKey::generate().unwrap();
    let h = Harness::start(&config(&[&key], "")).await;
    let admin = auth::mint(
        &key,
        &Claims {
            scope: Some(Scope::Admin),
            ..claims(&key, "admin")
        },
    );
    let only_m = auth::mint(
        &key,
        &Claims {
            models: Some(vec!["m".into()]),
            ..claims(&key, "onlym")
        },
    );
    let limited = auth::mint(
        &key,
        &Claims {
            rpm: Some(2),
            ..claims(&key, "rpm")
        },
    );
    for p in Protocol::ALL {
        let r = call(&h, p, "m", &admin).await;
        assert_eq!(r.status, 403, "{p:?}: {}", r.body);
        assert!(r.body.contains("scope `api`"), "{}", r.body);
        let r = call(&h, p, "other", &only_m).await;
        assert_eq!(r.status, 403, "{p:?}: {}", r.body);
        assert!(r.body.contains("model `other`"), "{}", r.body);
        let denied = match p {
            Protocol::Messages => "permission_error",
            Protocol::GenerateContent => "PERMISSION_DENIED",
            _ => "invalid_request_error",
        };
        assert!(r.body.contains(denied), "{p:?}: {}", r.body);
        assert_eq!(call(&h, p, "m", &only_m).await.status, 200);
        assert_eq!(
            call(&h, p, "up:m", &only_m).await.status,
            403,
            "a direct route must match too"
        );
    }
    for _ in 0..2 {
        assert_eq!(
            call(&h, Protocol::ChatCompletions, "m", &limited)
                .await
                .status,
            200
        );
    }
    let r = call(&h, Protocol::Messages, "m", &limited).await;
    assert_eq!(r.status, 429, "{}", r.body);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(r.json()["error"]["type"], "rate_limit_error");
}

#[tokio::test]
async fn a_reload_trusts_new_issuers_and_revokes_for_new_requests_only() {
    let old = AccountKey::generate().unwrap();
    let new = AccountKey::generate().unwrap();
    let h = Harness::start(&config(&[&old], "")).await;
    let old_token = auth::mint(&old, &claims(&old, "a"));
    let new_token = auth::mint(
        &new,
        &Claims {
            iss: new.public().id(),
            ..claims(&new, "b")
        },
    );
    assert_eq!(
        call(&h, Protocol::ChatCompletions, "m", &new_token)
            .await
            .status,
        401
    );
    // A slow stream admitted before the reload finishes after it.
    let (path, body) = request(Protocol::ChatCompletions, "slow", true);
    let auth = format!("Bearer {old_token}");
    let headers = [("authorization", auth.as_str())];
    let slow = h.send("POST", &path, &body, &headers);
    let reload = async {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        let yaml = config(&[&old, &new], ", revoked_jti: [a]");
        h.server.publish(table(&yaml, &h.mock.base_url()));
        assert_eq!(
            call(&h, Protocol::ChatCompletions, "m", &new_token)
                .await
                .status,
            200
        );
        let r = call(&h, Protocol::ChatCompletions, "m", &old_token).await;
        assert_eq!(r.status, 401);
        assert!(r.body.contains("revoked"), "{}", r.body);
    };
    let (r, ()) = tokio::join!(slow, reload);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("[DONE]"),
        "the in-flight stream finished: {}",
        r.body
    );
}
