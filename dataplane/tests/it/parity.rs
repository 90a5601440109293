//! A passthrough route and a translated route tell a caller the same failure the same way:
//! the router writes both with one function per protocol (translate's protocol homes). For
//! every caller protocol, the same failure after the commit point — a cut, an idle upstream —
//! ends the stream with the same terminal error, and the router's own errors use the same
//! error types as translated upstream errors.

use serde_json::Value;

use crate::support::{Harness, Protocol, Reply, base};

/// An upstream of another protocol than `caller`'s.
fn foreign(caller: Protocol) -> Protocol {
    if caller == Protocol::Messages {
        Protocol::ChatCompletions
    } else {
        Protocol::Messages
    }
}

/// Events of `up`'s mock stream up to and including its first content event.
fn through_first_content(up: Protocol) -> u32 {
    match up {
        Protocol::GenerateContent => 1,
        Protocol::ChatCompletions => 2,
        Protocol::Messages => 4,
        Protocol::Responses => 5,
    }
}

fn one_provider(up: Protocol, fault: &str) -> String {
    let (b, proto) = (base(up), up.as_str());
    format!(
        r#"inherit_defaults: false
server:
  skip_auth: true
  timeouts: {{ first_byte: 2s, idle: 600ms }}
providers:
  up: {{ api_base: "{b}", api_key: k, api_protocol: {proto}, allow_private: true, headers: {{ x-mock-fault: "{fault}" }}, models: [{{id: m}}] }}
"#
    )
}

/// The caller's terminal error frame, with what differs by construction (ids, sequence
/// numbers, timestamps, the items streamed so far) removed.
fn terminal_error(caller: Protocol, r: &Reply) -> Value {
    assert_eq!(r.status, 200, "{caller:?}: {}", r.body);
    let frame = r
        .body
        .trim_end()
        .rsplit("\n\n")
        .next()
        .unwrap_or_default()
        .to_owned();
    let data = frame.rsplit("data: ").next().unwrap_or_default();
    let mut v: Value = serde_json::from_str(data)
        .unwrap_or_else(|e| panic!("{caller:?}: last frame is not JSON ({e}): {}", r.body));
    if let Some(o) = v.as_object_mut() {
        o.remove("sequence_number");
        if let Some(resp) = o.get_mut("response").and_then(Value::as_object_mut) {
            for k in ["id", "created_at", "output", "model"] {
                resp.remove(k);
            }
        }
    }
    let event = frame.lines().next().unwrap_or_default().to_owned();
    serde_json::json!({"first_line": event.split_once(": ").map(|(k, _)| k), "data": v})
}

async fn stream_failure(caller: Protocol, up: Protocol, fault: &str) -> Value {
    let h = Harness::start(&one_provider(up, fault)).await;
    let r = h.call(caller, "m", true).await;
    assert!(
        r.body.contains("Hel"),
        "{caller:?}←{up:?}: committed first: {}",
        r.body
    );
    terminal_error(caller, &r)
}

#[tokio::test]
async fn a_cut_after_commit_ends_alike_passthrough_and_translated() {
    for caller in Protocol::ALL {
        let up = foreign(caller);
        let pass = stream_failure(
            caller,
            caller,
            &format!("cut-after={}", through_first_content(caller)),
        )
        .await;
        let tr = stream_failure(
            caller,
            up,
            &format!("cut-after={}", through_first_content(up)),
        )
        .await;
        assert_eq!(
            pass, tr,
            "{caller:?}: passthrough vs translated from {up:?}"
        );
        // A cut is a bad gateway, in each protocol's own words.
        let text = pass.to_string();
        let want = match caller {
            Protocol::ChatCompletions => "server_error",
            Protocol::Responses => "\"failed\"",
            Protocol::Messages => "api_error",
            Protocol::GenerateContent => "UNAVAILABLE",
        };
        assert!(text.contains(want), "{caller:?}: {text}");
        if caller == Protocol::GenerateContent {
            assert_eq!(pass["data"]["error"]["code"], 502, "{text}");
        }
    }
}

#[tokio::test]
async fn an_idle_upstream_after_commit_ends_alike_passthrough_and_translated() {
    for caller in Protocol::ALL {
        let up = foreign(caller);
        let pass = stream_failure(caller, caller, "stall-mid=3000").await;
        let tr = stream_failure(caller, up, "stall-mid=3000").await;
        assert_eq!(
            pass, tr,
            "{caller:?}: passthrough vs translated from {up:?}"
        );
        let text = pass.to_string();
        assert!(text.contains("idle"), "{caller:?}: {text}");
        if caller == Protocol::GenerateContent {
            assert_eq!(
                pass["data"]["error"]["status"], "DEADLINE_EXCEEDED",
                "{text}"
            );
        }
    }
}

/// OpenAI callers: the router's own 404 (unknown model) and a translated upstream 404 use the
/// same error type, OpenAI's own (`invalid_request_error`).
#[tokio::test]
async fn a_404_has_one_error_type_for_openai_callers() {
    let h = Harness::start(&one_provider(Protocol::Messages, "status=404")).await;
    for caller in [Protocol::ChatCompletions, Protocol::Responses] {
        let own = h.call(caller, "no-such-model", false).await;
        let translated = h.call(caller, "m", false).await;
        for r in [&own, &translated] {
            assert_eq!(r.status, 404, "{caller:?}: {}", r.body);
            assert_eq!(
                r.json()["error"]["type"],
                "invalid_request_error",
                "{}",
                r.body
            );
        }
        assert_eq!(own.json()["error"]["code"], "model_not_found");
    }
}
