//! The `parallel` scenario on every protocol, by meaning: the SDK-style reassembly of each
//! stream gives get_weather(Paris) and get_weather(London). (It is the mock's own scenario, not
//! a reference vector; `vectors.rs` also checks its bytes against `testkit/vectors/*/*parallel*`.)

use serde_json::{Value, json};
use testkit::MockUpstream;

use crate::client::call;

fn data(event: &str) -> Value {
    let json = event
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap();
    serde_json::from_str(json).unwrap()
}

fn cities(args: &[String]) -> Vec<String> {
    args.iter()
        .map(|a| {
            let v: Value = serde_json::from_str(a).unwrap();
            v["location"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn chat_parallel_calls() {
    let mock = MockUpstream::start().await.unwrap();
    let path = "/v1/chat/completions";
    let r = call(mock.addr(), path, &[], r#"{"model":"gpt-parallel"}"#)
        .await
        .unwrap();
    let v = r.json();
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let calls = v["choices"][0]["message"]["tool_calls"].as_array().unwrap();
    let args: Vec<String> = calls
        .iter()
        .map(|c| c["function"]["arguments"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(cities(&args), ["Paris", "London"]);
    assert_ne!(calls[0]["id"], calls[1]["id"]);

    let body = json!({"model": "gpt-parallel", "stream": true}).to_string();
    let r = call(mock.addr(), path, &[], &body).await.unwrap();
    let chunks = r.chunk_texts();
    assert_eq!(chunks.last().unwrap(), &"data: [DONE]\n\n");
    let mut args = vec![String::new(), String::new()];
    for c in &chunks[..chunks.len() - 1] {
        let d = data(c);
        assert!(d.get("usage").is_none());
        for tc in d["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let i = tc["index"].as_u64().unwrap() as usize;
            args[i].push_str(tc["function"]["arguments"].as_str().unwrap());
        }
    }
    assert_eq!(cities(&args), ["Paris", "London"]);
}

#[tokio::test]
async fn responses_parallel_calls() {
    let mock = MockUpstream::start().await.unwrap();
    let body = json!({"model": "gpt-parallel", "input": "weather?", "stream": true}).to_string();
    let r = call(mock.addr(), "/v1/responses", &[], &body)
        .await
        .unwrap();
    let mut args = vec![String::new(), String::new()];
    for (seq, c) in r.chunk_texts().iter().enumerate() {
        let name = c.strip_prefix("event: ").unwrap().lines().next().unwrap();
        let d = data(c);
        assert_eq!(d["type"], name);
        assert_eq!(d["sequence_number"], seq);
        if name == "response.function_call_arguments.delta" {
            let i = d["output_index"].as_u64().unwrap() as usize;
            args[i].push_str(d["delta"].as_str().unwrap());
        }
        if name == "response.completed" {
            let out = d["response"]["output"].as_array().unwrap();
            assert_eq!(out.len(), 2);
            assert_ne!(out[0]["call_id"], out[1]["call_id"]);
        }
    }
    assert_eq!(cities(&args), ["Paris", "London"]);
}

#[tokio::test]
async fn messages_parallel_calls() {
    let mock = MockUpstream::start().await.unwrap();
    let body = json!({"model": "claude-parallel", "max_tokens": 64, "stream": true}).to_string();
    let r = call(mock.addr(), "/v1/messages", &[], &body).await.unwrap();
    let mut blocks: Vec<(String, String)> = Vec::new();
    for c in r.chunk_texts() {
        let d = data(c);
        match d["type"].as_str().unwrap() {
            "content_block_start" => {
                // Indices start at 0 and are contiguous.
                assert_eq!(d["index"], blocks.len());
                blocks.push((
                    d["content_block"]["type"].as_str().unwrap().to_owned(),
                    String::new(),
                ));
            }
            "content_block_delta" => {
                let i = d["index"].as_u64().unwrap() as usize;
                if let Some(p) = d["delta"]["partial_json"].as_str() {
                    blocks[i].1.push_str(p);
                }
            }
            _ => {}
        }
    }
    let args: Vec<String> = blocks
        .into_iter()
        .filter(|b| b.0 == "tool_use")
        .map(|b| b.1)
        .collect();
    assert_eq!(cities(&args), ["Paris", "London"]);
}

#[tokio::test]
async fn gemini_parallel_calls() {
    let mock = MockUpstream::start().await.unwrap();
    let path = "/v1beta/models/gemini-parallel:streamGenerateContent?alt=sse";
    let r = call(mock.addr(), path, &[], "{}").await.unwrap();
    let args: Vec<String> = r
        .chunk_texts()
        .iter()
        .map(|c| {
            data(c)["candidates"][0]["content"]["parts"][0]["functionCall"]["args"].to_string()
        })
        .collect();
    assert_eq!(cities(&args), ["Paris", "London"]);
    let r = call(
        mock.addr(),
        "/v1beta/models/gemini-parallel:generateContent",
        &[],
        "{}",
    )
    .await
    .unwrap();
    assert_eq!(
        r.json()["candidates"][0]["content"]["parts"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn text_streams_have_at_least_two_content_events() {
    let mock = MockUpstream::start().await.unwrap();
    let body = json!({"model": "m", "stream": true}).to_string();
    for path in [
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/messages",
        "/v1/models/m:streamGenerateContent?alt=sse",
    ] {
        let r = call(mock.addr(), path, &[], &body).await.unwrap();
        let deltas = r
            .chunk_texts()
            .iter()
            .filter(|c| c.contains("Hel") || c.contains("lo!"))
            .count();
        assert!(deltas >= 2, "{path}: {deltas}");
    }
}
