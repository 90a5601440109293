//! Ids (E19, E20), tool arguments for object wires (E36), vendor quirks and absurd counts.

use compiler::table::Protocol;
use serde_json::json;

use super::{dec, enc, made_up};
use crate::ir::{Finish, Part, Response, ToolCall};

fn call(id: &str, args: &str) -> Part {
    call_named(id, "get_weather", args)
}

#[test]
fn tool_call_ids_are_made_wire_safe_only_where_the_wire_needs_it() {
    let r = Response {
        parts: vec![call("functions.get_weather:0", "{}")],
        finish: Finish::ToolCalls,
        ..Response::default()
    };
    let safe = crate::ids::wire_safe("functions.get_weather:0").into_owned();
    assert_ne!(safe, "functions.get_weather:0");
    assert_eq!(
        enc(Protocol::Messages, &r)["content"][0]["id"],
        safe.as_str()
    );
    assert_eq!(
        enc(Protocol::Responses, &r)["output"][0]["call_id"],
        safe.as_str()
    );
    assert_eq!(
        enc(Protocol::ChatCompletions, &r)["choices"][0]["message"]["tool_calls"][0]["id"],
        "functions.get_weather:0"
    );
}

#[test]
fn response_ids_get_the_caller_prefix_or_are_made_up() {
    let r = Response {
        id: "abc".into(),
        ..Response::default()
    };
    assert_eq!(enc(Protocol::ChatCompletions, &r)["id"], "chatcmpl-abc");
    assert_eq!(enc(Protocol::Responses, &r)["id"], "resp_abc");
    assert_eq!(enc(Protocol::Messages, &r)["id"], "msg_abc");
    assert_eq!(enc(Protocol::GenerateContent, &r)["responseId"], "abc");
    let none = Response::default();
    assert_eq!(
        enc(Protocol::ChatCompletions, &none)["id"],
        made_up("chatcmpl-", 0).as_str()
    );
    assert_eq!(
        enc(Protocol::Responses, &none)["id"],
        made_up("resp_", 0).as_str()
    );
    assert_eq!(
        enc(Protocol::Messages, &none)["id"],
        made_up("msg_", 0).as_str()
    );
    assert_eq!(
        enc(Protocol::GenerateContent, &none)["responseId"],
        made_up("", 0).as_str()
    );
}

#[test]
fn arguments_that_are_not_an_object_are_never_sent_as_half_objects() {
    let r = Response {
        parts: vec![
            call("c1", r#"{"location":"Par"#),
            call("c2", ""),
            call("c3", "[1]"),
        ],
        finish: Finish::ToolCalls,
        ..Response::default()
    };
    let m = enc(Protocol::Messages, &r);
    assert_eq!(
        m["content"][0]["input"],
        json!({"_raw": "{\"location\":\"Par"})
    );
    assert_eq!(m["content"][1]["input"], json!({}));
    assert_eq!(m["content"][2]["input"], json!({"_raw": "[1]"}));
    let g = enc(Protocol::GenerateContent, &r);
    assert_eq!(
        g["candidates"][0]["content"]["parts"][0]["functionCall"]["args"],
        json!({"_raw": "{\"location\":\"Par"})
    );
    // The string wires carry the text as it came.
    let c = enc(Protocol::ChatCompletions, &r);
    assert_eq!(
        c["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
        "{\"location\":\"Par"
    );
}

#[test]
fn chat_content_arrays_and_vendor_quirks_decode() {
    let body = json!({"id": "c", "created": 1, "model": "m", "choices": [{"index": 0,
      "message": {"role": "assistant", "content": [{"type": "text", "text": "a"},
        {"type": "text", "text": ""}], "tool_calls": [
          {"type": "function", "function": {"name": "f", "arguments": ""}}]},
      "finish_reason": "stop"}]});
    let r = dec(Protocol::ChatCompletions, &body).unwrap();
    // Empty text dropped, missing id made up, empty args are `{}`, `stop` + call = tool calls.
    assert_eq!(
        r.parts,
        vec![
            Part::Text("a".into()),
            call_named(&made_up("call_", 0), "f", "{}")
        ]
    );
    assert_eq!(r.finish, Finish::ToolCalls);
    // `tool_calls: []` is no tool call (E12).
    let body = json!({"choices": [{"message": {"content": "x", "tool_calls": []},
      "finish_reason": "stop"}]});
    assert_eq!(
        dec(Protocol::ChatCompletions, &body).unwrap().finish,
        Finish::Stop
    );
}

fn call_named(id: &str, name: &str, args: &str) -> Part {
    Part::ToolCall(ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: args.into(),
        signature: None,
        namespace: None,
    })
}

#[test]
fn absurd_token_counts_saturate_instead_of_overflowing() {
    let max = u64::MAX;
    let m = dec(
        Protocol::Messages,
        &json!({"content": [], "usage": {"input_tokens": max,
      "cache_read_input_tokens": max, "cache_creation_input_tokens": 1, "output_tokens": max}}),
    )
    .unwrap();
    assert_eq!(m.usage.input, max);
    let g = dec(
        Protocol::GenerateContent,
        &json!({"candidates": [{"finishReason": "STOP"}],
      "usageMetadata": {"promptTokenCount": max, "toolUsePromptTokenCount": 1,
        "candidatesTokenCount": max, "thoughtsTokenCount": 1, "totalTokenCount": max}}),
    )
    .unwrap();
    assert_eq!((g.usage.input, g.usage.output), (max, max));
    for caller in [
        Protocol::ChatCompletions,
        Protocol::Responses,
        Protocol::GenerateContent,
    ] {
        let body = enc(caller, &m);
        let total = ["usage", "usageMetadata"]
            .iter()
            .find_map(|k| body.get(k))
            .and_then(|u| u.get("total_tokens").or_else(|| u.get("totalTokenCount")))
            .cloned();
        assert_eq!(total, Some(json!(max)), "{caller:?}");
    }
}
