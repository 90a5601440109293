//! Request hygiene, for every caller protocol: a body that is not declared JSON, a browser
//! origin that is not listed, a `Host` that does not name the router, duplicate keys, too deep
//! a nesting and wrong item types are each refused in the caller's own error shape, and the
//! upstream sees nothing. Listed origins get CORS answers; listed hosts are served.

use crate::support::*;

const YAML: &str = r#"inherit_defaults: false
server:
  skip_auth: true
  cors: { allowed_origins: ["http://localhost:3000"] }
  allowed_hosts: [router.internal]
providers:
  chat: { api_base: "MOCK/v1", api_key: k, api_protocol: chat_completions, allow_private: true, models: [{id: m}] }
  resp: { api_base: "MOCK/v1", api_key: k, api_protocol: responses, allow_private: true, models: [{id: m}] }
  msg: { api_base: "MOCK", api_key: k, api_protocol: messages, allow_private: true, models: [{id: m}] }
  gem: { api_base: "MOCK", api_key: k, api_protocol: generate_content, allow_private: true, models: [{id: m}] }
"#;

fn model(p: Protocol) -> &'static str {
    match p {
        Protocol::ChatCompletions => "chat:m",
        Protocol::Responses => "resp:m",
        Protocol::Messages => "msg:m",
        Protocol::GenerateContent => "gem:m",
    }
}

/// The error in the caller's shape: (status, message).
fn error_of(p: Protocol, r: &Reply) -> (u16, String) {
    let j = r.json();
    match p {
        Protocol::Messages => assert_eq!(j["type"], "error", "{}", r.body),
        Protocol::GenerateContent => {
            assert_eq!(j["error"]["code"], r.status.as_u16(), "{}", r.body)
        }
        _ => assert!(j["error"]["type"].is_string(), "{}", r.body),
    }
    (
        r.status.as_u16(),
        j["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn bodies_not_declared_json_are_415() {
    let h = Harness::start(YAML).await;
    for p in Protocol::ALL {
        let (path, body) = request(p, model(p), false);
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            let headers: Vec<(&str, &str)> = ct.map(|c| ("content-type", c)).into_iter().collect();
            let r = h.send_exactly("POST", &path, &body, &headers).await;
            let (status, msg) = error_of(p, &r);
            assert_eq!(status, 415, "{p:?} {ct:?}");
            assert!(msg.contains("application/json"), "{msg}");
        }
        let r = h
            .send_exactly(
                "POST",
                &path,
                &body,
                &[("content-type", "application/json; charset=utf-8")],
            )
            .await;
        assert_eq!(r.status, 200, "{p:?}: {}", r.body);
    }
    assert_eq!(h.mock.request_count(), 4);
}

#[tokio::test]
async fn browser_origins_need_listing() {
    let h = Harness::start(YAML).await;
    for p in Protocol::ALL {
        let (path, body) = request(p, model(p), false);
        let r = h
            .send("POST", &path, &body, &[("origin", "https://evil.example")])
            .await;
        let (status, msg) = error_of(p, &r);
        assert_eq!(status, 403, "{p:?}");
        assert!(msg.contains("server.cors.allowed_origins"), "{msg}");
        assert!(r.header("access-control-allow-origin").is_none());
        let r = h.send("POST", &path, &body, &[("origin", "null")]).await;
        assert_eq!(r.status, 403);
        let r = h
            .send("POST", &path, &body, &[("origin", "http://localhost:3000")])
            .await;
        assert_eq!(r.status, 200, "{p:?}: {}", r.body);
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("http://localhost:3000")
        );
        assert!(
            r.header("access-control-expose-headers")
                .unwrap()
                .contains("x-bitrouter-dropped")
        );
    }
    assert_eq!(h.mock.request_count(), 4);
    // The preflight of an allowed origin, and of another.
    let pre = [
        ("origin", "http://localhost:3000"),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "content-type, x-api-key"),
    ];
    let r = h.send_exactly("OPTIONS", "/v1/messages", "", &pre).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type, x-api-key")
    );
    assert!(
        r.header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    let r = h
        .send_exactly(
            "OPTIONS",
            "/v1/messages",
            "",
            &[("origin", "http://localhost:3001")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(h.mock.request_count(), 4);
}

#[tokio::test]
async fn hosts_that_do_not_name_the_router_are_refused() {
    let h = Harness::start(YAML).await;
    let port = h.addr.port();
    for p in Protocol::ALL {
        let (path, body) = request(p, model(p), false);
        for bad in ["evil.example", "localhost.evil.example:80", "10.1.2.3"] {
            let r = h.send("POST", &path, &body, &[("host", bad)]).await;
            let (status, msg) = error_of(p, &r);
            assert_eq!(status, 403, "{p:?} {bad}");
            assert!(msg.contains("server.allowed_hosts"), "{msg}");
        }
        for good in [
            format!("localhost:{port}"),
            "router.internal".to_owned(),
            format!("127.0.0.1:{port}"),
        ] {
            let r = h.send("POST", &path, &body, &[("host", &good)]).await;
            assert_eq!(r.status, 200, "{p:?} {good}: {}", r.body);
        }
    }
    // Not only model calls: the model list and health too.
    let r = h
        .send_exactly("GET", "/v1/models", "", &[("host", "evil.example")])
        .await;
    assert_eq!(r.status, 403);
    let r = h
        .send_exactly("GET", "/health", "", &[("host", "evil.example")])
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(h.mock.request_count(), 12);
}

/// Inserts `member` right after the opening brace of the protocol's minimal body.
fn with(p: Protocol, member: &str) -> (String, String) {
    let (path, body) = request(p, model(p), false);
    (path, format!("{{{member},{}", &body[1..]))
}

#[tokio::test]
async fn malformed_bodies_are_400_before_any_upstream_call() {
    let h = Harness::start(YAML).await;
    let deep = format!(r#""x":{}0{}"#, "[".repeat(130), "]".repeat(130));
    for p in Protocol::ALL {
        let mut cases = vec![
            (
                with(p, r#""metadata":{"a":1,"a":2}"#),
                "`metadata.a` more than once",
            ),
            (with(p, &deep), "nested deeper than 128"),
        ];
        let items = match p {
            Protocol::ChatCompletions => vec![
                (
                    r#""messages":[{"role":"user","content":5}]"#,
                    "`messages[0].content` must be",
                ),
                (r#""temperature":"warm""#, "`temperature` must be a number"),
            ],
            Protocol::Responses => vec![
                (
                    r#""input":[{"role":"user","content":[7]}]"#,
                    "`input[0].content[0]` must be an object",
                ),
                (r#""tools":{}"#, "`tools` must be an array"),
            ],
            Protocol::Messages => vec![
                (
                    r#""messages":[{"role":7,"content":"x"}]"#,
                    "`messages[0].role` must be a string",
                ),
                (
                    r#""system":{"text":"x"}"#,
                    "`system` must be a string or an array",
                ),
            ],
            Protocol::GenerateContent => vec![
                (
                    r#""contents":[{"parts":"x"}]"#,
                    "`contents[0].parts` must be an array",
                ),
                (
                    r#""generationConfig":7"#,
                    "`generationConfig` must be an object",
                ),
            ],
        };
        // A key the minimal body already has is replaced (else the duplicate rule answers).
        for (member, want) in items {
            let key = member.split('"').nth(1).unwrap_or_default();
            let (path, body) = request(p, model(p), false);
            let body = if body.contains(&format!("\"{key}\"")) {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                let mut o = v.as_object().unwrap().clone();
                o.remove(key);
                let rest = serde_json::to_string(&o).unwrap();
                if o.is_empty() {
                    format!("{{{member}}}")
                } else {
                    format!("{{{member},{}", &rest[1..])
                }
            } else {
                with(p, member).1
            };
            cases.push(((path, body), want));
        }
        for ((path, body), want) in cases {
            let r = h.post(&path, &body).await;
            let (status, msg) = error_of(p, &r);
            assert_eq!(status, 400, "{p:?} {body}");
            assert!(msg.contains(want), "{p:?}: {msg} (wanted {want})");
        }
    }
    assert_eq!(h.mock.request_count(), 0);
}

#[tokio::test]
async fn upstream_error_bodies_reach_the_caller_in_its_own_shape() {
    for p in Protocol::ALL {
        let b = base(p);
        let proto = p.as_str();
        // Plain text, or another protocol's envelope (Gemini's for OpenAI callers, Chat's for
        // the others), from a same-protocol (passthrough) upstream.
        let foreign = if matches!(p, Protocol::ChatCompletions | Protocol::Responses) {
            "gemini"
        } else {
            "chat"
        };
        for (status, kind) in [(400, "text"), (503, "text"), (429, foreign), (401, foreign)] {
            let yaml = format!(
                r#"inherit_defaults: false
server: {{ skip_auth: true, failover: {{ max_attempts: 1 }} }}
providers:
  up: {{ api_base: "{b}", api_key: k, api_protocol: {proto}, allow_private: true, headers: {{ x-mock-fault: "status={status};error-body={kind}" }}, models: [{{id: m}}] }}
"#
            );
            let h = Harness::start(&yaml).await;
            for stream in [false, true] {
                let r = h.call(p, "up:m", stream).await;
                let (got, msg) = error_of(p, &r);
                assert_eq!(got, status, "{p:?} {kind} stream={stream}: {}", r.body);
                assert_eq!(r.header("content-type"), Some("application/json"));
                if kind == "text" {
                    assert!(msg.contains("upstream proxy error"), "{p:?}: {msg}");
                }
            }
        }
    }
}
