//! OpenAI Responses encoder tests.

use super::*;

/// Frames as (event name, parsed data); checks each is named after its `type` and that
/// `sequence_number` counts up from 0 by one.
fn events(out: &str) -> Vec<(String, Value)> {
    frames(out)
        .into_iter()
        .enumerate()
        .map(|(i, (name, data))| {
            let name = name.expect("every Responses event is named");
            let v = parse(&data);
            assert_eq!(v["type"], name.as_str());
            assert_eq!(v["sequence_number"], i as u64, "{data}");
            (name, v)
        })
        .collect()
}

/// E14 and docs/protocols.md#stream-encoders: created, in_progress, then items one at a time with
/// their full lifecycle (every delta after its `output_item.added`, `output_index` sequential), one
/// terminal last. Returns the terminal response.
fn check_structure(ev: &[(String, Value)]) -> Value {
    assert_eq!(ev[0].0, "response.created");
    assert_eq!(ev[1].0, "response.in_progress");
    for (_, v) in &ev[..2] {
        assert_eq!(v["response"]["status"], "in_progress");
        assert_eq!(v["response"]["output"], json!([]));
        assert!(v["response"]["usage"].is_null());
    }
    let mut open: Option<(u64, String)> = None;
    let mut added = 0;
    let mut done_items = Vec::new();
    for (i, (name, v)) in ev.iter().enumerate().skip(2) {
        match name.as_str() {
            "response.output_item.added" => {
                assert!(open.is_none(), "interleaved items at {i}");
                assert_eq!(v["output_index"], added);
                assert_ne!(v["item"]["status"], "completed");
                open = Some((added, v["item"]["id"].as_str().unwrap().to_owned()));
                added += 1;
            }
            "response.output_item.done" => {
                let (idx, id) = open.take().expect("done without added");
                assert_eq!(v["output_index"], idx);
                assert_eq!(v["item"]["id"], id.as_str());
                if let Some(status) = v["item"].get("status") {
                    assert_eq!(status, "completed");
                }
                done_items.push(v["item"].clone());
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                assert_eq!(i, ev.len() - 1, "terminal not last");
                if name != "response.failed" {
                    assert!(open.is_none());
                    assert_eq!(v["response"]["output"], Value::Array(done_items.clone()));
                }
                return v["response"].clone();
            }
            _ => {
                let (idx, id) = open.as_ref().expect("event outside an item");
                assert_eq!(v["output_index"], *idx, "{v}");
                assert_eq!(v["item_id"], id.as_str());
                if name.starts_with("response.output_text.") {
                    assert_eq!(v["logprobs"], json!([]));
                }
            }
        }
    }
    panic!("no terminal event");
}

#[test]
fn text_stream_is_byte_exact() {
    let (out, ended) = run(Protocol::Responses, &ctx(false, false), &text_events());
    assert!(ended);
    let mut msg = String::new();
    crate::ids::synthesize("msg_", 7, 1, &mut msg);
    let resp = |status: &str, output: &str, usage: &str| {
        format!(
            r#"{{"id":"resp_test123","object":"response","created_at":1767225600,"status":"{status}","error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"gpt-4.1","output":[{output}],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{{"effort":null,"summary":null}},"store":false,"temperature":null,"text":{{"format":{{"type":"text"}}}},"tool_choice":"auto","tools":[],"top_p":null,"truncation":"disabled","usage":{usage},"user":null,"metadata":{{}}}}"#
        )
    };
    let ev = |name: &str, body: String| format!("event: {name}\ndata: {body}\n\n");
    let item = format!(
        r#"{{"id":"{msg}","type":"message","status":"completed","role":"assistant","content":[{{"type":"output_text","text":"Hello!","annotations":[],"logprobs":[]}}]}}"#
    );
    let expected = [
        ev(
            "response.created",
            format!(
                r#"{{"type":"response.created","sequence_number":0,"response":{}}}"#,
                resp("in_progress", "", "null")
            ),
        ),
        ev(
            "response.in_progress",
            format!(
                r#"{{"type":"response.in_progress","sequence_number":1,"response":{}}}"#,
                resp("in_progress", "", "null")
            ),
        ),
        ev(
            "response.output_item.added",
            format!(
                r#"{{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{{"id":"{msg}","type":"message","status":"in_progress","role":"assistant","content":[]}}}}"#
            ),
        ),
        ev(
            "response.content_part.added",
            format!(
                r#"{{"type":"response.content_part.added","sequence_number":3,"item_id":"{msg}","output_index":0,"content_index":0,"part":{{"type":"output_text","text":"","annotations":[],"logprobs":[]}}}}"#
            ),
        ),
        ev(
            "response.output_text.delta",
            format!(
                r#"{{"type":"response.output_text.delta","sequence_number":4,"item_id":"{msg}","output_index":0,"content_index":0,"delta":"Hel","logprobs":[]}}"#
            ),
        ),
        ev(
            "response.output_text.delta",
            format!(
                r#"{{"type":"response.output_text.delta","sequence_number":5,"item_id":"{msg}","output_index":0,"content_index":0,"delta":"lo!","logprobs":[]}}"#
            ),
        ),
        ev(
            "response.output_text.done",
            format!(
                r#"{{"type":"response.output_text.done","sequence_number":6,"item_id":"{msg}","output_index":0,"content_index":0,"text":"Hello!","logprobs":[]}}"#
            ),
        ),
        ev(
            "response.content_part.done",
            format!(
                r#"{{"type":"response.content_part.done","sequence_number":7,"item_id":"{msg}","output_index":0,"content_index":0,"part":{{"type":"output_text","text":"Hello!","annotations":[],"logprobs":[]}}}}"#
            ),
        ),
        ev(
            "response.output_item.done",
            format!(
                r#"{{"type":"response.output_item.done","sequence_number":8,"output_index":0,"item":{item}}}"#
            ),
        ),
        ev(
            "response.completed",
            format!(
                r#"{{"type":"response.completed","sequence_number":9,"response":{}}}"#,
                resp(
                    "completed",
                    &item,
                    r#"{"input_tokens":19,"input_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":22}"#
                )
            ),
        ),
    ]
    .concat();
    assert_eq!(out, expected);
}

#[test]
fn text_then_tool_follows_worked_translation_c() {
    let (out, _) = run(Protocol::Responses, &ctx(false, false), &tool_events());
    let ev = events(&out);
    let resp = check_structure(&ev);
    let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names[2..],
        [
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let added = &ev[8].1["item"];
    let fc = added["id"].as_str().unwrap();
    assert!(fc.starts_with("fc_"));
    assert_eq!(
        added,
        &json!({"id": fc, "type": "function_call", "status": "in_progress",
            "call_id": "call_abc123", "name": "get_weather", "arguments": ""})
    );
    assert_eq!(ev[11].1["arguments"], "{\"location\":\"Paris\"}");
    assert_eq!(ev[11].1["name"], "get_weather");
    assert_eq!(resp["status"], "completed");
    assert_eq!(resp["output"][1]["arguments"], "{\"location\":\"Paris\"}");
    assert_eq!(resp["output"][1]["status"], "completed");
    assert_eq!(resp["usage"]["total_tokens"], 77);
}

#[test]
fn parallel_calls_are_separate_items_with_safe_call_ids() {
    let (out, _) = run(Protocol::Responses, &ctx(false, false), &parallel_events());
    let resp = check_structure(&events(&out));
    let output = resp["output"].as_array().unwrap();
    assert_eq!(output.len(), 2);
    assert_eq!(output[0]["call_id"], "call_1");
    assert_eq!(
        output[1]["call_id"],
        &*crate::ids::wire_safe("functions.get_time:1")
    );
    assert_eq!(output[1]["arguments"], "{\"tz\":\"CET\"}");
    assert_ne!(output[0]["id"], output[1]["id"]);
}

#[test]
fn reasoning_becomes_a_summary_item() {
    let (out, _) = run(
        Protocol::Responses,
        &ctx(false, false),
        &reasoning_events(true),
    );
    let resp = check_structure(&events(&out));
    let rs = &resp["output"][0];
    assert_eq!(rs["type"], "reasoning");
    assert!(rs["id"].as_str().unwrap().starts_with("rs_"));
    assert_eq!(
        rs["summary"],
        json!([{"type": "summary_text", "text": "Thinking."}])
    );
    assert_eq!(resp["output"][1]["content"][0]["text"], "Done.");
    assert_eq!(
        resp["usage"],
        json!({"input_tokens": 100, "input_tokens_details": {"cached_tokens": 40, "cache_write_tokens": 10},
            "output_tokens": 30, "output_tokens_details": {"reasoning_tokens": 20}, "total_tokens": 130})
    );
}

#[test]
fn invariants_for_every_sequence() {
    for events_in in all_sequences() {
        let (out, ended) = run(Protocol::Responses, &ctx(false, false), &events_in);
        assert!(ended);
        assert!(!out.contains("[DONE]"));
        check_structure(&events(&out));
    }
}

#[test]
fn length_and_filter_are_incomplete() {
    let (out, _) = run(Protocol::Responses, &ctx(false, false), &length_events());
    let ev = events(&out);
    let resp = check_structure(&ev);
    assert_eq!(ev.last().unwrap().0, "response.incomplete");
    assert_eq!(resp["status"], "incomplete");
    assert_eq!(
        resp["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    // Usage that came after the finish is in the terminal (E1).
    assert_eq!(resp["usage"]["output_tokens"], 1);
    let (out, _) = run(
        Protocol::Responses,
        &ctx(false, false),
        &[
            START,
            Event::Refusal("No."),
            Event::Finish(Finish::ContentFilter),
            Event::End,
        ],
    );
    let ev = events(&out);
    let resp = check_structure(&ev);
    assert_eq!(
        resp["incomplete_details"],
        json!({"reason": "content_filter"})
    );
    assert_eq!(
        resp["output"][0]["content"],
        json!([{"type": "refusal", "refusal": "No."}])
    );
    assert!(ev.iter().any(|(n, _)| n == "response.refusal.delta"));
}

#[test]
fn text_refusal_text_switches_parts() {
    let (out, _) = run(
        Protocol::Responses,
        &ctx(false, false),
        &[
            START,
            Event::Text("a"),
            Event::Refusal("b"),
            Event::Text("c"),
            Event::End,
        ],
    );
    let ev = events(&out);
    let resp = check_structure(&ev);
    let content = &resp["output"][0]["content"];
    assert_eq!(content.as_array().unwrap().len(), 3);
    assert_eq!(content[2]["text"], "c");
    let idx: Vec<u64> = ev
        .iter()
        .filter(|(n, _)| n == "response.content_part.added")
        .map(|(_, v)| v["content_index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, [0, 1, 2]);
}

#[test]
fn fail_after_commit_is_response_failed() {
    let out = run_fail(
        Protocol::Responses,
        &ctx(false, false),
        &[
            START,
            Event::Text("Hel"),
            Event::ToolStart {
                id: "c1",
                name: "f",
                namespace: None,
            },
        ],
        ErrorKind::Server,
    );
    let ev = events(&out);
    let resp = check_structure(&ev);
    assert_eq!(ev.last().unwrap().0, "response.failed");
    assert_eq!(resp["status"], "failed");
    assert_eq!(
        resp["error"],
        json!({"code": "server_error", "message": "upstream exploded"})
    );
    // The finished message item is reported; the cut call is not.
    assert_eq!(resp["output"].as_array().unwrap().len(), 1);
}
