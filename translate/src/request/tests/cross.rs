//! Every caller → upstream pair of the reference tool follow-up conversation: decode the caller's
//! body, check the IR, encode the upstream's body and compare it whole.

use serde_json::{Value, json};

use super::*;
use crate::gemini::request::made_up_id;

/// What each caller's follow-up carries that the others do not.
struct Source {
    proto: Protocol,
    body: Value,
    id: String,
    say: Option<&'static str>,
    schema: Value,
    strict: Option<bool>,
    result_name: Option<&'static str>,
    result: &'static str,
    max_tokens: Option<u64>,
}

fn sources() -> Vec<Source> {
    vec![
        Source {
            proto: CHAT,
            body: chat_followup(),
            id: "call_abc123".into(),
            say: None,
            schema: schema(),
            strict: Some(true),
            result_name: None,
            result: RESULT,
            max_tokens: None,
        },
        Source {
            proto: RESP,
            body: resp_followup(),
            id: "call_abc123".into(),
            say: None,
            schema: schema(),
            strict: Some(true),
            result_name: None,
            result: RESULT,
            max_tokens: None,
        },
        Source {
            proto: MSGS,
            body: msgs_followup(),
            id: "toolu_01TestCall".into(),
            say: Some("I'll check the weather."),
            schema: schema(),
            strict: None,
            result_name: None,
            result: RESULT,
            max_tokens: Some(1024),
        },
        Source {
            proto: GEM,
            body: gem_followup(),
            id: made_up_id(0),
            say: None,
            schema: gemini_schema(),
            strict: None,
            result_name: Some("get_weather"),
            // serde_json's maps are sorted: the object's JSON text.
            result: r#"{"sky":"cloudy","temp_c":18}"#,
            max_tokens: None,
        },
    ]
}

fn args() -> &'static str {
    r#"{"location":"Paris"}"#
}

fn expected(target: Protocol, s: &Source) -> Value {
    let id = s.id.as_str();
    match target {
        Protocol::ChatCompletions => {
            let mut tool = json!({
                "name": "get_weather",
                "description": "Get the current weather for a city.",
                "parameters": s.schema,
            });
            if let Some(st) = s.strict {
                tool["strict"] = st.into();
            }
            let mut v = json!({
                "model": "m",
                "messages": [
                    {"role": "user", "content": QUESTION},
                    {"role": "assistant", "content": s.say, "tool_calls": [{
                        "id": id, "type": "function",
                        "function": {"name": "get_weather", "arguments": args()}
                    }]},
                    {"role": "tool", "tool_call_id": id, "content": s.result}
                ],
                "tools": [{"type": "function", "function": tool}]
            });
            if let Some(n) = s.max_tokens {
                v["max_completion_tokens"] = n.into();
            }
            v
        }
        Protocol::Responses => {
            let mut input = vec![json!({"role": "user", "content": QUESTION})];
            if let Some(say) = s.say {
                input.push(json!({"role": "assistant", "content": say}));
            }
            input.push(json!({"type": "function_call", "call_id": id, "name": "get_weather", "arguments": args()}));
            input.push(json!({"type": "function_call_output", "call_id": id, "output": s.result}));
            let mut v = json!({
                "model": "m",
                "input": input,
                "tools": [{
                    "type": "function",
                    "name": "get_weather",
                    "description": "Get the current weather for a city.",
                    "parameters": s.schema,
                    "strict": s.strict.unwrap_or(false)
                }]
            });
            if let Some(n) = s.max_tokens {
                v["max_output_tokens"] = n.into();
            }
            v
        }
        Protocol::Messages => {
            let mut assistant = Vec::new();
            if let Some(say) = s.say {
                assistant.push(json!({"type": "text", "text": say}));
            }
            assistant.push(json!({"type": "tool_use", "id": id, "name": "get_weather", "input": {"location": "Paris"}}));
            json!({
                "model": "m",
                "max_tokens": s.max_tokens.unwrap_or(4096),
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": QUESTION}]},
                    {"role": "assistant", "content": assistant},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": s.result}]}
                ],
                "tools": [{
                    "name": "get_weather",
                    "description": "Get the current weather for a city.",
                    "input_schema": s.schema
                }]
            })
        }
        Protocol::GenerateContent => {
            let mut model = Vec::new();
            if let Some(say) = s.say {
                model.push(json!({"text": say}));
            }
            model.push(json!({
                "functionCall": {"name": "get_weather", "args": {"location": "Paris"}, "id": id},
                "thoughtSignature": "skip_thought_signature_validator"
            }));
            let mut v = json!({
                "contents": [
                    {"role": "user", "parts": [{"text": QUESTION}]},
                    {"role": "model", "parts": model},
                    {"role": "user", "parts": [{"functionResponse": {
                        "name": "get_weather", "id": id,
                        "response": {"temp_c": 18, "sky": "cloudy"}
                    }}]}
                ],
                "tools": [{"functionDeclarations": [{
                    "name": "get_weather",
                    "description": "Get the current weather for a city.",
                    "parameters": {
                        "type": "object",
                        "properties": {"location": {"type": "string"}},
                        "required": ["location"]
                    }
                }]}]
            });
            if let Some(n) = s.max_tokens {
                v["generationConfig"] = json!({"maxOutputTokens": n});
            }
            v
        }
    }
}

#[test]
fn followup_decodes_to_the_same_conversation() {
    for s in sources() {
        let want = followup_ir(
            &s.id,
            s.say,
            weather_tool(s.schema.clone(), s.strict),
            s.result_name,
            s.result,
            s.max_tokens,
        );
        assert_eq!(dec(s.proto, s.body.clone()), want, "{:?}", s.proto);
    }
}

#[test]
fn followup_every_pair() {
    for s in sources() {
        let req = dec(s.proto, s.body.clone());
        for target in [CHAT, RESP, MSGS, GEM] {
            assert_eq!(
                enc(target, &req),
                expected(target, &s),
                "{:?} → {target:?}",
                s.proto
            );
        }
    }
}
