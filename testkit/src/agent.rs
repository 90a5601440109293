//! The mock as a model in an agent loop (models whose name contains `agent`): when the request
//! offers a shell tool and its latest turn is not a tool result, the answer calls that tool
//! with a command that prints a nonce; when the latest turn carries a tool result, the answer is
//! text quoting it. An agent passes only if it really ran the command and made a second turn.
//!
//! The nonce is computed by the shell, never by the mock: the prompt names a hex seed (`0x…`)
//! and the command is `printf 'bitrouter-nonce-%d\n' 0x…`, so `bitrouter-nonce-<decimal>`
//! appears only in the output of a command that ran (see [`nonce_for`]).
//!
//! The request is read with `serde_json` per protocol (tools, the last turn, the user's text);
//! the answer is rendered in `agent/render.rs`, in the shapes of the reference vectors.

mod render;

use serde_json::Value;

use crate::protocols::Protocol;

pub(crate) use render::{body, stream};

/// The seed used when the prompt names none.
const DEFAULT_SEED: &str = "0x2a";

/// Shell tools by name, in order of preference (Claude Code, Codex, Gemini CLI, others).
const SHELL_TOOLS: &[&str] = &[
    "Bash",
    "exec_command",
    "shell_command",
    "shell",
    "run_shell_command",
    "bash",
    "run_shell",
    "execute_command",
];

/// What the model answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    Text(String),
    /// A call of `name` with these JSON arguments.
    Call {
        name: String,
        args: String,
    },
}

/// What the nonce of `seed` (`0x…`) looks like once the shell has printed it.
pub fn nonce_for(seed_hex: &str) -> Option<String> {
    let digits = seed_hex.strip_prefix("0x")?;
    let n = u64::from_str_radix(digits, 16).ok()?;
    Some(format!("bitrouter-nonce-{n}"))
}

/// The command that prints the nonce of `seed`.
fn command(seed: &str) -> String {
    format!("printf 'bitrouter-nonce-%d\\n' {seed}")
}

/// What the mock read from a request.
#[derive(Debug, Default)]
struct Turn {
    /// Offered function tools: name and JSON Schema of the arguments.
    tools: Vec<(String, Value)>,
    /// The text of the tool result(s) the latest turn carries.
    result: Option<String>,
    /// The user's text, all turns.
    prompt: String,
    /// The request asks for JSON output (a side request: Gemini CLI's next-speaker check).
    json: bool,
}

/// The answer to `body`, a request of `protocol`.
pub(crate) fn answer(protocol: Protocol, body: &[u8]) -> Answer {
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    let turn = match protocol {
        Protocol::Chat => chat(&v),
        Protocol::Responses => responses(&v),
        Protocol::Messages => messages(&v),
        Protocol::Gemini => gemini(&v),
    };
    if let Some(result) = turn.result {
        return Answer::Text(format!("The command printed: {}", result.trim()));
    }
    if turn.json {
        return Answer::Text(
            r#"{"reasoning":"The request is complete.","next_speaker":"user"}"#.into(),
        );
    }
    let Some((name, schema)) = shell_tool(&turn.tools) else {
        return Answer::Text("No shell tool was offered, so nothing ran.".into());
    };
    let seed = seed(&turn.prompt).unwrap_or(DEFAULT_SEED);
    Answer::Call {
        name: name.to_owned(),
        args: arguments(schema, &command(seed)).to_string(),
    }
}

fn shell_tool(tools: &[(String, Value)]) -> Option<(&str, &Value)> {
    SHELL_TOOLS
        .iter()
        .find_map(|want| tools.iter().find(|(n, _)| n == want))
        .or_else(|| {
            tools.iter().find(|(n, _)| {
                let n = n.to_ascii_lowercase();
                n.contains("shell") || n.contains("bash")
            })
        })
        .map(|(n, s)| (n.as_str(), s))
}

/// The last `0x…` hex seed in the user's text.
fn seed(prompt: &str) -> Option<&str> {
    let mut found = None;
    let b = prompt.as_bytes();
    let mut i = 0;
    while let Some(at) = prompt[i..].find("0x") {
        let start = i + at;
        let end = start
            + 2
            + b[start + 2..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
        if end > start + 2 {
            found = Some(&prompt[start..end]);
        }
        i = end.max(start + 2);
    }
    found
}

/// Arguments for the shell tool `schema` running `cmd`: its command property (a string, or an
/// argv array for Codex's old `shell`), and a value for every other required property.
fn arguments(schema: &Value, cmd: &str) -> Value {
    let props = schema.get("properties").and_then(Value::as_object);
    let ty = |k: &str| {
        props
            .and_then(|p| p.get(k))
            .and_then(|p| p.get("type"))
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
    };
    let mut args = serde_json::Map::new();
    let key = ["command", "cmd"]
        .into_iter()
        .find(|k| props.is_some_and(|p| p.contains_key(*k)))
        .unwrap_or("command");
    let value = match ty(key).as_deref() {
        Some("array") => serde_json::json!(["bash", "-lc", cmd]),
        _ => Value::from(cmd),
    };
    args.insert(key.to_owned(), value);
    for r in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if args.contains_key(r) {
            continue;
        }
        let v = match ty(r).as_deref() {
            Some("boolean") => Value::Bool(false),
            Some("integer" | "number") => Value::from(10_000),
            Some("array") => Value::Array(Vec::new()),
            Some("object") => Value::Object(serde_json::Map::new()),
            _ => Value::from("Print the bitrouter nonce"),
        };
        args.insert(r.to_owned(), v);
    }
    Value::Object(args)
}

/// Text of a content value: a string, or the `text` of its parts.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn items<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn chat(v: &Value) -> Turn {
    let mut t = Turn {
        json: v
            .pointer("/response_format/type")
            .and_then(Value::as_str)
            .is_some_and(|f| f != "text"),
        ..Turn::default()
    };
    for tool in items(v, "tools") {
        if let (Some(n), f) = (
            tool.pointer("/function/name").and_then(Value::as_str),
            tool.get("function"),
        ) {
            let schema = f
                .and_then(|f| f.get("parameters"))
                .cloned()
                .unwrap_or_default();
            t.tools.push((n.to_owned(), schema));
        }
    }
    let messages = items(v, "messages");
    for m in messages {
        if m.get("role").and_then(Value::as_str) == Some("user") {
            t.prompt
                .push_str(&text_of(m.get("content").unwrap_or(&Value::Null)));
            t.prompt.push('\n');
        }
    }
    let trailing: Vec<String> = messages
        .iter()
        .rev()
        .take_while(|m| m.get("role").and_then(Value::as_str) == Some("tool"))
        .map(|m| text_of(m.get("content").unwrap_or(&Value::Null)))
        .collect();
    if !trailing.is_empty() {
        t.result = Some(trailing.into_iter().rev().collect::<Vec<_>>().join("\n"));
    }
    t
}

fn responses(v: &Value) -> Turn {
    let mut t = Turn {
        json: v
            .pointer("/text/format/type")
            .and_then(Value::as_str)
            .is_some_and(|f| f != "text"),
        ..Turn::default()
    };
    for tool in items(v, "tools") {
        if tool.get("type").and_then(Value::as_str) == Some("function") {
            if let Some(n) = tool.get("name").and_then(Value::as_str) {
                t.tools.push((
                    n.to_owned(),
                    tool.get("parameters").cloned().unwrap_or_default(),
                ));
            }
        }
    }
    let input = match v.get("input") {
        Some(Value::String(s)) => {
            t.prompt.push_str(s);
            return t;
        }
        _ => items(v, "input"),
    };
    for it in input {
        if it.get("role").and_then(Value::as_str) == Some("user") {
            t.prompt
                .push_str(&text_of(it.get("content").unwrap_or(&Value::Null)));
            t.prompt.push('\n');
        }
    }
    let trailing: Vec<String> = input
        .iter()
        .rev()
        .take_while(|it| it.get("type").and_then(Value::as_str) == Some("function_call_output"))
        .map(|it| text_of(it.get("output").unwrap_or(&Value::Null)))
        .collect();
    if !trailing.is_empty() {
        t.result = Some(trailing.into_iter().rev().collect::<Vec<_>>().join("\n"));
    }
    t
}

fn messages(v: &Value) -> Turn {
    let mut t = Turn {
        json: v.pointer("/output_config/format").is_some(),
        ..Turn::default()
    };
    for tool in items(v, "tools") {
        let typed = tool
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|ty| ty != "custom");
        if let (false, Some(n)) = (typed, tool.get("name").and_then(Value::as_str)) {
            t.tools.push((
                n.to_owned(),
                tool.get("input_schema").cloned().unwrap_or_default(),
            ));
        }
    }
    let messages = items(v, "messages");
    for m in messages
        .iter()
        .filter(|m| m.get("role").and_then(Value::as_str) == Some("user"))
    {
        match m.get("content") {
            Some(Value::Array(blocks)) => {
                for b in blocks
                    .iter()
                    .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                {
                    t.prompt
                        .push_str(b.get("text").and_then(Value::as_str).unwrap_or_default());
                    t.prompt.push('\n');
                }
            }
            Some(c) => t.prompt.push_str(&text_of(c)),
            None => {}
        }
    }
    let last_user = messages
        .last()
        .filter(|m| m.get("role").and_then(Value::as_str) == Some("user"));
    let results: Vec<String> = last_user
        .and_then(|m| m.get("content"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        .map(|b| text_of(b.get("content").unwrap_or(&Value::Null)))
        .collect();
    if !results.is_empty() {
        t.result = Some(results.join("\n"));
    }
    t
}

fn gemini(v: &Value) -> Turn {
    let gc = v
        .get("generationConfig")
        .or_else(|| v.get("generation_config"));
    let mut t = Turn {
        json: gc
            .and_then(|g| {
                g.get("responseMimeType")
                    .or_else(|| g.get("response_mime_type"))
            })
            .and_then(Value::as_str)
            == Some("application/json"),
        ..Turn::default()
    };
    for tool in items(v, "tools") {
        for d in items(tool, "functionDeclarations") {
            if let Some(n) = d.get("name").and_then(Value::as_str) {
                let schema = d
                    .get("parametersJsonSchema")
                    .or_else(|| d.get("parameters"))
                    .cloned()
                    .unwrap_or_default();
                t.tools.push((n.to_owned(), lower_types(schema)));
            }
        }
    }
    let contents = items(v, "contents");
    let parts = |c: &Value| items(c, "parts").to_vec();
    for c in contents
        .iter()
        .filter(|c| c.get("role").and_then(Value::as_str) != Some("model"))
    {
        for p in parts(c) {
            if let Some(s) = p.get("text").and_then(Value::as_str) {
                t.prompt.push_str(s);
                t.prompt.push('\n');
            }
        }
    }
    let results: Vec<String> = contents
        .last()
        .filter(|c| c.get("role").and_then(Value::as_str) != Some("model"))
        .map(parts)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.get("functionResponse"))
        .map(|fr| {
            let r = fr.get("response").unwrap_or(&Value::Null);
            ["output", "content", "result"]
                .iter()
                .find_map(|k| r.get(*k))
                .map_or_else(|| r.to_string(), text_of)
        })
        .collect();
    if !results.is_empty() {
        t.result = Some(results.join("\n"));
    }
    t
}

/// Gemini's OpenAPI `Schema` spells types in capitals (`STRING`): the shape [`arguments`] reads.
fn lower_types(mut v: Value) -> Value {
    if let Some(props) = v.get_mut("properties").and_then(Value::as_object_mut) {
        for p in props.values_mut() {
            if let Some(Value::String(t)) = p.get_mut("type") {
                *t = t.to_ascii_lowercase();
            }
        }
    }
    v
}

#[cfg(test)]
mod tests;
