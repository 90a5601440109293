//! Request translation tests: the reference vectors (`testkit::vectors`) decoded into the IR and
//! encoded to every target (exact JSON), all caller → upstream pairs of the tool conversation
//! (`cross`), and the edge cases of docs/translation-cases.md (`cases`, `params`).

mod cases;
mod cross;
mod fields;
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
        namespace: None,
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

/// A reference request (`testkit::vectors`, plain text) as JSON.
pub(super) fn vector(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

pub(super) fn chat_followup() -> Value {
    vector(testkit::vectors::chat::REQUEST_FOLLOWUP)
}

pub(super) fn resp_followup() -> Value {
    vector(testkit::vectors::responses::REQUEST_FOLLOWUP)
}

pub(super) fn msgs_followup() -> Value {
    vector(testkit::vectors::messages::REQUEST_FOLLOWUP)
}

pub(super) fn gem_followup() -> Value {
    vector(testkit::vectors::gemini::REQUEST_FOLLOWUP)
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
    let chat = vector(testkit::vectors::chat::REQUEST_TEXT);
    assert_eq!(dec(CHAT, chat), expected(64, Some(0.2)));
    let resp = vector(testkit::vectors::responses::REQUEST_TEXT);
    assert_eq!(dec(RESP, resp), expected(64, None));
    let msgs = vector(testkit::vectors::messages::REQUEST_TEXT);
    assert_eq!(dec(MSGS, msgs), expected(64, None));
    let gem = vector(testkit::vectors::gemini::REQUEST_TEXT);
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
    let chat = vector(testkit::vectors::chat::REQUEST_TOOL);
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
    let resp = vector(testkit::vectors::responses::REQUEST_TOOL);
    assert_eq!(dec(RESP, resp), base);
    let msgs = vector(testkit::vectors::messages::REQUEST_TOOL);
    let mut m = base.clone();
    m.tools[0].strict = None;
    m.params.max_tokens = Some(1024);
    assert_eq!(dec(MSGS, msgs), m);
    let gem = vector(testkit::vectors::gemini::REQUEST_TOOL);
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
    let chat = vector(testkit::vectors::chat::REQUEST_IMAGE);
    assert_eq!(dec(CHAT, chat), png_ir(true));
    let resp = vector(testkit::vectors::responses::REQUEST_IMAGE);
    assert_eq!(dec(RESP, resp), png_ir(true));
    let msgs = json!({"model": "c", "max_tokens": 256, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "text", "text": "Describe this image."}
    ]}]});
    let mut m = png_ir(false);
    m.params.max_tokens = Some(256);
    assert_eq!(dec(MSGS, msgs), m);
    let gem = vector(testkit::vectors::gemini::REQUEST_IMAGE);
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
