//! Edge cases: grouping of parallel calls and results (E17, E18), id rewriting (E19), names
//! recovered for Gemini (E20), empty text (E21), signatures (E27, E28), unsupported features
//! and invalid bodies.

use serde_json::json;

use super::*;

/// Two parallel calls answered by two results, then a user follow-up.
fn parallel_chat() -> Value {
    json!({"model": "x", "messages": [
        {"role": "user", "content": "Weather and time in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "functions.get_weather:0", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}},
            {"id": "functions.get_time:1", "type": "function",
             "function": {"name": "get_time", "arguments": "{}"}}
        ]},
        {"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "sunny"},
        {"role": "tool", "tool_call_id": "functions.get_time:1", "content": [{"type": "text", "text": "{\"t\":\"noon\"}"}]},
        {"role": "user", "content": "Thanks."}
    ]})
}

#[test]
fn parallel_results_group_into_one_user_turn() {
    let req = dec(CHAT, parallel_chat());
    assert_eq!(
        req.messages,
        vec![
            text(Role::User, "Weather and time in Paris?"),
            Message {
                role: Role::Assistant,
                parts: vec![
                    call(
                        "functions.get_weather:0",
                        "get_weather",
                        r#"{"location":"Paris"}"#
                    ),
                    call("functions.get_time:1", "get_time", "{}"),
                ],
            },
            Message {
                role: Role::User,
                parts: vec![
                    result("functions.get_weather:0", "sunny"),
                    result("functions.get_time:1", r#"{"t":"noon"}"#),
                ],
            },
            text(Role::User, "Thanks."),
        ]
    );
    // Anthropic: one user message, results first, ids rewritten identically (E18, E19).
    let w = crate::ids::wire_safe("functions.get_weather:0").into_owned();
    let t = crate::ids::wire_safe("functions.get_time:1").into_owned();
    assert_ne!(w, "functions.get_weather:0");
    assert_eq!(
        enc(MSGS, &req)["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "Weather and time in Paris?"}]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": w, "name": "get_weather", "input": {"location": "Paris"}},
                {"type": "tool_use", "id": t, "name": "get_time", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": w, "content": "sunny"},
                {"type": "tool_result", "tool_use_id": t, "content": "{\"t\":\"noon\"}"},
                {"type": "text", "text": "Thanks."}
            ]}
        ])
    );
    // Responses: one item per call and per output, same rewrite.
    assert_eq!(
        enc(RESP, &req)["input"],
        json!([
            {"role": "user", "content": "Weather and time in Paris?"},
            {"type": "function_call", "call_id": w, "name": "get_weather", "arguments": "{\"location\":\"Paris\"}"},
            {"type": "function_call", "call_id": t, "name": "get_time", "arguments": "{}"},
            {"type": "function_call_output", "call_id": w, "output": "sunny"},
            {"type": "function_call_output", "call_id": t, "output": "{\"t\":\"noon\"}"},
            {"role": "user", "content": "Thanks."}
        ])
    );
    // Gemini: one user content with both responses, names recovered from the calls (E17, E20);
    // the skip signature only on the turn's first call (E28).
    assert_eq!(
        enc(GEM, &req)["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Weather and time in Paris?"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "get_weather", "args": {"location": "Paris"}, "id": "functions.get_weather:0"},
                 "thoughtSignature": "skip_thought_signature_validator"},
                {"functionCall": {"name": "get_time", "args": {}, "id": "functions.get_time:1"}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "id": "functions.get_weather:0", "response": {"content": "sunny"}}},
                {"functionResponse": {"name": "get_time", "id": "functions.get_time:1", "response": {"t": "noon"}}},
                {"text": "Thanks."}
            ]}
        ])
    );
    // Chat: the tool-only assistant turn has `content: null`; one tool message per result.
    assert_eq!(
        enc(CHAT, &req)["messages"],
        json!([
            {"role": "user", "content": "Weather and time in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "functions.get_weather:0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}},
                {"id": "functions.get_time:1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "sunny"},
            {"role": "tool", "tool_call_id": "functions.get_time:1", "content": "{\"t\":\"noon\"}"},
            {"role": "user", "content": "Thanks."}
        ])
    );
}

#[test]
fn responses_function_calls_join_the_assistant_message() {
    let body = json!({"model": "x", "input": [
        {"role": "user", "content": "q"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
        {"type": "function_call", "call_id": "c1", "name": "a", "arguments": "{}"},
        {"type": "function_call", "call_id": "c2", "name": "b", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "1"},
        {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "2"}]}
    ]});
    let req = dec(RESP, body);
    assert_eq!(
        req.messages,
        vec![
            text(Role::User, "q"),
            Message {
                role: Role::Assistant,
                parts: vec![
                    Part::Text("Checking.".into()),
                    call("c1", "a", "{}"),
                    call("c2", "b", "{}")
                ],
            },
            Message {
                role: Role::User,
                parts: vec![result("c1", "1"), result("c2", "2")]
            },
        ]
    );
}

#[test]
fn anthropic_thinking_replays_only_to_anthropic() {
    let body = json!({"model": "c", "max_tokens": 8000,
        "thinking": {"type": "enabled", "budget_tokens": 2000},
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "SIG"},
                {"type": "redacted_thinking", "data": "RED"},
                {"type": "text", "text": ""},
                {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
            ]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "ok"}]}]}
        ]
    });
    let req = dec(MSGS, body);
    assert_eq!(req.params.reasoning_budget, Some(2000));
    assert_eq!(
        req.messages[1].parts.len(),
        3,
        "the empty text block is dropped (E21)"
    );
    let out = enc(MSGS, &req);
    assert_eq!(
        out["thinking"],
        json!({"type": "enabled", "budget_tokens": 2000})
    );
    assert_eq!(
        out["messages"][1]["content"],
        json!([
            {"type": "thinking", "thinking": "hmm", "signature": "SIG"},
            {"type": "redacted_thinking", "data": "RED"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
        ])
    );
    assert_eq!(
        enc(CHAT, &req)["messages"][1],
        json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ]})
    );
    assert_eq!(
        enc(GEM, &req)["contents"][1]["parts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Foreign (unsigned) reasoning is never sent as thinking, and without signed thinking in
    // the tool turn the budget is left out (E27).
    let mut foreign = req.clone();
    foreign.messages[1].parts.drain(..2);
    foreign.messages[1].parts.insert(
        0,
        Part::Reasoning(ir::Reasoning {
            text: "x".into(),
            signature: None,
            redacted: None,
        }),
    );
    let out = enc(MSGS, &foreign);
    assert_eq!(out.get("thinking"), None);
    assert_eq!(
        out["messages"][1]["content"],
        json!([{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}])
    );
}

#[test]
fn unsupported_features_are_named() {
    let user = || json!([{"role": "user", "content": "q"}]);
    let resp = |extra: Value| {
        let mut b = json!({"model": "x", "input": "q"});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    assert_eq!(
        dec_err(RESP, resp(json!({"previous_response_id": "resp_1"}))),
        unsupported("previous_response_id")
    );
    assert_eq!(
        dec_err(RESP, resp(json!({"conversation": "conv_1"}))),
        unsupported("conversation")
    );
    // Hosted tools are dropped, not refused: `fields.rs`.
    // Ignored: state and bookkeeping fields with no meaning for the answer.
    let ignored = resp(
        json!({"store": false, "metadata": {"a": "b"}, "truncation": "disabled",
        "include": ["reasoning.encrypted_content"], "service_tier": "auto", "safety_identifier": "u",
        "prompt_cache_key": "k"}),
    );
    assert_eq!(dec(RESP, ignored).messages, vec![text(Role::User, "q")]);
    assert_eq!(
        dec_err(CHAT, json!({"model": "x", "messages": user(), "n": 2})),
        unsupported("`n` greater than 1")
    );
    assert_eq!(
        dec_err(
            CHAT,
            json!({"model": "x", "messages": user(), "logprobs": true})
        ),
        unsupported("logprobs")
    );
    assert_eq!(
        dec_err(
            CHAT,
            json!({"model": "x", "messages": user(), "tools": [{"type": "custom", "custom": {"name": "x"}}]})
        ),
        unsupported("`custom` tools")
    );
    // Audio from Chat reaches Gemini, not Anthropic or Responses.
    let audio = dec(
        CHAT,
        json!({"model": "x", "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}}]}]}),
    );
    assert_eq!(enc_err(MSGS, &audio), unsupported("audio input"));
    assert_eq!(enc_err(RESP, &audio), unsupported("audio input"));
    assert_eq!(
        enc(GEM, &audio)["contents"][0]["parts"][0],
        json!({"inlineData": {"mimeType": "audio/wav", "data": "UklG"}})
    );
}

#[test]
fn wrong_types_are_invalid_naming_the_field() {
    let bad = json!({"model": "x", "messages": [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": 7}
    ]});
    assert_eq!(
        dec_err(CHAT, bad),
        Error::Invalid("`messages[2].content` must be a string or an array".into())
    );
    assert_eq!(
        dec_err(
            CHAT,
            json!({"model": "x", "messages": [{"role": "user", "content": "a"}], "temperature": "hot"})
        ),
        Error::Invalid("`temperature` must be a number".into())
    );
    assert_eq!(
        dec_err(CHAT, json!({"model": "x"})),
        Error::Invalid("`messages` is required".into())
    );
    assert_eq!(
        dec_err(
            MSGS,
            json!({"model": "x", "max_tokens": -1, "messages": []})
        ),
        Error::Invalid("`max_tokens` must be a non-negative integer".into())
    );
    assert_eq!(
        dec_err(
            RESP,
            json!({"model": "x", "input": [{"type": "function_call", "name": "f"}]})
        ),
        Error::Invalid("`input[0].call_id` is required".into())
    );
    assert_eq!(
        dec_err(GEM, json!({"contents": [{"role": "bot", "parts": []}]})),
        Error::Invalid("`contents[0].role` `bot` is not a Gemini role".into())
    );
    assert!(matches!(
        decode(CHAT, b"[1]", false),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(decode(CHAT, b"{", false), Err(Error::Invalid(_))));
    // Arguments that are not an object cannot become Anthropic `input`.
    let req = ir::Request {
        messages: vec![Message {
            role: Role::Assistant,
            parts: vec![call("c", "f", "[1]")],
        }],
        ..ir::Request::default()
    };
    assert!(matches!(enc_err(MSGS, &req), Error::Invalid(_)));
}

#[test]
fn system_prompts_keep_their_order_and_render_once() {
    let body = json!({"model": "x", "messages": [
        {"role": "system", "content": "one"},
        {"role": "user", "content": "q"},
        {"role": "developer", "content": [{"type": "text", "text": "two"}]},
        {"role": "user", "content": "r"}
    ]});
    let req = dec(CHAT, body);
    assert_eq!(req.system, ["one", "two"]);
    assert_eq!(
        enc(CHAT, &req)["messages"],
        json!([
            {"role": "system", "content": "one\n\ntwo"},
            {"role": "user", "content": "q"},
            {"role": "user", "content": "r"}
        ])
    );
    assert_eq!(enc(RESP, &req)["instructions"], json!("one\n\ntwo"));
    assert_eq!(enc(MSGS, &req)["system"], json!("one\n\ntwo"));
    // Consecutive user turns merge for the alternating wires.
    assert_eq!(
        enc(MSGS, &req)["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "q"}, {"type": "text", "text": "r"}]}])
    );
    assert_eq!(
        enc(GEM, &req),
        json!({
            "systemInstruction": {"parts": [{"text": "one"}, {"text": "two"}]},
            "contents": [{"role": "user", "parts": [{"text": "q"}, {"text": "r"}]}]
        })
    );
    let resp = json!({"model": "x", "instructions": "a", "input": [
        {"role": "developer", "content": "b"}, {"role": "user", "content": "q"}]});
    assert_eq!(dec(RESP, resp).system, ["a", "b"]);
    let msgs = json!({"model": "x", "max_tokens": 9, "system": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
        "messages": [{"role": "user", "content": "q"}]});
    assert_eq!(dec(MSGS, msgs).system, ["a", "b"]);
}
