//! Every entry of the per-field table (docs/translation-cases.md#dropped-fields): fields real
//! clients send are translated, ignored, dropped-and-named (refused under the strict policy)
//! or refused, exactly as the table says, caller by target.

use serde_json::{Value, json};

use super::{CHAT, GEM, MSGS, RESP};
use crate::Protocol;
use crate::request::{Encoded, Error, Policy, decode, encode_for};

#[derive(Debug)]
enum Class {
    /// The target body has `value` at `pointer`.
    Translated(&'static str, Value),
    /// Nothing of the field (`needle`) reaches the target, nothing is reported.
    Ignored(&'static str),
    /// Left out and named in `dropped`; refused under `Policy::Strict`.
    Dropped(&'static str),
    /// A 400 naming the field under either policy.
    Refused(&'static str),
}
use Class::*;

/// The minimal body of each caller, with `extra` members laid over it.
fn body(p: Protocol, extra: Value) -> Value {
    let mut b = match p {
        Protocol::ChatCompletions => {
            json!({"model": "x", "messages": [{"role": "user", "content": "q"}]})
        }
        Protocol::Responses => json!({"model": "x", "input": "q"}),
        Protocol::Messages => {
            json!({"model": "x", "max_tokens": 9000, "messages": [{"role": "user", "content": "q"}]})
        }
        Protocol::GenerateContent => {
            json!({"contents": [{"role": "user", "parts": [{"text": "q"}]}]})
        }
    };
    if let (Some(o), Value::Object(x)) = (b.as_object_mut(), extra) {
        o.extend(x);
    }
    b
}

fn translate(
    caller: Protocol,
    b: &Value,
    target: Protocol,
    policy: Policy,
) -> Result<Encoded, Error> {
    let ir = decode(caller, b.to_string().as_bytes(), false)?;
    encode_for(target, &ir, "m", false, policy)
}

fn check(label: &str, caller: Protocol, extra: Value, targets: &[Protocol], class: Class) {
    let b = body(caller, extra);
    for &target in targets {
        let at = format!("{label}: {caller:?} -> {target:?}");
        let lenient = translate(caller, &b, target, Policy::Lenient);
        let strict = translate(caller, &b, target, Policy::Strict);
        match &class {
            Translated(pointer, want) => {
                let e = lenient.unwrap_or_else(|e| panic!("{at}: {e:?}"));
                let out: Value = serde_json::from_slice(&e.body).unwrap();
                assert_eq!(out.pointer(pointer), Some(want), "{at}: {out}");
                assert!(e.dropped.is_empty(), "{at}: {:?}", e.dropped);
                assert!(strict.is_ok(), "{at}: strict {strict:?}");
            }
            Ignored(needle) => {
                let e = lenient.unwrap_or_else(|e| panic!("{at}: {e:?}"));
                let out = String::from_utf8(e.body).unwrap();
                assert!(
                    !out.contains(needle),
                    "{at}: {needle} reached the target: {out}"
                );
                assert!(e.dropped.is_empty(), "{at}: {:?}", e.dropped);
                assert!(strict.is_ok(), "{at}: strict {strict:?}");
            }
            Dropped(name) => {
                let e = lenient.unwrap_or_else(|e| panic!("{at}: {e:?}"));
                assert_eq!(e.dropped, [name.to_string()], "{at}");
                let out = String::from_utf8(e.body).unwrap();
                assert!(
                    !out.contains(name),
                    "{at}: {name} reached the target: {out}"
                );
                match strict {
                    Err(Error::Unsupported(m)) => assert!(m.contains(name), "{at}: {m}"),
                    other => panic!("{at}: strict gave {other:?}"),
                }
            }
            Refused(name) => {
                for r in [lenient, strict] {
                    match r {
                        Err(Error::Unsupported(m)) => assert!(m.contains(name), "{at}: {m}"),
                        other => panic!("{at}: gave {other:?}"),
                    }
                }
            }
        }
    }
}

const ALL_BUT_CHAT: &[Protocol] = &[RESP, MSGS, GEM];

#[test]
fn translated_fields() {
    let dev = json!({"messages": [{"role": "developer", "content": "be brief"}, {"role": "user", "content": "q"}]});
    check(
        "developer role",
        CHAT,
        dev.clone(),
        &[MSGS],
        Translated("/system", json!("be brief")),
    );
    check(
        "developer role",
        CHAT,
        dev,
        &[GEM],
        Translated("/systemInstruction/parts/0/text", json!("be brief")),
    );
    check(
        "developer item",
        RESP,
        json!({"input": [{"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "be brief"}]}, {"role": "user", "content": "q"}]}),
        &[MSGS],
        Translated("/system", json!("be brief")),
    );
    check(
        "verbosity",
        CHAT,
        json!({"verbosity": "low"}),
        &[RESP],
        Translated("/text/verbosity", json!("low")),
    );
    check(
        "text.verbosity",
        RESP,
        json!({"text": {"verbosity": "high"}}),
        &[CHAT],
        Translated("/verbosity", json!("high")),
    );
    check(
        "thinking budget",
        MSGS,
        json!({"thinking": {"type": "enabled", "budget_tokens": 4096}}),
        &[CHAT],
        Translated("/reasoning_effort", json!("medium")),
    );
    check(
        "thinking budget",
        MSGS,
        json!({"thinking": {"type": "enabled", "budget_tokens": 4096}}),
        &[GEM],
        Translated(
            "/generationConfig/thinkingConfig/thinkingBudget",
            json!(4096),
        ),
    );
    check(
        "thinkingConfig",
        GEM,
        json!({"generationConfig": {"maxOutputTokens": 8000, "thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": true}}}),
        &[MSGS],
        Translated("/thinking/budget_tokens", json!(2048)),
    );
    let schema = json!({"type": "object", "properties": {"cmd": {"type": "string"}}});
    check(
        "parametersJsonSchema",
        GEM,
        json!({"tools": [{"functionDeclarations": [{"name": "run", "parametersJsonSchema": schema}]}]}),
        &[CHAT],
        Translated("/tools/0/function/parameters", schema.clone()),
    );
    let ns = json!({"tools": [{"type": "namespace", "name": "mcp__fs", "description": "files", "tools": [
        {"type": "function", "name": "read", "parameters": schema}]}]});
    check(
        "namespace",
        RESP,
        ns.clone(),
        &[CHAT],
        Translated("/tools/0/function/name", json!("mcp__fs__read")),
    );
    check(
        "namespace",
        RESP,
        ns.clone(),
        &[MSGS],
        Translated("/tools/0/name", json!("mcp__fs__read")),
    );
    check(
        "namespace",
        RESP,
        ns,
        &[GEM],
        Translated(
            "/tools/0/functionDeclarations/0/name",
            json!("mcp__fs__read"),
        ),
    );
    check(
        "namespaced call",
        RESP,
        json!({"input": [{"role": "user", "content": "q"},
            {"type": "function_call", "call_id": "c1", "name": "read", "namespace": "mcp__fs", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "ok"}]}),
        &[CHAT],
        Translated(
            "/messages/1/tool_calls/0/function/name",
            json!("mcp__fs__read"),
        ),
    );
    check(
        "metadata.user_id",
        MSGS,
        json!({"metadata": {"user_id": "u1"}}),
        &[CHAT],
        Translated("/user", json!("u1")),
    );
}

#[test]
fn ignored_fields() {
    check(
        "prompt_cache_key",
        CHAT,
        json!({"prompt_cache_key": "k1"}),
        ALL_BUT_CHAT,
        Ignored("prompt_cache_key"),
    );
    check(
        "prompt_cache_key",
        RESP,
        json!({"prompt_cache_key": "k1"}),
        &[CHAT, MSGS, GEM],
        Ignored("k1"),
    );
    check(
        "include",
        RESP,
        json!({"include": ["reasoning.encrypted_content"]}),
        &[CHAT, MSGS, GEM],
        Ignored("encrypted_content"),
    );
    check(
        "store",
        RESP,
        json!({"store": false}),
        &[CHAT, MSGS, GEM],
        Ignored("store"),
    );
    check(
        "store",
        CHAT,
        json!({"store": true}),
        ALL_BUT_CHAT,
        Ignored("store"),
    );
    check(
        "metadata",
        CHAT,
        json!({"metadata": {"trace": "t1"}}),
        ALL_BUT_CHAT,
        Ignored("t1"),
    );
    check(
        "metadata",
        RESP,
        json!({"metadata": {"trace": "t1"}}),
        &[CHAT, MSGS, GEM],
        Ignored("t1"),
    );
    check(
        "cache_control",
        MSGS,
        json!({"system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
               "messages": [{"role": "user", "content": [{"type": "text", "text": "q", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]}]}),
        &[CHAT, RESP, GEM],
        Ignored("ephemeral"),
    );
    check(
        "context_management",
        MSGS,
        json!({"context_management": {"edits": [{"type": "clear_thinking_20251015"}]}}),
        &[CHAT, RESP, GEM],
        Ignored("clear_thinking"),
    );
    check(
        "thinking adaptive",
        MSGS,
        json!({"thinking": {"type": "adaptive", "display": "omitted"}}),
        &[CHAT, RESP, GEM],
        Ignored("adaptive"),
    );
    check(
        "thinking signatures",
        MSGS,
        json!({"messages": [{"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "sig-abc"}, {"type": "text", "text": "a"}]},
            {"role": "user", "content": "q2"}]}),
        &[CHAT, RESP, GEM],
        Ignored("sig-abc"),
    );
    check(
        "reasoning.summary",
        RESP,
        json!({"reasoning": {"summary": "auto"}}),
        &[CHAT, MSGS, GEM],
        Ignored("summary"),
    );
    check(
        "encrypted reasoning items",
        RESP,
        json!({"input": [{"role": "user", "content": "q"},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA-secret"},
            {"role": "assistant", "content": "a"}, {"role": "user", "content": "q2"}]}),
        &[CHAT, MSGS, GEM],
        Ignored("gAAAA-secret"),
    );
    check(
        "includeThoughts",
        GEM,
        json!({"generationConfig": {"thinkingConfig": {"includeThoughts": true}}}),
        &[CHAT, RESP, MSGS],
        Ignored("includeThoughts"),
    );
    check(
        "service_tier",
        CHAT,
        json!({"service_tier": "flex"}),
        ALL_BUT_CHAT,
        Ignored("flex"),
    );
    check(
        "safety_identifier",
        RESP,
        json!({"safety_identifier": "sid-1"}),
        &[CHAT, MSGS, GEM],
        Ignored("sid-1"),
    );
}

#[test]
fn dropped_fields() {
    check(
        "top_k",
        MSGS,
        json!({"top_k": 5}),
        &[CHAT, RESP],
        Dropped("top_k"),
    );
    check(
        "topK",
        GEM,
        json!({"generationConfig": {"topK": 64, "temperature": 1}}),
        &[CHAT, RESP],
        Dropped("top_k"),
    );
    check(
        "seed",
        CHAT,
        json!({"seed": 7}),
        &[RESP, MSGS],
        Dropped("seed"),
    );
    check(
        "seed",
        GEM,
        json!({"generationConfig": {"seed": 7}}),
        &[RESP, MSGS],
        Dropped("seed"),
    );
    check(
        "presence_penalty",
        CHAT,
        json!({"presence_penalty": 0.5}),
        &[RESP, MSGS],
        Dropped("presence_penalty"),
    );
    check(
        "frequencyPenalty",
        GEM,
        json!({"generationConfig": {"frequencyPenalty": 0.5}}),
        &[RESP, MSGS],
        Dropped("frequency_penalty"),
    );
    check(
        "text.verbosity",
        RESP,
        json!({"text": {"verbosity": "low"}}),
        &[MSGS, GEM],
        Dropped("verbosity"),
    );
    check(
        "verbosity",
        CHAT,
        json!({"verbosity": "low"}),
        &[MSGS, GEM],
        Dropped("verbosity"),
    );
    for t in [
        "web_search",
        "web_search_preview",
        "file_search",
        "code_interpreter",
        "image_generation",
        "mcp",
    ] {
        check(
            t,
            RESP,
            json!({"tools": [{"type": t}]}),
            &[CHAT, MSGS, GEM],
            Dropped(t),
        );
    }
    check(
        "web_search_options",
        CHAT,
        json!({"web_search_options": {}}),
        ALL_BUT_CHAT,
        Dropped("web_search_options"),
    );
    for t in [
        "web_search_20250305",
        "web_fetch_20250910",
        "code_execution_20250825",
        "tool_search_tool_regex_20251119",
    ] {
        check(
            t,
            MSGS,
            json!({"tools": [{"type": t, "name": "x"}]}),
            &[CHAT, RESP, GEM],
            Dropped(t),
        );
    }
    check(
        "mcp_servers",
        MSGS,
        json!({"mcp_servers": [{"type": "url", "url": "https://mcp.example/sse", "name": "ex"}]}),
        &[CHAT, RESP, GEM],
        Dropped("mcp_servers"),
    );
    for t in [
        "googleSearch",
        "google_search",
        "codeExecution",
        "urlContext",
        "googleSearchRetrieval",
        "googleMaps",
        "fileSearch",
        "enterpriseWebSearch",
    ] {
        check(
            t,
            GEM,
            json!({"tools": [{t: {}}]}),
            &[CHAT, RESP, MSGS],
            Dropped(t),
        );
    }
    // Codex's default tools: a namespace group and the hosted web search, beside functions.
    let codex = body(
        RESP,
        json!({"tools": [{"type": "function", "name": "exec_command", "parameters": {"type": "object"}},
            {"type": "namespace", "name": "multi_agent_v1", "tools": [{"type": "function", "name": "close_agent", "parameters": {"type": "object"}}]},
            {"type": "web_search", "external_web_access": true}]}),
    );
    for target in [CHAT, MSGS, GEM] {
        let e = translate(RESP, &codex, target, Policy::Lenient).unwrap();
        assert_eq!(e.dropped, ["web_search"]);
        let out = String::from_utf8(e.body).unwrap();
        assert!(
            out.contains("exec_command") && out.contains("multi_agent_v1__close_agent"),
            "{out}"
        );
        let (ns, name) = e.names.restore_call("multi_agent_v1__close_agent");
        assert_eq!((ns, name), (Some("multi_agent_v1"), "close_agent"));
        assert_eq!(e.names.restore_call("exec_command"), (None, "exec_command"));
    }
}

#[test]
fn refused_fields() {
    check(
        "stop",
        CHAT,
        json!({"stop": ["END"]}),
        &[RESP],
        Refused("stop"),
    );
    check(
        "n",
        CHAT,
        json!({"n": 2}),
        &[MSGS],
        Refused("`n` greater than 1"),
    );
    check(
        "logprobs",
        CHAT,
        json!({"logprobs": true}),
        &[MSGS],
        Refused("logprobs"),
    );
    check(
        "logit_bias",
        CHAT,
        json!({"logit_bias": {"50256": -100}}),
        &[RESP],
        Refused("logit_bias"),
    );
    check(
        "previous_response_id",
        RESP,
        json!({"previous_response_id": "resp_1"}),
        &[CHAT],
        Refused("previous_response_id"),
    );
    check(
        "custom tools",
        CHAT,
        json!({"tools": [{"type": "custom", "custom": {"name": "x"}}]}),
        &[MSGS],
        Refused("`custom` tools"),
    );
    check(
        "local_shell",
        RESP,
        json!({"tools": [{"type": "local_shell"}]}),
        &[CHAT],
        Refused("`local_shell` tools"),
    );
    check(
        "computer_use_preview",
        RESP,
        json!({"tools": [{"type": "computer_use_preview"}]}),
        &[MSGS],
        Refused("computer_use_preview"),
    );
    check(
        "bash tool",
        MSGS,
        json!({"tools": [{"type": "bash_20250124", "name": "bash"}]}),
        &[CHAT],
        Refused("bash_20250124"),
    );
    check(
        "candidateCount",
        GEM,
        json!({"generationConfig": {"candidateCount": 2}}),
        &[CHAT],
        Refused("candidateCount"),
    );
    check(
        "cachedContent",
        GEM,
        json!({"cachedContent": "cachedContents/1"}),
        &[MSGS],
        Refused("cachedContent"),
    );
    check(
        "nested namespace",
        RESP,
        json!({"tools": [{"type": "namespace", "name": "a", "tools": [{"type": "namespace", "name": "b", "tools": []}]}]}),
        &[CHAT],
        Refused("`namespace` tools"),
    );
}

#[test]
fn namespaced_calls_come_back_under_their_group() {
    use crate::json::Scratch;
    use crate::response;
    use crate::stream::{Ctx, Translator};
    let codex = body(
        RESP,
        json!({"tools": [{"type": "namespace", "name": "multi_agent_v1", "tools": [
            {"type": "function", "name": "close_agent", "parameters": {"type": "object"}}]}]}),
    );
    let names = translate(RESP, &codex, CHAT, Policy::Lenient)
        .unwrap()
        .names;
    let ctx = Ctx {
        model: "m",
        include_usage: false,
        json_array: false,
        created: 1,
        seed: 1,
    };
    // A whole answer.
    let chat = json!({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "multi_agent_v1__close_agent", "arguments": "{}"}}]}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}});
    let mut r = response::decode(CHAT, chat.to_string().as_bytes(), &ctx).unwrap();
    names.restore_response(&mut r);
    let out: Value = serde_json::from_slice(&response::encode(RESP, &r, &ctx)).unwrap();
    let call = &out["output"][0];
    assert_eq!(
        (&call["name"], &call["namespace"]),
        (&json!("close_agent"), &json!("multi_agent_v1")),
        "{out}"
    );
    // A stream.
    let mut t = Translator::new(CHAT, RESP, &ctx);
    t.restore_names(names);
    let mut scratch = Scratch::new();
    let mut sse = Vec::new();
    for ev in [
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "multi_agent_v1__close_agent", "arguments": ""}}]}, "finish_reason": null}]}),
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}, "finish_reason": "tool_calls"}]}),
    ] {
        t.feed(format!("data: {ev}\n\n").as_bytes(), &mut scratch);
        sse.extend_from_slice(&t.take().unwrap_or_default());
    }
    t.feed(b"data: [DONE]\n\n", &mut scratch);
    sse.extend_from_slice(&t.take().unwrap_or_default());
    let text = String::from_utf8(sse).unwrap();
    let done = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|v| v["type"] == "response.output_item.done")
        .unwrap_or_else(|| panic!("no output_item.done: {text}"));
    assert_eq!(done["item"]["name"], "close_agent", "{text}");
    assert_eq!(done["item"]["namespace"], "multi_agent_v1", "{text}");
    assert!(!text.contains("multi_agent_v1__close_agent"), "{text}");
}
