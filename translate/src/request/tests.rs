//! Request translation tests: the protocols.md §4 vectors decoded into the IR and encoded to
//! every target (exact JSON), all caller → upstream pairs of the tool conversation
//! (`cross`), and the §3 edge cases (`cases`, `params`).

mod cases;
mod cross;
mod gemini;
mod params;

use serde_json::{Value, json};

use super::{Error, decode, encode};
use crate::Protocol;
use crate::ir::{self, Media, MediaSource, Message, Part, Role, Tool, ToolCall, ToolResult};

pub(super) const CHAT: Protocol = Protocol::ChatCompletions;
pub(super) const RESP: Protocol = Protocol::Responses;
pub(super) const MSGS: Protocol = Protocol::Messages;
pub(super) const GEM: Protocol = Protocol::GenerateContent;

pub(super) fn dec(p: Protocol, body: Value) -> ir::Request {
    decode(p, body.to_string().as_bytes(), false).unwrap()
}

pub(super) fn dec_err(p: Protocol, body: Value) -> Error {
    decode(p, body.to_string().as_bytes(), false).unwrap_err()
}

pub(super) fn enc(p: Protocol, req: &ir::Request) -> Value {
    serde_json::from_slice(&encode(p, req, "m", false).unwrap()).unwrap()
}

pub(super) fn enc_stream(p: Protocol, req: &ir::Request) -> Value {
    serde_json::from_slice(&encode(p, req, "m", true).unwrap()).unwrap()
}

pub(super) fn enc_err(p: Protocol, req: &ir::Request) -> Error {
    encode(p, req, "m", false).unwrap_err()
}

pub(super) fn unsupported(what: &str) -> Error {
    Error::Unsupported(what.into())
}

pub(super) fn text(role: Role, t: &str) -> Message {
    Message {
        role,
        parts: vec![Part::Text(t.into())],
    }
}

pub(super) fn call(id: &str, name: &str, args: &str) -> Part {
    Part::ToolCall(ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: args.into(),
        signature: None,
    })
}

pub(super) fn result(id: &str, t: &str) -> Part {
    Part::ToolResult(ToolResult {
        id: id.into(),
        name: None,
        content: vec![Part::Text(t.into())],
        is_error: false,
    })
}

pub(super) const QUESTION: &str = "What is the weather in Paris?";
pub(super) const RESULT: &str = r#"{"temp_c":18,"sky":"cloudy"}"#;

pub(super) fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
        "additionalProperties": false
    })
}

pub(super) fn gemini_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"]
    })
}

pub(super) fn weather_tool(parameters: Value, strict: Option<bool>) -> Tool {
    Tool {
        name: "get_weather".into(),
        description: Some("Get the current weather for a city.".into()),
        parameters,
        strict,
    }
}

// §4 request vectors.

pub(super) fn chat_tool() -> Value {
    json!({
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": schema(),
            "strict": true
        }
    })
}

pub(super) fn resp_tool() -> Value {
    json!({
        "type": "function",
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": schema(),
        "strict": true
    })
}

pub(super) fn msgs_tool() -> Value {
    json!({
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "input_schema": schema()
    })
}

pub(super) fn gem_tools() -> Value {
    json!([{
        "functionDeclarations": [{
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": gemini_schema()
        }]
    }])
}

pub(super) fn chat_followup() -> Value {
    json!({
        "model": "gpt-4.1",
        "messages": [
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": null, "tool_calls": [{
                "id": "call_abc123", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}
            }]},
            {"role": "tool", "tool_call_id": "call_abc123", "content": RESULT}
        ],
        "tools": [chat_tool()]
    })
}

pub(super) fn resp_followup() -> Value {
    json!({
        "model": "gpt-4.1",
        "input": [
            {"role": "user", "content": QUESTION},
            {"type": "function_call", "call_id": "call_abc123", "name": "get_weather",
             "arguments": "{\"location\":\"Paris\"}"},
            {"type": "function_call_output", "call_id": "call_abc123", "output": RESULT}
        ],
        "tools": [resp_tool()]
    })
}

pub(super) fn msgs_followup() -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": [
                {"type": "text", "text": "I'll check the weather."},
                {"type": "tool_use", "id": "toolu_01TestCall", "name": "get_weather",
                 "input": {"location": "Paris"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01TestCall", "content": RESULT}
            ]}
        ],
        "tools": [msgs_tool()]
    })
}

pub(super) fn gem_followup() -> Value {
    json!({
        "contents": [
            {"role": "user", "parts": [{"text": QUESTION}]},
            {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}}]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp_c": 18, "sky": "cloudy"}}}
            ]}
        ],
        "tools": gem_tools()
    })
}

/// The follow-up conversation as each caller's decode must give it.
pub(super) fn followup_ir(
    id: &str,
    say: Option<&str>,
    tool: Tool,
    result_name: Option<&str>,
    result_text: &str,
    max_tokens: Option<u64>,
) -> ir::Request {
    let mut assistant = Vec::new();
    if let Some(s) = say {
        assistant.push(Part::Text(s.into()));
    }
    assistant.push(call(id, "get_weather", r#"{"location":"Paris"}"#));
    ir::Request {
        messages: vec![
            text(Role::User, QUESTION),
            Message {
                role: Role::Assistant,
                parts: assistant,
            },
            Message {
                role: Role::User,
                parts: vec![Part::ToolResult(ToolResult {
                    id: id.into(),
                    name: result_name.map(str::to_owned),
                    content: vec![Part::Text(result_text.into())],
                    is_error: false,
                })],
            },
        ],
        tools: vec![tool],
        params: ir::Params {
            max_tokens,
            ..ir::Params::default()
        },
        ..ir::Request::default()
    }
}

#[test]
fn text_vectors_decode() {
    let expected = |max: u64, temp: Option<f64>| ir::Request {
        system: vec!["You are terse.".into()],
        messages: vec![text(Role::User, "Say hello.")],
        params: ir::Params {
            max_tokens: Some(max),
            temperature: temp,
            ..ir::Params::default()
        },
        ..ir::Request::default()
    };
    let chat = json!({
        "model": "gpt-4.1",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello."}
        ],
        "max_completion_tokens": 64,
        "temperature": 0.2
    });
    assert_eq!(dec(CHAT, chat), expected(64, Some(0.2)));
    let resp = json!({
        "model": "gpt-4.1", "instructions": "You are terse.", "input": "Say hello.",
        "max_output_tokens": 64
    });
    assert_eq!(dec(RESP, resp), expected(64, None));
    let msgs = json!({
        "model": "claude-sonnet-4-5", "max_tokens": 64, "system": "You are terse.",
        "messages": [{"role": "user", "content": "Say hello."}]
    });
    assert_eq!(dec(MSGS, msgs), expected(64, None));
    let gem = json!({
        "systemInstruction": {"parts": [{"text": "You are terse."}]},
        "contents": [{"role": "user", "parts": [{"text": "Say hello."}]}],
        "generationConfig": {"maxOutputTokens": 64, "temperature": 0.2}
    });
    assert_eq!(dec(GEM, gem), expected(64, Some(0.2)));
}

#[test]
fn text_encodes_to_every_target() {
    let req = ir::Request {
        system: vec!["You are terse.".into()],
        messages: vec![text(Role::User, "Say hello.")],
        params: ir::Params {
            max_tokens: Some(64),
            temperature: Some(0.2),
            ..ir::Params::default()
        },
        ..ir::Request::default()
    };
    assert_eq!(
        enc(CHAT, &req),
        json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Say hello."}
            ],
            "max_completion_tokens": 64,
            "temperature": 0.2
        })
    );
    assert_eq!(
        enc(RESP, &req),
        json!({
            "model": "m", "instructions": "You are terse.",
            "input": [{"role": "user", "content": "Say hello."}],
            "max_output_tokens": 64, "temperature": 0.2
        })
    );
    assert_eq!(
        enc(MSGS, &req),
        json!({
            "model": "m", "max_tokens": 64, "system": "You are terse.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Say hello."}]}],
            "temperature": 0.2
        })
    );
    assert_eq!(
        enc(GEM, &req),
        json!({
            "systemInstruction": {"parts": [{"text": "You are terse."}]},
            "contents": [{"role": "user", "parts": [{"text": "Say hello."}]}],
            "generationConfig": {"maxOutputTokens": 64, "temperature": 0.2}
        })
    );
}

#[test]
fn tool_vectors_decode_with_stream_and_choice() {
    let chat = json!({
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": QUESTION}],
        "tools": [chat_tool()],
        "tool_choice": "auto",
        "stream": true,
        "stream_options": {"include_usage": true}
    });
    let base = ir::Request {
        messages: vec![text(Role::User, QUESTION)],
        tools: vec![weather_tool(schema(), Some(true))],
        tool_choice: Some(ir::ToolChoice::Auto),
        stream: true,
        ..ir::Request::default()
    };
    assert_eq!(
        dec(CHAT, chat),
        ir::Request {
            include_usage: true,
            ..base.clone()
        }
    );
    let resp = json!({
        "model": "gpt-4.1",
        "input": [{"role": "user", "content": QUESTION}],
        "tools": [resp_tool()],
        "tool_choice": "auto",
        "stream": true
    });
    assert_eq!(dec(RESP, resp), base);
    let msgs = json!({
        "model": "claude-sonnet-4-5", "max_tokens": 1024,
        "messages": [{"role": "user", "content": QUESTION}],
        "tools": [msgs_tool()],
        "tool_choice": {"type": "auto"},
        "stream": true
    });
    let mut m = base.clone();
    m.tools[0].strict = None;
    m.params.max_tokens = Some(1024);
    assert_eq!(dec(MSGS, msgs), m);
    let gem = json!({
        "contents": [{"role": "user", "parts": [{"text": QUESTION}]}],
        "tools": gem_tools(),
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}}
    });
    let got = decode(GEM, gem.to_string().as_bytes(), true).unwrap();
    let mut g = base;
    g.tools[0] = weather_tool(gemini_schema(), None);
    assert_eq!(got, g);
}

#[test]
fn streaming_encodes() {
    let req = ir::Request {
        messages: vec![text(Role::User, "hi")],
        stream: true,
        ..ir::Request::default()
    };
    let user_blocks = json!([{"role": "user", "content": [{"type": "text", "text": "hi"}]}]);
    assert_eq!(
        enc_stream(CHAT, &req),
        json!({
            "model": "m", "messages": [{"role": "user", "content": "hi"}],
            "stream": true, "stream_options": {"include_usage": true}
        })
    );
    assert_eq!(
        enc_stream(RESP, &req),
        json!({"model": "m", "input": [{"role": "user", "content": "hi"}], "stream": true})
    );
    assert_eq!(
        enc_stream(MSGS, &req),
        json!({"model": "m", "max_tokens": 4096, "messages": user_blocks, "stream": true})
    );
    assert_eq!(
        enc_stream(GEM, &req),
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    );
}

fn png_ir(first_text: bool) -> ir::Request {
    let img = Part::Media(Media {
        media_type: Some("image/png".into()),
        source: MediaSource::Base64("iVBORw0KGgo=".into()),
        detail: if first_text {
            Some("auto".into())
        } else {
            None
        },
        filename: None,
    });
    let t = Part::Text("Describe this image.".into());
    let parts = if first_text {
        vec![t, img]
    } else {
        vec![img, t]
    };
    ir::Request {
        messages: vec![Message {
            role: Role::User,
            parts,
        }],
        ..ir::Request::default()
    }
}

#[test]
fn image_vectors_decode() {
    let chat = json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "Describe this image."},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"}}
    ]}]});
    assert_eq!(dec(CHAT, chat), png_ir(true));
    let resp = json!({"model": "gpt-4.1", "input": [{"role": "user", "content": [
        {"type": "input_text", "text": "Describe this image."},
        {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"}
    ]}]});
    assert_eq!(dec(RESP, resp), png_ir(true));
    let msgs = json!({"model": "c", "max_tokens": 256, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "text", "text": "Describe this image."}
    ]}]});
    let mut m = png_ir(false);
    m.params.max_tokens = Some(256);
    assert_eq!(dec(MSGS, msgs), m);
    let gem = json!({"contents": [{"role": "user", "parts": [
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"text": "Describe this image."}
    ]}]});
    assert_eq!(dec(GEM, gem), png_ir(false));
}

#[test]
fn images_encode_to_every_target() {
    let req = png_ir(true);
    assert_eq!(
        enc(CHAT, &req),
        json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Describe this image."},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"}}
        ]}]})
    );
    assert_eq!(
        enc(RESP, &req),
        json!({"model": "m", "input": [{"role": "user", "content": [
            {"type": "input_text", "text": "Describe this image."},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"}
        ]}]})
    );
    assert_eq!(
        enc(MSGS, &req),
        json!({"model": "m", "max_tokens": 4096, "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Describe this image."},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
        ]}]})
    );
    assert_eq!(
        enc(GEM, &req),
        json!({"contents": [{"role": "user", "parts": [
            {"text": "Describe this image."},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
        ]}]})
    );
}

#[test]
fn image_urls_and_pdfs() {
    let url = |u: &str, mt: Option<&str>| ir::Request {
        messages: vec![Message {
            role: Role::User,
            parts: vec![Part::Media(Media {
                media_type: mt.map(str::to_owned),
                source: MediaSource::Url(u.into()),
                detail: None,
                filename: None,
            })],
        }],
        ..ir::Request::default()
    };
    let chat = json!({"model": "x", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://x.test/cat.JPG?s=1"}}
    ]}]});
    let req = dec(CHAT, chat);
    assert_eq!(req, url("https://x.test/cat.JPG?s=1", None));
    assert_eq!(
        enc(MSGS, &req)["messages"][0]["content"][0],
        json!({"type": "image", "source": {"type": "url", "url": "https://x.test/cat.JPG?s=1"}})
    );
    assert_eq!(
        enc(RESP, &req)["input"][0]["content"][0],
        json!({"type": "input_image", "image_url": "https://x.test/cat.JPG?s=1", "detail": "auto"})
    );
    assert_eq!(
        enc(GEM, &req)["contents"][0]["parts"][0],
        json!({"fileData": {"mimeType": "image/jpeg", "fileUri": "https://x.test/cat.JPG?s=1"}})
    );
    let opaque = url("https://x.test/image?id=3", None);
    assert_eq!(
        enc_err(GEM, &opaque),
        unsupported("an image URL without a known media type")
    );

    // A base64 PDF from Chat goes to each target's document slot.
    let chat = json!({"model": "x", "messages": [{"role": "user", "content": [
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}}
    ]}]});
    let req = dec(CHAT, chat);
    assert_eq!(
        enc(MSGS, &req)["messages"][0]["content"][0],
        json!({"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}})
    );
    assert_eq!(
        enc(RESP, &req)["input"][0]["content"][0],
        json!({"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"})
    );
    assert_eq!(
        enc(GEM, &req)["contents"][0]["parts"][0],
        json!({"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}})
    );
    assert_eq!(
        enc(CHAT, &req)["messages"][0]["content"][0],
        json!({"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}})
    );
}
