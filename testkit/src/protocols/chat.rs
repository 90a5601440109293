//! OpenAI Chat Completions answers: protocols.md §4.1 byte for byte, with the request's model.
//!
//! Streams carry `"usage":null` on every chunk and the `choices:[]` usage chunk only when the
//! request asked for `stream_options.include_usage` (`$U`), and always end with `data: [DONE]`.

use super::{Events, Scenario, quote};

pub(super) fn body(s: Scenario) -> &'static str {
    match s {
        Scenario::Text => TEXT,
        Scenario::Tool => TOOL,
        Scenario::Parallel => PARALLEL,
    }
}

pub(super) fn stream(s: Scenario, ev: &mut Events<'_>) {
    let usage = ev.vars.usage;
    match s {
        Scenario::Text => {
            ev.push(TEXT_ROLE);
            ev.content();
            ev.push(TEXT_HEL);
            ev.push(TEXT_LO);
            ev.push(TEXT_STOP);
            if usage {
                ev.push(TEXT_USAGE);
            }
        }
        Scenario::Tool => {
            ev.content();
            ev.push(TOOL_START);
            ev.push(TOOL_ARGS_1);
            ev.push(TOOL_ARGS_2);
            ev.push(TOOL_STOP);
            if usage {
                ev.push(TOOL_USAGE);
            }
        }
        Scenario::Parallel => {
            ev.content();
            for tpl in PARALLEL_STREAM {
                ev.push(tpl);
            }
            if usage {
                ev.push(PARALLEL_USAGE);
            }
        }
    }
    ev.push("[DONE]");
}

/// The role chunk, then a `data: {"error":…}` event; no `[DONE]`.
pub(super) fn stream_error(ev: &mut Events<'_>) {
    ev.push(TEXT_ROLE);
    ev.push(STREAM_ERROR);
}

/// `{"error":{"message","type","param","code"}}`, the envelope of Chat and Responses.
pub(super) fn error(status: u16, message: Option<&str>) -> String {
    let (kind, code, default) = match status {
        401 => (
            "invalid_request_error",
            r#""invalid_api_key""#,
            "Incorrect API key provided.",
        ),
        403 => (
            "permission_error",
            "null",
            "You are not allowed to access this resource.",
        ),
        404 => (
            "invalid_request_error",
            r#""model_not_found""#,
            "The model does not exist.",
        ),
        429 => (
            "requests",
            r#""rate_limit_exceeded""#,
            "Rate limit reached for requests.",
        ),
        500.. => (
            "server_error",
            "null",
            "The server had an error while processing your request.",
        ),
        _ => ("invalid_request_error", "null", "Invalid request."),
    };
    format!(
        r#"{{"error":{{"message":{},"type":"{kind}","param":null,"code":{code}}}}}"#,
        quote(message.unwrap_or(default))
    )
}

const TEXT: &str = r#"{"id":"chatcmpl-test123","object":"chat.completion","created":1767225600,"model":$M,"choices":[{"index":0,"message":{"role":"assistant","content":"Hello!","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":3,"total_tokens":22,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_test"}"#;

const TOOL: &str = r#"{"id":"chatcmpl-test456","object":"chat.completion","created":1767225600,"model":$M,"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"annotations":[],"tool_calls":[{"id":"call_abc123","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":61,"completion_tokens":16,"total_tokens":77,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_test"}"#;

const PARALLEL: &str = r#"{"id":"chatcmpl-test789","object":"chat.completion","created":1767225600,"model":$M,"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"annotations":[],"tool_calls":[{"id":"call_abc123","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}},{"id":"call_def456","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"London\"}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":61,"completion_tokens":32,"total_tokens":93,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_test"}"#;

const TEXT_ROLE: &str = r#"{"id":"chatcmpl-test123","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]$U}"#;
const TEXT_HEL: &str = r#"{"id":"chatcmpl-test123","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[{"index":0,"delta":{"content":"Hel"},"logprobs":null,"finish_reason":null}]$U}"#;
const TEXT_LO: &str = r#"{"id":"chatcmpl-test123","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[{"index":0,"delta":{"content":"lo!"},"logprobs":null,"finish_reason":null}]$U}"#;
const TEXT_STOP: &str = r#"{"id":"chatcmpl-test123","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]$U}"#;
const TEXT_USAGE: &str = r#"{"id":"chatcmpl-test123","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[],"usage":{"prompt_tokens":19,"completion_tokens":3,"total_tokens":22,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}"#;

const TOOL_START: &str = r#"{"id":"chatcmpl-test456","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc123","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null},"logprobs":null,"finish_reason":null}]$U}"#;
const TOOL_ARGS_1: &str = r#"{"id":"chatcmpl-test456","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":"}}]},"logprobs":null,"finish_reason":null}]$U}"#;
const TOOL_ARGS_2: &str = r#"{"id":"chatcmpl-test456","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"logprobs":null,"finish_reason":null}]$U}"#;
const TOOL_STOP: &str = r#"{"id":"chatcmpl-test456","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]$U}"#;
const TOOL_USAGE: &str = r#"{"id":"chatcmpl-test456","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[],"usage":{"prompt_tokens":61,"completion_tokens":16,"total_tokens":77,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}"#;

/// Two calls: each opens with `id`/`type`/`name` at its own `index`, then argument fragments.
const PARALLEL_STREAM: [&str; 7] = [
    r#"{"id":"chatcmpl-test789","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc123","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null},"logprobs":null,"finish_reason":null}]$U}"#,
    r#"{"id":"chatcmpl-test789","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":"}}]},"logprobs":null,"finish_reason":null}]$U}"#,
    r#"{"id":"chatcmpl-test789","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"logprobs":null,"finish_reason":null}]$U}"#,
    r#"{"id":"chatcmpl-test789","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_def456","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}]$U}"#,
    r#"{"id":"chatcmpl-test789","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"location\":"}}]},"logprobs":null,"finish_reason":null}]$U}"#,
    r#"{"id":"chatcmpl-test789","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"London\"}"}}]},"logprobs":null,"finish_reason":null}]$U}"#,
    r#"{"id":"chatcmpl-test789","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]$U}"#,
];
const PARALLEL_USAGE: &str = r#"{"id":"chatcmpl-test789","object":"chat.completion.chunk","created":1767225600,"model":$M,"system_fingerprint":"fp_test","choices":[],"usage":{"prompt_tokens":61,"completion_tokens":32,"total_tokens":93,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}"#;

const STREAM_ERROR: &str =
    r#"{"error":{"message":"upstream exploded","type":"server_error","param":null,"code":null}}"#;
