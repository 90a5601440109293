//! Gemini callers: made-up ids stable across turns and results matched by name (E20),
//! kept ids and signatures (E28), snake_case keys (E39), schema sanitising (E25).

use serde_json::json;

use super::*;
use crate::gemini::request::made_up_id;

#[test]
fn gemini_calls_without_ids_get_stable_made_up_ids() {
    let turn1 = json!([
        {"role": "user", "parts": [{"text": "Weather in Paris and Rome?"}]},
        {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}},
            {"functionCall": {"name": "get_weather", "args": {"location": "Rome"}}}
        ]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"content": "sunny"}}},
            {"functionResponse": {"name": "get_weather", "response": {"error": "no data"}}}
        ]}
    ]);
    let mut turn2 = turn1.as_array().unwrap().clone();
    turn2.push(
        json!({"role": "model", "parts": [{"functionCall": {"name": "get_time", "args": {}}}]}),
    );
    turn2.push(json!({"role": "user", "parts": [{"functionResponse": {"name": "get_time", "response": {"result": "noon"}}}]}));
    let (a, b, c) = (made_up_id(0), made_up_id(1), made_up_id(2));
    assert_ne!(a, b);
    let first = dec(GEM, json!({"contents": turn1}));
    let second = dec(GEM, json!({"contents": turn2}));
    // The first turn's ids are the same when the history is sent again.
    assert_eq!(first.messages[..], second.messages[..3]);
    let named = |id: &str, t: &str, err: bool| {
        Part::ToolResult(ToolResult {
            id: id.into(),
            name: Some(
                if err || t == "sunny" {
                    "get_weather"
                } else {
                    "get_time"
                }
                .into(),
            ),
            content: vec![Part::Text(t.into())],
            is_error: err,
        })
    };
    assert_eq!(
        second.messages[1..],
        [
            Message {
                role: Role::Assistant,
                parts: vec![
                    call(&a, "get_weather", r#"{"location":"Paris"}"#),
                    call(&b, "get_weather", r#"{"location":"Rome"}"#),
                ],
            },
            Message {
                role: Role::User,
                parts: vec![named(&a, "sunny", false), named(&b, "no data", true)]
            },
            Message {
                role: Role::Assistant,
                parts: vec![call(&c, "get_time", "{}")]
            },
            Message {
                role: Role::User,
                parts: vec![named(&c, "noon", false)]
            },
        ]
    );
    // The error result goes to Anthropic flagged, to Gemini as `{"error": …}`.
    assert_eq!(
        enc(MSGS, &first)["messages"][2]["content"][1],
        json!({"type": "tool_result", "tool_use_id": b, "content": "no data", "is_error": true})
    );
    assert_eq!(
        enc(GEM, &first)["contents"][2]["parts"][1],
        json!({"functionResponse": {"name": "get_weather", "id": b, "response": {"error": "no data"}}})
    );
    assert_eq!(
        enc(CHAT, &first)["messages"][3],
        json!({"role": "tool", "tool_call_id": b, "content": "Error: no data"})
    );
}

#[test]
fn gemini_ids_and_signatures_are_kept() {
    let body = json!({"contents": [
        {"role": "user", "parts": [{"text": "q"}]},
        {"role": "model", "parts": [
            {"functionCall": {"name": "f", "args": {}, "id": "g1"}, "thoughtSignature": "c2ln"},
            {"functionCall": {"name": "f", "args": {}, "id": "g2"}}
        ]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "f", "id": "g2", "response": {"v": 2}}},
            {"functionResponse": {"name": "f", "response": {"v": 1}}}
        ]}
    ]});
    let req = dec(GEM, body);
    let Part::ToolCall(c) = &req.messages[1].parts[0] else {
        panic!()
    };
    assert_eq!(
        (c.id.as_str(), c.signature.as_deref()),
        ("g1", Some("c2ln"))
    );
    let ids: Vec<&str> = req.messages[2]
        .parts
        .iter()
        .map(|p| match p {
            Part::ToolResult(r) => r.id.as_str(),
            _ => "",
        })
        .collect();
    // The id-less response answers the call not yet answered.
    assert_eq!(ids, ["g2", "g1"]);
    assert_eq!(
        enc(GEM, &req)["contents"][1]["parts"],
        json!([
            {"functionCall": {"name": "f", "args": {}, "id": "g1"}, "thoughtSignature": "c2ln"},
            {"functionCall": {"name": "f", "args": {}, "id": "g2"}}
        ])
    );
}

#[test]
fn gemini_unmatched_response_is_invalid_and_orphan_results_become_text() {
    let body = json!({"contents": [
        {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}
    ]});
    assert!(
        matches!(dec_err(GEM, body), Error::Invalid(m) if m.contains("contents[0].parts[0].functionResponse"))
    );
    // A result whose call is nowhere (E18) is kept as text, for every target.
    let req = ir::Request {
        messages: vec![Message {
            role: Role::User,
            parts: vec![Part::Text("q".into()), result("x", "1")],
        }],
        ..ir::Request::default()
    };
    assert_eq!(
        enc(GEM, &req)["contents"],
        json!([{"role": "user", "parts": [{"text": "q"}, {"text": "Result of tool call `x`:\n1"}]}])
    );
    let msgs = enc(MSGS, &req);
    assert_eq!(
        msgs["messages"][0]["content"],
        json!([{"type": "text", "text": "q"}, {"type": "text", "text": "Result of tool call `x`:\n1"}])
    );
    let chat = enc(CHAT, &req);
    assert_eq!(chat["messages"].as_array().map(Vec::len), Some(1), "{chat}");
}

#[test]
fn snake_case_gemini_input() {
    let body = json!({
        "system_instruction": {"parts": [{"text": "sys"}]},
        "contents": [
            {"role": "user", "parts": [{"inline_data": {"mime_type": "image/png", "data": "AA=="}}, {"text": "what?"}]},
            {"role": "model", "parts": [{"function_call": {"name": "f", "args": {"a": 1}}, "thought_signature": "sig"}]},
            {"role": "user", "parts": [{"function_response": {"name": "f", "response": {"ok": true}}}]}
        ],
        "tools": [{"function_declarations": [{"name": "f", "parameters_json_schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}]}],
        "tool_config": {"function_calling_config": {"mode": "ANY", "allowed_function_names": ["f"]}},
        "generation_config": {
            "max_output_tokens": 10, "top_p": 0.5, "top_k": 3, "stop_sequences": ["x"],
            "thinking_config": {"thinking_budget": 2048}
        }
    });
    let req = dec(GEM, body);
    let id = made_up_id(0);
    assert_eq!(
        req,
        ir::Request {
            system: vec!["sys".into()],
            messages: vec![
                Message {
                    role: Role::User,
                    parts: vec![
                        Part::Media(Media {
                            media_type: Some("image/png".into()),
                            source: MediaSource::Base64("AA==".into()),
                            detail: None,
                            filename: None,
                        }),
                        Part::Text("what?".into()),
                    ],
                },
                Message {
                    role: Role::Assistant,
                    parts: vec![Part::ToolCall(ToolCall {
                        id: id.clone(),
                        name: "f".into(),
                        arguments: r#"{"a":1}"#.into(),
                        signature: Some("sig".into()),
                        namespace: None,
                    })],
                },
                Message {
                    role: Role::User,
                    parts: vec![Part::ToolResult(ToolResult {
                        id,
                        name: Some("f".into()),
                        content: vec![Part::Text(r#"{"ok":true}"#.into())],
                        is_error: false,
                    })],
                },
            ],
            tools: vec![Tool {
                name: "f".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {"a": {"type": "integer"}}}),
                strict: None,
            }],
            tool_choice: Some(ir::ToolChoice::Named("f".into())),
            params: ir::Params {
                max_tokens: Some(10),
                top_p: Some(0.5),
                top_k: Some(3),
                stop: vec!["x".into()],
                reasoning_budget: Some(2048),
                ..ir::Params::default()
            },
            ..ir::Request::default()
        }
    );
}

#[test]
fn gemini_schemas_are_sanitised_or_sent_as_json_schema() {
    let tool = |parameters: Value| ir::Request {
        messages: vec![text(Role::User, "q")],
        tools: vec![Tool {
            name: "f".into(),
            description: None,
            parameters,
            strict: None,
        }],
        ..ir::Request::default()
    };
    let agentish = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "path": {"type": ["string", "null"], "format": "uri", "description": "p"},
            "n": {"type": "integer", "exclusiveMinimum": 0, "minimum": 1},
            "mode": {"const": "fast"},
            "tags": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "null"}]}}
        },
        "required": ["path", "ghost"]
    });
    assert_eq!(
        enc(GEM, &tool(agentish))["tools"][0]["functionDeclarations"][0],
        json!({"name": "f", "parameters": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "nullable": true, "description": "p"},
                "n": {"type": "integer", "minimum": 1},
                "mode": {"enum": ["fast"]},
                "tags": {"type": "array", "items": {"type": "string", "nullable": true}}
            },
            "required": ["path"]
        }})
    );
    let refs = json!({
        "$schema": "x",
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A"}},
        "$defs": {"A": {"type": "string"}}
    });
    assert_eq!(
        enc(GEM, &tool(refs))["tools"][0]["functionDeclarations"][0],
        json!({"name": "f", "parametersJsonSchema": {
            "type": "object",
            "properties": {"a": {"$ref": "#/$defs/A"}},
            "$defs": {"A": {"type": "string"}}
        }})
    );
    // No parameters at all: no schema (Gemini rejects an empty OBJECT).
    assert_eq!(
        enc(GEM, &tool(json!({"type": "object", "properties": {}})))["tools"][0]["functionDeclarations"]
            [0],
        json!({"name": "f"})
    );
    // Gemini's own schema dialect comes back as JSON Schema.
    let body = json!({"contents": [{"parts": [{"text": "q"}]}], "tools": [{"functionDeclarations": [
        {"name": "f", "parameters": {"type": "OBJECT", "properties": {"s": {"type": "STRING", "nullable": true}}}}
    ]}]});
    assert_eq!(
        dec(GEM, body).tools[0].parameters,
        json!({"type": "object", "properties": {"s": {"type": ["string", "null"]}}})
    );
}

#[test]
fn url_safe_base64_from_google_genai_becomes_standard_base64() {
    let req = dec(
        GEM,
        json!({"contents": [{"parts": [{"inline_data": {"mime_type": "image/png", "data": "Nk-M9_Dw=="}}]}]}),
    );
    let Part::Media(m) = &req.messages[0].parts[0] else {
        panic!("{req:?}");
    };
    assert_eq!(m.source, MediaSource::Base64("Nk+M9/Dw==".into()));
    let out = enc(CHAT, &req);
    assert_eq!(
        out["messages"][0]["content"][0]["image_url"]["url"],
        json!("data:image/png;base64,Nk+M9/Dw==")
    );
}
