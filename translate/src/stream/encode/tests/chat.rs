//! Chat Completions encoder tests.

use super::*;

const HEAD: &str = r#"data: {"id":"chatcmpl-test123","object":"chat.completion.chunk","created":1767225600,"model":"gpt-4.1","choices":["#;

#[test]
fn text_stream_is_byte_exact_with_usage() {
    let (out, ended) = run(Protocol::ChatCompletions, &ctx(true, false), &text_events());
    assert!(ended);
    let chunk = |delta: &str, finish: &str| {
        format!(
            "{HEAD}{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}],\"usage\":null}}\n\n"
        )
    };
    let expected = [
        chunk(r#"{"role":"assistant","content":""}"#, "null"),
        chunk(r#"{"content":"Hel"}"#, "null"),
        chunk(r#"{"content":"lo!"}"#, "null"),
        chunk("{}", "\"stop\""),
        format!(
            "{HEAD}],\"usage\":{{\"prompt_tokens\":19,\"completion_tokens\":3,\"total_tokens\":22,\"prompt_tokens_details\":{{\"cached_tokens\":0,\"cache_write_tokens\":0}},\"completion_tokens_details\":{{\"reasoning_tokens\":0}}}}}}\n\n"
        ),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    assert_eq!(out, expected);
}

#[test]
fn tool_stream_is_byte_exact_without_usage() {
    let (out, _) = run(
        Protocol::ChatCompletions,
        &ctx(false, false),
        &tool_events(),
    );
    let chunk = |delta: &str, finish: &str| {
        format!(
            "{HEAD}{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}]}}\n\n"
        )
    };
    let expected = [
        chunk(r#"{"role":"assistant","content":""}"#, "null"),
        chunk(r#"{"content":"Let me check."}"#, "null"),
        chunk(
            r#"{"tool_calls":[{"index":0,"id":"call_abc123","type":"function","function":{"name":"get_weather","arguments":""}}]}"#,
            "null",
        ),
        chunk(
            r#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":"}}]}"#,
            "null",
        ),
        chunk(
            r#"{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}"#,
            "null",
        ),
        chunk("{}", "\"tool_calls\""),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    assert_eq!(out, expected);
}

/// Chat chunks as parsed JSON; checks the framing and that `[DONE]` is last.
fn chunks(out: &str) -> Vec<Value> {
    let f = frames(out);
    let (last, rest) = f.split_last().unwrap();
    assert_eq!(last, &(None, "[DONE]".to_owned()));
    rest.iter()
        .map(|(name, data)| {
            assert!(name.is_none());
            parse(data)
        })
        .collect()
}

#[test]
fn invariants_hold_for_every_sequence() {
    for include_usage in [false, true] {
        for events in all_sequences() {
            let (out, ended) = run(
                Protocol::ChatCompletions,
                &ctx(include_usage, false),
                &events,
            );
            assert!(ended);
            let chunks = chunks(&out);
            let first = &chunks[0];
            assert_eq!(
                first["choices"][0]["delta"],
                json!({"role": "assistant", "content": ""})
            );
            let id = first["id"].as_str().unwrap();
            assert!(id.starts_with("chatcmpl-"));
            let mut seen_calls = Vec::new();
            let mut finishes = 0;
            for (i, c) in chunks.iter().enumerate() {
                assert_eq!(c["id"], id);
                assert_eq!(c["object"], "chat.completion.chunk");
                assert_eq!(c["created"], CREATED);
                assert_eq!(c["model"], "gpt-4.1");
                assert_eq!(c.get("usage").is_some(), include_usage, "{c}");
                let choices = c["choices"].as_array().unwrap();
                if choices.is_empty() {
                    // The usage chunk: only when asked, and last.
                    assert!(include_usage);
                    assert_eq!(i, chunks.len() - 1);
                    assert!(c["usage"]["total_tokens"].is_u64());
                    continue;
                }
                if include_usage {
                    assert!(c["usage"].is_null());
                }
                if !choices[0]["finish_reason"].is_null() {
                    finishes += 1;
                    assert_eq!(choices[0]["delta"], json!({}));
                }
                for call in choices[0]["delta"]["tool_calls"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let k = call["index"].as_u64().unwrap();
                    if seen_calls.contains(&k) {
                        // E7: continuations carry no id/type/name.
                        assert!(call.get("id").is_none() && call.get("type").is_none());
                        assert!(call["function"].get("name").is_none());
                    } else {
                        assert_eq!(k, seen_calls.len() as u64);
                        assert!(call["id"].is_string() && call["function"]["name"].is_string());
                        seen_calls.push(k);
                    }
                }
            }
            assert_eq!(finishes, 1);
            let finish_chunk = if include_usage {
                &chunks[chunks.len() - 2]
            } else {
                &chunks[chunks.len() - 1]
            };
            if !seen_calls.is_empty() {
                assert_eq!(finish_chunk["choices"][0]["finish_reason"], "tool_calls");
            }
        }
    }
}

#[test]
fn parallel_calls_are_indexed_by_call() {
    let (out, _) = run(
        Protocol::ChatCompletions,
        &ctx(false, false),
        &parallel_events(),
    );
    let chunks = chunks(&out);
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    assert_eq!(calls.len(), 5);
    assert_eq!(calls[2]["index"], 1);
    // Chat ids are not restricted: passed through as the upstream gave them.
    assert_eq!(calls[2]["id"], "functions.get_time:1");
    assert_eq!(
        calls[4],
        &json!({"index": 1, "function": {"arguments": "\"CET\"}"}})
    );
}

#[test]
fn reasoning_refusal_and_usage_details() {
    let (out, _) = run(
        Protocol::ChatCompletions,
        &ctx(true, false),
        &reasoning_events(true),
    );
    let c = chunks(&out);
    assert_eq!(
        c[1]["choices"][0]["delta"],
        json!({"reasoning_content": "Think"})
    );
    // The signature has no Chat slot; the next chunk is the text.
    assert_eq!(c[3]["choices"][0]["delta"], json!({"content": "Done."}));
    assert_eq!(
        c.last().unwrap()["usage"],
        json!({
            "prompt_tokens": 100, "completion_tokens": 30, "total_tokens": 130,
            "prompt_tokens_details": {"cached_tokens": 40, "cache_write_tokens": 10},
            "completion_tokens_details": {"reasoning_tokens": 20}
        })
    );
    let (out, _) = run(
        Protocol::ChatCompletions,
        &ctx(false, false),
        &[
            START,
            Event::Refusal("No."),
            Event::Finish(Finish::ContentFilter),
            Event::End,
        ],
    );
    let c = chunks(&out);
    assert_eq!(c[1]["choices"][0]["delta"], json!({"refusal": "No."}));
    assert_eq!(c[2]["choices"][0]["finish_reason"], "content_filter");
}

#[test]
fn length_stays_length_and_missing_finish_is_stop() {
    let (out, _) = run(
        Protocol::ChatCompletions,
        &ctx(false, false),
        &length_events(),
    );
    assert_eq!(chunks(&out)[2]["choices"][0]["finish_reason"], "length");
    let (out, _) = run(
        Protocol::ChatCompletions,
        &ctx(false, false),
        &[START, Event::Text("x"), Event::End],
    );
    assert_eq!(chunks(&out)[2]["choices"][0]["finish_reason"], "stop");
}

#[test]
fn ids_are_prefixed_once_or_made_up() {
    let (out, _) = run(
        Protocol::ChatCompletions,
        &ctx(false, false),
        &[
            Event::Start {
                id: "chatcmpl-x",
                model: "m",
            },
            Event::End,
        ],
    );
    assert_eq!(chunks(&out)[0]["id"], "chatcmpl-x");
    let made = |seed| {
        let c = Ctx {
            seed,
            model: "",
            ..ctx(false, false)
        };
        let (out, _) = run(
            Protocol::ChatCompletions,
            &c,
            &[
                Event::Start {
                    id: "",
                    model: "up",
                },
                Event::End,
            ],
        );
        chunks(&out)[0].clone()
    };
    let a = made(1);
    assert!(a["id"].as_str().unwrap().len() > "chatcmpl-".len());
    assert_ne!(a["id"], made(2)["id"]);
    assert_eq!(a["id"], made(1)["id"]);
    // No model in the context: the upstream's is reported.
    assert_eq!(a["model"], "up");
}

#[test]
fn fail_after_commit_is_an_error_chunk_without_done() {
    let out = run_fail(
        Protocol::ChatCompletions,
        &ctx(true, false),
        &[START, Event::Text("Hel"), Event::Finish(Finish::Stop)],
        ErrorKind::Overloaded,
    );
    let f = frames(&out);
    assert_eq!(f.len(), 3);
    assert_eq!(
        f[2].1,
        r#"{"error":{"message":"upstream exploded","type":"server_error","param":null,"code":null}}"#
    );
    assert!(!out.contains("[DONE]"));
}
