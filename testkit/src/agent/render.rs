//! An agent [`Answer`] in each wire format, whole or streamed, in the shapes of the reference
//! vectors (`testkit/vectors/`): the same objects, event names, ordering and usage blocks,
//! with the answer's text or call in place of theirs.

use serde_json::{Value, json};

use super::Answer;
use crate::protocols::{Events, Protocol};

const CREATED: u64 = 1_767_225_600;
const CALL_ID: &str = "call_agent_1";
const TOOLU_ID: &str = "toolu_agent_1";

/// Arguments as an object (Anthropic `input`, Gemini `args`).
fn args_object(args: &str) -> Value {
    serde_json::from_str(args).unwrap_or_else(|_| json!({}))
}

/// The whole (non-streaming) answer body.
pub(crate) fn body(p: Protocol, model: &str, a: &Answer) -> Vec<u8> {
    let v = match p {
        Protocol::Chat => chat_body(model, a),
        Protocol::Responses => responses_object(model, a, "completed"),
        Protocol::Messages => messages_body(model, a),
        Protocol::Gemini => gemini_chunk(model, a),
    };
    v.to_string().into_bytes()
}

/// The streamed answer, event by event (`usage`: the Chat caller asked for the usage chunk).
pub(crate) fn stream(p: Protocol, model: &str, usage: bool, a: &Answer, ev: &mut Events<'_>) {
    match p {
        Protocol::Chat => chat_stream(model, usage, a, ev),
        Protocol::Responses => responses_stream(model, a, ev),
        Protocol::Messages => messages_stream(model, a, ev),
        Protocol::Gemini => {
            ev.content();
            ev.push_raw("", &gemini_chunk(model, a).to_string());
        }
    }
}

fn chat_usage() -> Value {
    json!({"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60})
}

fn chat_body(model: &str, a: &Answer) -> Value {
    let (message, finish) = match a {
        Answer::Text(t) => (
            json!({"role": "assistant", "content": t, "refusal": null, "annotations": []}),
            "stop",
        ),
        Answer::Call { name, args } => (
            json!({"role": "assistant", "content": null, "refusal": null, "annotations": [],
                   "tool_calls": [{"id": CALL_ID, "type": "function", "function": {"name": name, "arguments": args}}]}),
            "tool_calls",
        ),
    };
    json!({"id": "chatcmpl-agent", "object": "chat.completion", "created": CREATED, "model": model,
           "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
           "usage": chat_usage()})
}

fn chat_stream(model: &str, usage: bool, a: &Answer, ev: &mut Events<'_>) {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-agent", "object": "chat.completion.chunk", "created": CREATED, "model": model,
               "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
        .to_string()
    };
    let finish = match a {
        Answer::Text(t) => {
            ev.push_raw(
                "",
                &chunk(json!({"role": "assistant", "content": ""}), Value::Null),
            );
            ev.content();
            ev.push_raw("", &chunk(json!({"content": t}), Value::Null));
            "stop"
        }
        Answer::Call { name, args } => {
            ev.content();
            ev.push_raw("", &chunk(
                json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": CALL_ID,
                       "type": "function", "function": {"name": name, "arguments": ""}}]}),
                Value::Null,
            ));
            ev.push_raw(
                "",
                &chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": args}}]}),
                    Value::Null,
                ),
            );
            "tool_calls"
        }
    };
    ev.push_raw("", &chunk(json!({}), json!(finish)));
    if usage {
        ev.push_raw(
            "",
            &json!({"id": "chatcmpl-agent", "object": "chat.completion.chunk", "created": CREATED,
                    "model": model, "choices": [], "usage": chat_usage()})
            .to_string(),
        );
    }
    ev.push_raw("", "[DONE]");
}

fn output_item(a: &Answer, done: bool) -> Value {
    let status = if done { "completed" } else { "in_progress" };
    match a {
        Answer::Text(t) => {
            let content = if done {
                json!([{"type": "output_text", "text": t, "annotations": [], "logprobs": []}])
            } else {
                json!([])
            };
            json!({"id": "msg_agent_1", "type": "message", "status": status, "role": "assistant", "content": content})
        }
        Answer::Call { name, args } => {
            json!({"id": "fc_agent_1", "type": "function_call", "status": status,
            "call_id": CALL_ID, "name": name, "arguments": if done { args.as_str() } else { "" }})
        }
    }
}

fn responses_object(model: &str, a: &Answer, status: &str) -> Value {
    let done = status == "completed";
    let output = if done {
        json!([output_item(a, true)])
    } else {
        json!([])
    };
    let usage = if done {
        json!({"input_tokens": 50, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 10,
               "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 60})
    } else {
        Value::Null
    };
    json!({"id": "resp_agent", "object": "response", "created_at": CREATED, "status": status, "error": null,
           "incomplete_details": null, "instructions": null, "max_output_tokens": null, "model": model,
           "output": output, "parallel_tool_calls": true, "previous_response_id": null,
           "reasoning": {"effort": null, "summary": null}, "store": false, "temperature": 1.0,
           "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [], "top_p": 1.0,
           "truncation": "disabled", "usage": usage, "user": null, "metadata": {}})
}

fn responses_stream(model: &str, a: &Answer, ev: &mut Events<'_>) {
    let mut seq = 0u64;
    let mut push = |ev: &mut Events<'_>, mut v: Value| {
        v["sequence_number"] = seq.into();
        seq += 1;
        let name = v["type"].as_str().unwrap_or_default().to_owned();
        ev.push_raw(&name, &v.to_string());
    };
    for ty in ["response.created", "response.in_progress"] {
        push(
            ev,
            json!({"type": ty, "response": responses_object(model, a, "in_progress")}),
        );
    }
    match a {
        Answer::Text(t) => {
            push(
                ev,
                json!({"type": "response.output_item.added", "output_index": 0, "item": output_item(a, false)}),
            );
            let part = |text: &str| json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []});
            let at = json!({"item_id": "msg_agent_1", "output_index": 0, "content_index": 0});
            let with = |mut v: Value| {
                if let (Some(o), Some(a)) = (v.as_object_mut(), at.as_object()) {
                    o.extend(a.clone());
                }
                v
            };
            push(
                ev,
                with(json!({"type": "response.content_part.added", "part": part("")})),
            );
            ev.content();
            push(
                ev,
                with(json!({"type": "response.output_text.delta", "delta": t, "logprobs": []})),
            );
            push(
                ev,
                with(json!({"type": "response.output_text.done", "text": t, "logprobs": []})),
            );
            push(
                ev,
                with(json!({"type": "response.content_part.done", "part": part(t)})),
            );
        }
        Answer::Call { name, args } => {
            ev.content();
            push(
                ev,
                json!({"type": "response.output_item.added", "output_index": 0, "item": output_item(a, false)}),
            );
            push(
                ev,
                json!({"type": "response.function_call_arguments.delta", "item_id": "fc_agent_1",
                            "output_index": 0, "delta": args}),
            );
            push(
                ev,
                json!({"type": "response.function_call_arguments.done", "item_id": "fc_agent_1",
                            "output_index": 0, "name": name, "arguments": args}),
            );
        }
    }
    push(
        ev,
        json!({"type": "response.output_item.done", "output_index": 0, "item": output_item(a, true)}),
    );
    push(
        ev,
        json!({"type": "response.completed", "response": responses_object(model, a, "completed")}),
    );
}

fn messages_body(model: &str, a: &Answer) -> Value {
    let (content, stop) = match a {
        Answer::Text(t) => (json!([{"type": "text", "text": t}]), "end_turn"),
        Answer::Call { name, args } => (
            json!([{"type": "tool_use", "id": TOOLU_ID, "name": name, "input": args_object(args)}]),
            "tool_use",
        ),
    };
    json!({"id": "msg_agent", "type": "message", "role": "assistant", "model": model, "content": content,
           "stop_reason": stop, "stop_sequence": null,
           "usage": {"input_tokens": 50, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 10}})
}

fn messages_stream(model: &str, a: &Answer, ev: &mut Events<'_>) {
    let push = |ev: &mut Events<'_>, v: Value| {
        let name = v["type"].as_str().unwrap_or_default().to_owned();
        ev.push_raw(&name, &v.to_string());
    };
    push(
        ev,
        json!({"type": "message_start", "message": {"id": "msg_agent", "type": "message", "role": "assistant",
        "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": 50, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1}}}),
    );
    let (block, delta, stop) = match a {
        Answer::Text(t) => (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": t}),
            "end_turn",
        ),
        Answer::Call { name, args } => (
            json!({"type": "tool_use", "id": TOOLU_ID, "name": name, "input": {}}),
            json!({"type": "input_json_delta", "partial_json": args}),
            "tool_use",
        ),
    };
    push(
        ev,
        json!({"type": "content_block_start", "index": 0, "content_block": block}),
    );
    push(ev, json!({"type": "ping"}));
    ev.content();
    push(
        ev,
        json!({"type": "content_block_delta", "index": 0, "delta": delta}),
    );
    push(ev, json!({"type": "content_block_stop", "index": 0}));
    push(
        ev,
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                    "usage": {"output_tokens": 10}}),
    );
    push(ev, json!({"type": "message_stop"}));
}

fn gemini_chunk(model: &str, a: &Answer) -> Value {
    let part = match a {
        Answer::Text(t) => json!({"text": t}),
        Answer::Call { name, args } => {
            json!({"functionCall": {"name": name, "args": args_object(args)}})
        }
    };
    json!({"candidates": [{"content": {"parts": [part], "role": "model"}, "finishReason": "STOP", "index": 0}],
           "usageMetadata": {"promptTokenCount": 50, "candidatesTokenCount": 10, "totalTokenCount": 60},
           "modelVersion": model, "responseId": "agent-response"})
}
