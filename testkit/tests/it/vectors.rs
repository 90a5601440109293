//! Every protocol × stream/non-stream × text/tool answer against the bytes of the reference
//! vectors (`testkit::vectors`), plus the error envelopes and in-stream errors.

use serde_json::{Value, json};
use testkit::MockUpstream;
use testkit::vectors::{self, compact};

use crate::client::call;

/// A vector by `protocol/file` name.
fn vector(name: &str) -> String {
    let (dir, file) = name.split_once('/').unwrap();
    vectors::all()
        .find(|&(d, f, _)| d == dir && f == file)
        .map(|(_, _, text)| text.to_owned())
        .unwrap_or_else(|| panic!("no vector {name}"))
}

fn events(sse: &str) -> Vec<String> {
    vectors::events(sse).map(str::to_owned).collect()
}

/// A reference request with another model (and optionally other fields).
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
        "chat/request_tool.json",
        Some(tool),
        json!({"stream": null, "stream_options": null}),
    );
    non_stream(&mock, path, &body, &expected).await;

    let usage = json!({"stream": true, "stream_options": {"include_usage": true}});
    let body = request("chat/request_text.json", Some(real), usage);
    stream(&mock, path, &body, &vector("chat/stream_text.sse")).await;
    let body = request("chat/request_tool.json", Some(tool), json!({}));
    stream(
        &mock,
        path,
        &body,
        &vector("chat/stream_tool.sse").replace(real, tool),
    )
    .await;

    // Without include_usage: no `"usage":null`, no `choices:[]` chunk.
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
        "chat/request_tool.json",
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
    // The text request carries `instructions` and `max_output_tokens`, echoed in the answer.
    let body = request("responses/request_text.json", Some(real), json!({}));
    non_stream(
        &mock,
        path,
        &body,
        &compact(&vector("responses/response_text.json")),
    )
    .await;
    let body = request(
        "responses/request_tool.json",
        Some(tool),
        json!({"stream": null}),
    );
    let expected = compact(&vector("responses/response_tool.json")).replace(real, tool);
    non_stream(&mock, path, &body, &expected).await;

    let body = json!({"model": real, "input": "Say hello.", "stream": true}).to_string();
    stream(&mock, path, &body, &vector("responses/stream_text.sse")).await;
    let body = request("responses/request_tool.json", Some(tool), json!({}));
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
        "messages/request_tool.json",
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
    let body = request("messages/request_tool.json", Some(tool), json!({}));
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
async fn error_envelopes_match_the_vectors() {
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
async fn in_stream_errors_match_the_vectors() {
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

/// The mock's own two-call scenario is kept beside the reference vectors; it answers from them
/// byte for byte too.
#[tokio::test]
async fn parallel_answers_match_their_vectors() {
    let mock = MockUpstream::start().await.unwrap();
    let cases = [
        ("chat", "/v1/chat/completions", "gpt-4.1-2025-04-14"),
        ("responses", "/v1/responses", "gpt-4.1-2025-04-14"),
        ("messages", "/v1/messages", "claude-sonnet-4-5-20250929"),
    ];
    for (p, path, real) in cases {
        let expected = |file: &str| vector(&format!("{p}/{file}")).replace(real, "x-parallel");
        let body = json!({"model": "x-parallel"}).to_string();
        non_stream(
            &mock,
            path,
            &body,
            &compact(&expected("response_parallel.json")),
        )
        .await;
        let body = json!({"model": "x-parallel", "stream": true, "stream_options": {"include_usage": true}});
        stream(
            &mock,
            path,
            &body.to_string(),
            &expected("stream_parallel.sse"),
        )
        .await;
    }
    let real = "gemini-2.5-flash";
    let expected = |file: &str| vector(&format!("gemini/{file}")).replace(real, "x-parallel");
    let at = |method: &str| format!("/v1beta/models/x-parallel:{method}");
    let parallel = compact(&expected("response_parallel.json"));
    non_stream(&mock, &at("generateContent"), "{}", &parallel).await;
    let sse = at("streamGenerateContent?alt=sse");
    stream(&mock, &sse, "{}", &expected("stream_parallel.sse")).await;
}

/// `testkit/vectors/` holds exactly the files `testkit::vectors` lists: none unread, none
/// missing from the list.
#[test]
fn every_vector_file_is_listed() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let mut on_disk = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            on_disk.push(format!(
                "{}/{}",
                dir.file_name().unwrap().to_str().unwrap(),
                f.file_name().unwrap().to_str().unwrap()
            ));
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = vectors::all().map(|(d, f, _)| format!("{d}/{f}")).collect();
    listed.sort();
    assert!(listed.len() >= 40, "{listed:?}");
    assert_eq!(on_disk, listed);
}

/// The `request` fuzz target's `vector_*` seeds are the reference requests and streams (the
/// fuzzer needs them as files in its corpus directory); they must not drift from the vectors.
#[test]
fn fuzz_seeds_are_the_vectors() {
    use testkit::vectors::{chat, gemini, messages, responses};
    let seeds: &[(&str, &str)] = &[
        ("chat_request_text.json", chat::REQUEST_TEXT),
        (
            "chat_request_tools_streaming_with_usage.json",
            chat::REQUEST_TOOL,
        ),
        (
            "chat_request_follow_up_with_the_tool_result.json",
            chat::REQUEST_FOLLOWUP,
        ),
        ("chat_request_image_part.json", chat::REQUEST_IMAGE),
        ("chat_stream_text.sse", chat::STREAM_TEXT),
        ("chat_stream_tool_call.sse", chat::STREAM_TOOL),
        ("chat_mid_stream_error.sse", chat::STREAM_ERROR),
        ("responses_request_text.json", responses::REQUEST_TEXT),
        (
            "responses_request_tools_streaming.json",
            responses::REQUEST_TOOL,
        ),
        (
            "responses_request_follow_up_with_the_tool_result.json",
            responses::REQUEST_FOLLOWUP,
        ),
        (
            "responses_request_image_part.json",
            responses::REQUEST_IMAGE,
        ),
        ("responses_stream_text.sse", responses::STREAM_TEXT),
        ("responses_stream_tool_call.sse", responses::STREAM_TOOL),
        ("responses_mid_stream_error.sse", responses::STREAM_ERROR),
        ("messages_request_text.json", messages::REQUEST_TEXT),
        (
            "messages_request_tools_streaming.json",
            messages::REQUEST_TOOL,
        ),
        (
            "messages_request_follow_up_with_the_tool_result.json",
            messages::REQUEST_FOLLOWUP,
        ),
        ("messages_request_image_block.json", messages::REQUEST_IMAGE),
        ("messages_stream_text.sse", messages::STREAM_TEXT),
        (
            "messages_stream_text_then_tool_use.sse",
            messages::STREAM_TOOL,
        ),
        ("messages_mid_stream_error.sse", messages::STREAM_ERROR),
        ("gemini_request_text.json", gemini::REQUEST_TEXT),
        ("gemini_request_tools.json", gemini::REQUEST_TOOL),
        (
            "gemini_request_follow_up_with_the_function_result.json",
            gemini::REQUEST_FOLLOWUP,
        ),
        ("gemini_request_image_part.json", gemini::REQUEST_IMAGE),
        ("gemini_stream_text.sse", gemini::STREAM_TEXT),
        ("gemini_stream_function_call.sse", gemini::STREAM_TOOL),
        ("gemini_stream_gemini_3_style.sse", gemini::STREAM_GEMINI3),
        ("gemini_mid_stream_error.sse", gemini::STREAM_ERROR),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/request");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|n| n.strip_prefix("vector_").map(str::to_owned))
        .collect();
    on_disk.sort();
    let mut named: Vec<String> = seeds.iter().map(|(n, _)| (*n).to_owned()).collect();
    named.sort();
    assert_eq!(on_disk, named, "vector_* seeds in {}", dir.display());
    for (name, text) in seeds {
        let seed = std::fs::read_to_string(dir.join(format!("vector_{name}"))).unwrap();
        assert!(
            seed == *text,
            "fuzz/corpus/request/vector_{name} differs from its vector"
        );
    }
}
