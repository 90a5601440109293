//! Every protocol × stream/non-stream × text/tool answer against the bytes of protocols.md §4
//! (copied verbatim into `tests/it/vectors/`), plus the error envelopes and in-stream errors.

use serde_json::{Value, json};
use testkit::MockUpstream;

use crate::client::call;

fn vector(name: &str) -> String {
    let path = format!("{}/tests/it/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A pretty-printed §4 JSON body as the compact bytes the mock sends.
pub fn compact(pretty: &str) -> String {
    let (mut out, mut in_str, mut esc) = (String::new(), false, false);
    for c in pretty.chars() {
        if in_str {
            out.push(c);
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if !c.is_whitespace() {
            out.push(c);
            in_str = c == '"';
        }
    }
    out
}

/// A §4 SSE block split into its events, each with its blank line.
pub fn events(sse: &str) -> Vec<String> {
    sse.split_inclusive("\n\n").map(str::to_owned).collect()
}

/// A §4 request with another model (and optionally other fields).
fn request(name: &str, model: Option<&str>, extra: Value) -> String {
    let mut v: Value = serde_json::from_str(&vector(name)).unwrap();
    if let Some(m) = model {
        v["model"] = json!(m);
    }
    for (k, x) in extra.as_object().unwrap() {
        if x.is_null() {
            v.as_object_mut().unwrap().remove(k);
        } else {
            v[k] = x.clone();
        }
    }
    v.to_string()
}

async fn non_stream(mock: &MockUpstream, path: &str, body: &str, expected: &str) {
    let r = call(mock.addr(), path, &[], body).await.unwrap();
    assert_eq!(r.head.status, 200, "{}", r.text());
    assert_eq!(r.head.header("content-type"), Some("application/json"));
    assert!(r.head.header("content-length").is_some());
    assert_eq!(r.text(), expected);
}

async fn stream(mock: &MockUpstream, path: &str, body: &str, expected: &str) {
    let r = call(mock.addr(), path, &[], body).await.unwrap();
    assert_eq!(r.head.status, 200, "{}", r.text());
    assert_eq!(r.head.header("content-type"), Some("text/event-stream"));
    assert!(r.head.chunked());
    assert!(r.complete, "stream must end with the last chunk");
    // One SSE event per chunk, byte for byte.
    assert_eq!(r.chunk_texts(), events(expected));
}

#[tokio::test]
async fn chat_completions() {
    let mock = MockUpstream::start().await.unwrap();
    let path = "/v1/chat/completions";
    let (real, tool) = ("gpt-4.1-2025-04-14", "gpt-tool");
    let text = request("chat/request_text.json", Some(real), json!({}));
    non_stream(
        &mock,
        path,
        &text,
        &compact(&vector("chat/response_text.json")),
    )
    .await;
    let expected = compact(&vector("chat/response_tool.json")).replace(real, tool);
    let body = request(
        "chat/request_tool_stream.json",
        Some(tool),
        json!({"stream": null, "stream_options": null}),
    );
    non_stream(&mock, path, &body, &expected).await;

    let usage = json!({"stream": true, "stream_options": {"include_usage": true}});
    let body = request("chat/request_text.json", Some(real), usage);
    stream(&mock, path, &body, &vector("chat/stream_text.sse")).await;
    let body = request("chat/request_tool_stream.json", Some(tool), json!({}));
    stream(
        &mock,
        path,
        &body,
        &vector("chat/stream_tool.sse").replace(real, tool),
    )
    .await;

    // Without include_usage: no `"usage":null`, no `choices:[]` chunk (§4.1).
    let without = |sse: String| {
        events(&sse)
            .into_iter()
            .filter(|e| !e.contains(r#""choices":[]"#))
            .map(|e| e.replace(r#","usage":null"#, ""))
            .collect::<String>()
    };
    let body = request(
        "chat/request_text.json",
        Some(real),
        json!({"stream": true}),
    );
    stream(&mock, path, &body, &without(vector("chat/stream_text.sse"))).await;
    let body = request(
        "chat/request_tool_stream.json",
        Some(tool),
        json!({"stream_options": null}),
    );
    stream(
        &mock,
        path,
        &body,
        &without(vector("chat/stream_tool.sse").replace(real, tool)),
    )
    .await;
}

#[tokio::test]
async fn responses() {
    let mock = MockUpstream::start().await.unwrap();
    let path = "/v1/responses";
    let (real, tool) = ("gpt-4.1-2025-04-14", "gpt-tool");
    // The text request carries `instructions` and `max_output_tokens`, echoed as in §4.2.
    let body = request("responses/request_text.json", Some(real), json!({}));
    non_stream(
        &mock,
        path,
        &body,
        &compact(&vector("responses/response_text.json")),
    )
    .await;
    let body = request(
        "responses/request_tool_stream.json",
        Some(tool),
        json!({"stream": null}),
    );
    let expected = compact(&vector("responses/response_tool.json")).replace(real, tool);
    non_stream(&mock, path, &body, &expected).await;

    let body = json!({"model": real, "input": "Say hello.", "stream": true}).to_string();
    stream(&mock, path, &body, &vector("responses/stream_text.sse")).await;
    let body = request("responses/request_tool_stream.json", Some(tool), json!({}));
    stream(
        &mock,
        path,
        &body,
        &vector("responses/stream_tool.sse").replace(real, tool),
    )
    .await;
}

#[tokio::test]
async fn messages() {
    let mock = MockUpstream::start().await.unwrap();
    let path = "/v1/messages";
    let (real, tool) = ("claude-sonnet-4-5-20250929", "claude-tool");
    let body = request("messages/request_text.json", Some(real), json!({}));
    non_stream(
        &mock,
        path,
        &body,
        &compact(&vector("messages/response_text.json")),
    )
    .await;
    let body = request(
        "messages/request_tool_stream.json",
        Some(tool),
        json!({"stream": null}),
    );
    let expected = compact(&vector("messages/response_tool.json")).replace(real, tool);
    non_stream(&mock, path, &body, &expected).await;

    let body = request(
        "messages/request_text.json",
        Some(real),
        json!({"stream": true}),
    );
    stream(&mock, path, &body, &vector("messages/stream_text.sse")).await;
    let body = request("messages/request_tool_stream.json", Some(tool), json!({}));
    stream(
        &mock,
        path,
        &body,
        &vector("messages/stream_tool.sse").replace(real, tool),
    )
    .await;
}

#[tokio::test]
async fn generate_content() {
    let mock = MockUpstream::start().await.unwrap();
    let (real, tool) = ("gemini-2.5-flash", "gemini-tool");
    let text = vector("gemini/request_text.json");
    let tools = vector("gemini/request_tool.json");
    let at = |model: &str, method: &str| format!("/v1beta/models/{model}:{method}");
    non_stream(
        &mock,
        &at(real, "generateContent"),
        &text,
        &compact(&vector("gemini/response_text.json")),
    )
    .await;
    let expected = compact(&vector("gemini/response_tool.json")).replace(real, tool);
    non_stream(&mock, &at(tool, "generateContent"), &tools, &expected).await;

    let sse = |model: &str| format!("/v1/models/{model}:streamGenerateContent?alt=sse");
    stream(&mock, &sse(real), &text, &vector("gemini/stream_text.sse")).await;
    stream(
        &mock,
        &sse(tool),
        &tools,
        &vector("gemini/stream_tool.sse").replace(real, tool),
    )
    .await;

    // Without `alt=sse`: the same chunks as one JSON array, streamed element by element.
    let r = call(mock.addr(), &at(real, "streamGenerateContent"), &[], &text)
        .await
        .unwrap();
    assert_eq!(r.head.header("content-type"), Some("application/json"));
    assert!(r.complete);
    let data: Vec<Value> = events(&vector("gemini/stream_text.sse"))
        .iter()
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    assert_eq!(r.json(), Value::Array(data));
    let chunks = r.chunk_texts();
    assert_eq!(chunks.len(), 2);
    assert!(
        chunks[0].starts_with("[{") && chunks[1].starts_with(",{") && chunks[1].ends_with("}]")
    );
}

#[tokio::test]
async fn error_envelopes_match_section_4() {
    let mock = MockUpstream::start().await.unwrap();
    let cases = [
        ("/v1/chat/completions", "401", "chat/error_401.json"),
        ("/v1/messages", "529", "messages/error_529.json"),
        (
            "/v1beta/models/gemini-2.5-flash:generateContent",
            "429",
            "gemini/error_429.json",
        ),
    ];
    for (path, status, file) in cases {
        let fault = format!("status={status}");
        let r = call(
            mock.addr(),
            path,
            &[("x-mock-fault", &fault)],
            r#"{"model":"m"}"#,
        )
        .await
        .unwrap();
        assert_eq!(r.head.status.to_string(), status);
        assert_eq!(r.text(), compact(&vector(file)), "{path}");
    }
    // Responses shares Chat's envelope.
    let r = call(
        mock.addr(),
        "/v1/responses",
        &[("x-mock-fault", "status=500")],
        r#"{"model":"m"}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.head.status, 500);
    assert_eq!(r.json()["error"]["type"], "server_error");
}

#[tokio::test]
async fn in_stream_errors_match_section_4() {
    let mock = MockUpstream::start().await.unwrap();
    let fault = [("x-mock-fault", "stream-error")];
    let body = r#"{"model":"gpt-4.1-2025-04-14","stream":true}"#;

    let r = call(mock.addr(), "/v1/chat/completions", &fault, body)
        .await
        .unwrap();
    let role = events(&vector("chat/stream_text.sse"))[0].replace(r#","usage":null"#, "");
    assert_eq!(r.chunk_texts(), [role, vector("chat/stream_error.sse")]);
    assert!(r.complete && !r.text().contains("[DONE]"));

    let r = call(mock.addr(), "/v1/messages", &fault, body)
        .await
        .unwrap();
    let start = events(&vector("messages/stream_text.sse"))[0]
        .replace("claude-sonnet-4-5-20250929", "gpt-4.1-2025-04-14");
    let ping = "event: ping\ndata: {\"type\":\"ping\"}\n\n".to_owned();
    assert_eq!(
        r.chunk_texts(),
        [start, ping, vector("messages/stream_error.sse")]
    );

    let gemini = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
    let r = call(mock.addr(), gemini, &fault, "{}").await.unwrap();
    assert_eq!(r.chunk_texts(), [vector("gemini/stream_error.sse")]);

    let r = call(mock.addr(), "/v1/responses", &fault, body)
        .await
        .unwrap();
    let lifecycle = &events(&vector("responses/stream_text.sse"))[..2];
    let chunks = r.chunk_texts();
    assert_eq!(chunks[..2], *lifecycle);
    assert_eq!(chunks.len(), 3);
    let failed = chunks[2]
        .strip_prefix("event: response.failed\ndata: ")
        .unwrap();
    let failed: Value = serde_json::from_str(failed.trim_end()).unwrap();
    assert_eq!(failed["sequence_number"], 2);
    assert_eq!(failed["response"]["status"], "failed");
    assert_eq!(failed["response"]["error"]["code"], "server_error");
}
