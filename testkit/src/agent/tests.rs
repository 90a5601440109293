//! The agent scenario: which tool it calls with which arguments, when it quotes a result, and
//! that its answers are well-formed in every protocol, whole and streamed.

use serde_json::{Value, json};

use super::{Answer, answer, nonce_for};
use crate::protocols::{self, Protocol, StreamKind};
use crate::wellformed::{self, End, Expect};

const PROMPT: &str = "Use the shell to print the bitrouter nonce for 0x1f3a9c5.";

fn call(p: Protocol, body: Value) -> (String, Value) {
    match answer(p, body.to_string().as_bytes()) {
        Answer::Call { name, args } => (name, serde_json::from_str(&args).unwrap()),
        other => panic!("{p:?}: {other:?}"),
    }
}

fn text(p: Protocol, body: Value) -> String {
    match answer(p, body.to_string().as_bytes()) {
        Answer::Text(t) => t,
        other => panic!("{p:?}: {other:?}"),
    }
}

#[test]
fn nonces_are_printed_by_the_shell() {
    assert_eq!(
        nonce_for("0x1f3a9c5").as_deref(),
        Some("bitrouter-nonce-32745925")
    );
    assert_eq!(nonce_for("1f3a9c5"), None);
    assert_eq!(super::seed("a 0x12 then 0xzz and 0xAb."), Some("0xAb"));
    assert_eq!(super::seed("none"), None);
}

#[test]
fn each_agents_shell_tool_is_called_in_its_own_schema() {
    let cmd = "printf 'bitrouter-nonce-%d\\n' 0x1f3a9c5";
    // Claude Code: `Bash` {command, description?}.
    let (name, args) = call(
        Protocol::Messages,
        json!({"messages": [{"role": "user", "content": [{"type": "text", "text": PROMPT}]}],
               "tools": [{"name": "Read", "input_schema": {"type": "object"}},
                         {"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}, "timeout": {"type": "number"}}, "required": ["command"]}}]}),
    );
    assert_eq!((name.as_str(), &args), ("Bash", &json!({"command": cmd})));
    // Codex: `exec_command` {cmd}.
    let (name, args) = call(
        Protocol::Responses,
        json!({"input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": PROMPT}]}],
               "tools": [{"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}},
                         {"type": "web_search"}]}),
    );
    assert_eq!(
        (name.as_str(), &args),
        ("exec_command", &json!({"cmd": cmd}))
    );
    // An argv-style `shell` tool.
    let (_, args) = call(
        Protocol::Chat,
        json!({"messages": [{"role": "user", "content": PROMPT}],
               "tools": [{"type": "function", "function": {"name": "shell", "parameters": {"type": "object", "properties": {"command": {"type": "array"}}, "required": ["command"]}}}]}),
    );
    assert_eq!(args, json!({"command": ["bash", "-lc", cmd]}));
    // Gemini CLI: `run_shell_command`, Gemini's capitalised types, a required description.
    let (name, args) = call(
        Protocol::Gemini,
        json!({"contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
               "tools": [{"functionDeclarations": [{"name": "run_shell_command", "parameters": {"type": "OBJECT", "properties": {"command": {"type": "STRING"}, "description": {"type": "STRING"}, "is_background": {"type": "BOOLEAN"}}, "required": ["command", "description", "is_background"]}}]}]}),
    );
    assert_eq!(name, "run_shell_command");
    assert_eq!(args["command"], cmd);
    assert_eq!(args["is_background"], false);
    assert!(args["description"].is_string());
}

#[test]
fn a_tool_result_is_quoted() {
    let out = "bitrouter-nonce-32745925";
    for (p, body) in [
        (
            Protocol::Chat,
            json!({"messages": [{"role": "user", "content": PROMPT},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "shell", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c", "content": out}], "tools": [{"type": "function", "function": {"name": "shell"}}]}),
        ),
        (
            Protocol::Responses,
            json!({"input": [{"role": "user", "content": PROMPT},
            {"type": "function_call", "call_id": "c", "name": "exec_command", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": [{"type": "input_text", "text": out}]}]}),
        ),
        (
            Protocol::Messages,
            json!({"messages": [{"role": "user", "content": PROMPT},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Bash", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": out}]}, {"type": "text", "text": "<system-reminder>x</system-reminder>"}]}]}),
        ),
        (
            Protocol::Gemini,
            json!({"contents": [{"role": "user", "parts": [{"text": PROMPT}]},
            {"role": "model", "parts": [{"functionCall": {"name": "run_shell_command", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "run_shell_command", "response": {"output": format!("Command: x\nOutput: {out}")}}}]}]}),
        ),
    ] {
        let t = text(p, body);
        assert!(t.contains(out), "{p:?}: {t}");
    }
    // No shell tool: text, and no nonce.
    let t = text(
        Protocol::Chat,
        json!({"messages": [{"role": "user", "content": PROMPT}]}),
    );
    assert!(!t.contains("bitrouter-nonce"), "{t}");
    // A side request asking for JSON gets JSON.
    let t = text(
        Protocol::Gemini,
        json!({"contents": [{"role": "user", "parts": [{"text": "who speaks next?"}]}],
        "generationConfig": {"responseMimeType": "application/json"}}),
    );
    assert_eq!(
        serde_json::from_str::<Value>(&t).unwrap()["next_speaker"],
        "user"
    );
}

/// Each protocol's path and a request body offering a shell tool (or answering it).
fn request(p: Protocol, result: bool) -> (&'static str, Value) {
    let tools_chat = json!([{"type": "function", "function": {"name": "shell", "parameters": {"type": "object", "properties": {"command": {"type": "string"}}}}}]);
    match (p, result) {
        (Protocol::Chat, false) => (
            "/v1/chat/completions",
            json!({"model": "agent", "messages": [{"role": "user", "content": PROMPT}], "tools": tools_chat}),
        ),
        (Protocol::Chat, true) => (
            "/v1/chat/completions",
            json!({"model": "agent", "messages": [{"role": "tool", "tool_call_id": "c", "content": "ok"}]}),
        ),
        (Protocol::Responses, false) => (
            "/v1/responses",
            json!({"model": "agent", "input": PROMPT, "tools": [{"type": "function", "name": "shell", "parameters": {"type": "object"}}]}),
        ),
        (Protocol::Responses, true) => (
            "/v1/responses",
            json!({"model": "agent", "input": [{"type": "function_call_output", "call_id": "c", "output": "ok"}]}),
        ),
        (Protocol::Messages, false) => (
            "/v1/messages",
            json!({"model": "agent", "messages": [{"role": "user", "content": PROMPT}], "tools": [{"name": "Bash", "input_schema": {"type": "object"}}]}),
        ),
        (Protocol::Messages, true) => (
            "/v1/messages",
            json!({"model": "agent", "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]}]}),
        ),
        (Protocol::Gemini, false) => (
            "/v1beta/models/agent:streamGenerateContent",
            json!({"contents": [{"parts": [{"text": PROMPT}]}], "tools": [{"functionDeclarations": [{"name": "run_shell_command"}]}]}),
        ),
        (Protocol::Gemini, true) => (
            "/v1beta/models/agent:streamGenerateContent",
            json!({"contents": [{"parts": [{"functionResponse": {"name": "run_shell_command", "response": {"output": "ok"}}}]}]}),
        ),
    }
}

fn translate_protocol(p: Protocol) -> translate::Protocol {
    match p {
        Protocol::Chat => translate::Protocol::ChatCompletions,
        Protocol::Responses => translate::Protocol::Responses,
        Protocol::Messages => translate::Protocol::Messages,
        Protocol::Gemini => translate::Protocol::GenerateContent,
    }
}

#[test]
fn answers_are_well_formed_whole_and_streamed() {
    for p in [
        Protocol::Chat,
        Protocol::Responses,
        Protocol::Messages,
        Protocol::Gemini,
    ] {
        for result in [false, true] {
            let (path, mut body) = request(p, result);
            for stream in [false, true] {
                if p != Protocol::Gemini {
                    body["stream"] = stream.into();
                }
                let path = match (p, stream) {
                    (Protocol::Gemini, false) => {
                        path.replace(":streamGenerateContent", ":generateContent")
                    }
                    (Protocol::Gemini, true) => format!("{path}?alt=sse"),
                    _ => path.to_owned(),
                };
                let (route_path, query) = path.split_once('?').unwrap_or((&path, ""));
                let ep = protocols::route(route_path, query).unwrap();
                let raw = body.to_string();
                let params = protocols::params(&ep, raw.as_bytes()).unwrap();
                let tp = translate_protocol(p);
                if !stream {
                    let whole: Value = serde_json::from_slice(&protocols::body(&params)).unwrap();
                    let ctx = crate::drive::ctx(false, false);
                    let r = translate::response::decode(tp, whole.to_string().as_bytes(), &ctx)
                        .unwrap_or_else(|e| panic!("{p:?} result={result}: {e}: {whole}"));
                    let called = r
                        .parts
                        .iter()
                        .any(|x| matches!(x, translate::ir::Part::ToolCall(_)));
                    assert_eq!(called, !result, "{p:?}: {whole}");
                    continue;
                }
                let events = protocols::stream(&params, StreamKind::Normal);
                let all: Vec<u8> = events.iter().flatten().copied().collect();
                let e = Expect {
                    caller: tp,
                    end: End::Clean,
                    model: "agent",
                    include_usage: false,
                    json_array: false,
                    strict: true,
                };
                let problems = wellformed::check(&e, &all);
                assert!(
                    problems.is_empty(),
                    "{p:?} result={result}: {problems:?}\n{}",
                    String::from_utf8_lossy(&all)
                );
                assert!(events.first_content < events.len());
            }
        }
    }
}
