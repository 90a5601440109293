//! Anthropic Messages answers: protocols.md §4.3 byte for byte, with the request's model.
//!
//! Every streamed event is named (`event:` line); block indices start at 0 and are contiguous;
//! there is no `[DONE]`. The tool scenarios open with the text block of §4's tool-use stream.

use super::{Events, Scenario, quote};

pub(super) fn body(s: Scenario) -> &'static str {
    match s {
        Scenario::Text => TEXT,
        Scenario::Tool => TOOL,
        Scenario::Parallel => PARALLEL,
    }
}

pub(super) fn stream(s: Scenario, ev: &mut Events<'_>) {
    let events: &[&str] = match s {
        Scenario::Text => &TEXT_STREAM,
        Scenario::Tool => &TOOL_STREAM,
        Scenario::Parallel => &PARALLEL_STREAM,
    };
    // `message_start`, `content_block_start`, `ping`, then the first delta.
    for (i, tpl) in events.iter().enumerate() {
        if i == 3 {
            ev.content();
        }
        ev.push(tpl);
    }
}

/// `message_start` and `ping`, then `event: error` with `overloaded_error`.
pub(super) fn stream_error(s: Scenario, ev: &mut Events<'_>) {
    ev.push(match s {
        Scenario::Text => TEXT_STREAM[0],
        Scenario::Tool => TOOL_STREAM[0],
        Scenario::Parallel => PARALLEL_STREAM[0],
    });
    ev.push(PING);
    ev.push(STREAM_ERROR);
}

/// `{"type":"error","error":{"type","message"},"request_id"}`.
pub(super) fn error(status: u16, message: Option<&str>) -> String {
    let (kind, default) = match status {
        401 => ("authentication_error", "invalid x-api-key"),
        403 => (
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        404 => (
            "not_found_error",
            "The requested resource could not be found.",
        ),
        413 => (
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
        429 => (
            "rate_limit_error",
            "Number of requests has exceeded your rate limit.",
        ),
        529 => ("overloaded_error", "Overloaded"),
        500.. => ("api_error", "Internal server error"),
        _ => ("invalid_request_error", "Invalid request."),
    };
    format!(
        r#"{{"type":"error","error":{{"type":"{kind}","message":{}}},"request_id":"req_test"}}"#,
        quote(message.unwrap_or(default))
    )
}

const TEXT: &str = r#"{"id":"msg_01TestText","type":"message","role":"assistant","model":$M,"content":[{"type":"text","text":"Hello!"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":5,"service_tier":"standard"}}"#;

const TOOL: &str = r#"{"id":"msg_01TestTool","type":"message","role":"assistant","model":$M,"content":[{"type":"text","text":"I'll check the weather."},{"type":"tool_use","id":"toolu_01TestCall","name":"get_weather","input":{"location":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":380,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":52,"service_tier":"standard"}}"#;

const PARALLEL: &str = r#"{"id":"msg_01TestPar","type":"message","role":"assistant","model":$M,"content":[{"type":"text","text":"I'll check the weather."},{"type":"tool_use","id":"toolu_01TestCall","name":"get_weather","input":{"location":"Paris"}},{"type":"tool_use","id":"toolu_01TestCall2","name":"get_weather","input":{"location":"London"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":380,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":80,"service_tier":"standard"}}"#;

const PING: &str = r#"{"type":"ping"}"#;
const STREAM_ERROR: &str =
    r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;

const TEXT_STREAM: [&str; 8] = [
    r#"{"type":"message_start","message":{"id":"msg_01TestText","type":"message","role":"assistant","model":$M,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,"service_tier":"standard"}}}"#,
    r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    PING,
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}"#,
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo!"}}"#,
    r#"{"type":"content_block_stop","index":0}"#,
    r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}}"#,
    r#"{"type":"message_stop"}"#,
];

const TOOL_STREAM: [&str; 12] = [
    r#"{"type":"message_start","message":{"id":"msg_01TestTool","type":"message","role":"assistant","model":$M,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":380,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,"service_tier":"standard"}}}"#,
    r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    PING,
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I'll check the weather."}}"#,
    r#"{"type":"content_block_stop","index":0}"#,
    r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01TestCall","name":"get_weather","input":{}}}"#,
    r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#,
    r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}}"#,
    r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \"Paris\"}"}}"#,
    r#"{"type":"content_block_stop","index":1}"#,
    r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":52}}"#,
    r#"{"type":"message_stop"}"#,
];

const PARALLEL_STREAM: [&str; 17] = [
    r#"{"type":"message_start","message":{"id":"msg_01TestPar","type":"message","role":"assistant","model":$M,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":380,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,"service_tier":"standard"}}}"#,
    r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    PING,
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I'll check the weather."}}"#,
    r#"{"type":"content_block_stop","index":0}"#,
    r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01TestCall","name":"get_weather","input":{}}}"#,
    r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#,
    r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}}"#,
    r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \"Paris\"}"}}"#,
    r#"{"type":"content_block_stop","index":1}"#,
    r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_01TestCall2","name":"get_weather","input":{}}}"#,
    r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}"#,
    r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}}"#,
    r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":" \"London\"}"}}"#,
    r#"{"type":"content_block_stop","index":2}"#,
    r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":80}}"#,
    r#"{"type":"message_stop"}"#,
];
