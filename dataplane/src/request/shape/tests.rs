//! The hygiene rules, one case per rule and protocol: each refused body names what is wrong,
//! and the bodies real clients send pass.

use compiler::table::Protocol;
use translate::json::Scratch;

use super::{MAX_DEPTH, Problem, check};

fn run(p: Protocol, body: &str) -> Result<(), Problem> {
    Scratch::new()
        .parse_tape(body.as_bytes(), |t| check(&t.0, p))
        .expect("valid JSON")
}

fn refused(p: Protocol, body: &str) -> String {
    match run(p, body) {
        Err(e) => e.message(),
        Ok(()) => panic!("{p:?} accepted {body}"),
    }
}

#[test]
fn duplicate_keys_are_refused_at_any_depth_with_their_path() {
    for p in Protocol::ALL {
        assert_eq!(
            refused(p, r#"{"model":"a","x":1,"model":"b"}"#),
            "the request body has `model` more than once"
        );
        assert_eq!(
            refused(p, r#"{"a":{"b":[{"c":1},{"d":{"e":1,"e":2}}]}}"#),
            "the request body has `a.b[1].d.e` more than once"
        );
    }
    // Escapes are decoded before comparing: `"mod\u0065l"` is `model`.
    assert_eq!(
        refused(Protocol::Messages, r#"{"model":"a","mod\u0065l":"b"}"#),
        "the request body has `model` more than once"
    );
    // A large object (the sorted path) too.
    let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
    let body = format!(r#"{{"tools":[{{"p":{{{},"k7":0}}}}]}}"#, many.join(","));
    assert_eq!(
        refused(Protocol::ChatCompletions, &body),
        "the request body has `tools[0].p.k7` more than once"
    );
    let body = format!(r#"{{"p":{{{}}}}}"#, many.join(","));
    assert_eq!(run(Protocol::ChatCompletions, &body), Ok(()));
}

#[test]
fn nesting_is_capped() {
    let nest = |n: usize| format!(r#"{{"x":{}1{}}}"#, "[".repeat(n - 1), "]".repeat(n - 1));
    assert_eq!(run(Protocol::Responses, &nest(MAX_DEPTH)), Ok(()));
    assert_eq!(
        run(Protocol::Responses, &nest(MAX_DEPTH + 1)),
        Err(Problem::TooDeep)
    );
    let objects = format!(
        "{}{}",
        r#"{"a":"#.repeat(MAX_DEPTH),
        "1".to_owned() + &"}".repeat(MAX_DEPTH)
    );
    assert_eq!(run(Protocol::Messages, &objects), Ok(()));
    let deeper = format!(
        "{}{}",
        r#"{"a":"#.repeat(MAX_DEPTH + 1),
        "1".to_owned() + &"}".repeat(MAX_DEPTH + 1)
    );
    assert!(refused(Protocol::Messages, &deeper).contains("deeper than 128"));
}

#[test]
fn top_level_types_per_protocol() {
    for (p, body, want) in [
        (
            Protocol::ChatCompletions,
            r#"{"messages":{}}"#,
            "`messages` must be an array",
        ),
        (
            Protocol::ChatCompletions,
            r#"{"temperature":"hot"}"#,
            "`temperature` must be a number",
        ),
        (
            Protocol::ChatCompletions,
            r#"{"stop":7}"#,
            "`stop` must be a string or an array",
        ),
        (
            Protocol::ChatCompletions,
            r#"{"tool_choice":[]}"#,
            "`tool_choice` must be a string or an object",
        ),
        (
            Protocol::Responses,
            r#"{"input":7}"#,
            "`input` must be a string or an array",
        ),
        (
            Protocol::Responses,
            r#"{"instructions":["x"]}"#,
            "`instructions` must be a string",
        ),
        (
            Protocol::Responses,
            r#"{"store":"no"}"#,
            "`store` must be a boolean",
        ),
        (
            Protocol::Messages,
            r#"{"system":5}"#,
            "`system` must be a string or an array",
        ),
        (
            Protocol::Messages,
            r#"{"max_tokens":"1"}"#,
            "`max_tokens` must be a number",
        ),
        (
            Protocol::Messages,
            r#"{"thinking":true}"#,
            "`thinking` must be an object",
        ),
        (
            Protocol::GenerateContent,
            r#"{"contents":"hi"}"#,
            "`contents` must be an array",
        ),
        (
            Protocol::GenerateContent,
            r#"{"generationConfig":[]}"#,
            "`generationConfig` must be an object",
        ),
        (
            Protocol::GenerateContent,
            r#"{"system_instruction":"be brief"}"#,
            "`system_instruction` must be an object",
        ),
    ] {
        assert_eq!(refused(p, body), want, "{p:?} {body}");
    }
}

#[test]
fn item_types_per_protocol() {
    for (p, body, want) in [
        (
            Protocol::ChatCompletions,
            r#"{"messages":["hi"]}"#,
            "`messages[0]` must be an object",
        ),
        (
            Protocol::ChatCompletions,
            r#"{"messages":[{"role":1}]}"#,
            "`messages[0].role` must be a string",
        ),
        (
            Protocol::ChatCompletions,
            r#"{"messages":[{"role":"user","content":{}}]}"#,
            "`messages[0].content` must be a string or an array",
        ),
        (
            Protocol::ChatCompletions,
            r#"{"messages":[{"role":"user","content":["x"]}]}"#,
            "`messages[0].content[0]` must be an object",
        ),
        (
            Protocol::ChatCompletions,
            r#"{"messages":[{"role":"user","content":[{"type":1}]}]}"#,
            "`messages[0].content[0].type` must be a string",
        ),
        (
            Protocol::Responses,
            r#"{"input":[{"role":"user","content":5}]}"#,
            "`input[0].content` must be a string or an array",
        ),
        (
            Protocol::Responses,
            r#"{"input":[{"type":"function_call","arguments":{}}]}"#,
            "`input[0].arguments` must be a string",
        ),
        (
            Protocol::Responses,
            r#"{"input":[{"type":"message","content":[{"type":"input_text"},3]}]}"#,
            "`input[0].content[1]` must be an object",
        ),
        (
            Protocol::Messages,
            r#"{"messages":[{"role":["user"]}]}"#,
            "`messages[0].role` must be a string",
        ),
        (
            Protocol::Messages,
            r#"{"messages":[{"role":"user","content":null}]}"#,
            "`messages[0].content` must be a string or an array",
        ),
        (
            Protocol::Messages,
            r#"{"messages":[{"role":"user","content":[{"type":{}}]}]}"#,
            "`messages[0].content[0].type` must be a string",
        ),
        (
            Protocol::Messages,
            r#"{"system":["be brief"]}"#,
            "`system[0]` must be an object",
        ),
        (
            Protocol::GenerateContent,
            r#"{"contents":[{"parts":{"text":"x"}}]}"#,
            "`contents[0].parts` must be an array",
        ),
        (
            Protocol::GenerateContent,
            r#"{"contents":[{"role":0,"parts":[]}]}"#,
            "`contents[0].role` must be a string",
        ),
        (
            Protocol::GenerateContent,
            r#"{"contents":[{"parts":["x"]}]}"#,
            "`contents[0].parts[0]` must be an object",
        ),
    ] {
        assert_eq!(refused(p, body), want, "{p:?} {body}");
    }
}

#[test]
fn what_clients_send_passes() {
    for (p, body) in [
        (
            Protocol::ChatCompletions,
            r#"{"model":"m","messages":[{"role":"developer","content":"x"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":[{"type":"text","text":"r"}]}],"stream":null,"prompt_cache_key":"k","metadata":{"a":"b"},"store":false,"unknown":{"x":[1]}}"#,
        ),
        (
            Protocol::Responses,
            r#"{"model":"m","input":"hi","include":["reasoning.encrypted_content"],"text":{"verbosity":"low"},"reasoning":{"summary":"auto"},"tools":[{"type":"namespace","name":"ns","tools":[]}]}"#,
        ),
        (
            Protocol::Responses,
            r#"{"model":"m","input":[{"type":"reasoning","summary":[],"content":null,"encrypted_content":"e"},{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"x"}]}]}"#,
        ),
        (
            Protocol::Messages,
            r#"{"model":"m","max_tokens":5,"system":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"},{"role":"system","content":[{"type":"text","text":"y"}]}],"thinking":{"type":"adaptive"},"context_management":{"edits":[]}}"#,
        ),
        (
            Protocol::GenerateContent,
            r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"systemInstruction":{"parts":[{"text":"x"}]},"generationConfig":{"topK":64,"thinkingConfig":{"includeThoughts":true}}}"#,
        ),
    ] {
        assert_eq!(run(p, body), Ok(()), "{p:?} {body}");
    }
}
