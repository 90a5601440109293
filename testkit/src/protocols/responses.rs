//! OpenAI Responses answers: protocols.md §4.2 byte for byte, with the request's model,
//! `instructions` and `max_output_tokens` echoed (`$M`, `$I`, `$X`).
//!
//! Every streamed event has an `event:` line and an increasing `sequence_number` from 0; there
//! is no `[DONE]`. The `tools` echoed in snapshots are fixed per scenario (`$T`).

use super::{Events, Scenario};

/// The `tools` of the tool scenarios: the §4 `get_weather` definition.
pub(super) const TOOLS: &str = r#"[{"type":"function","name":"get_weather","description":"Get the current weather for a city.","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"],"additionalProperties":false},"strict":true}]"#;

/// The request settings every Response snapshot repeats (`$S`).
pub(super) const SETTINGS: &str = r#""parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":$T,"top_p":1.0,"truncation":"disabled""#;

/// A Response object: status (with `error`), `output` and `usage` vary, the rest is fixed.
macro_rules! response {
    ($status:literal, $output:literal, $usage:literal) => {
        concat!(
            r#"{"id":"$R","object":"response","created_at":1767225600,"status":"#,
            $status,
            r#","incomplete_details":null,"instructions":$I,"max_output_tokens":$X,"model":$M,"output":"#,
            $output,
            r#",$S,"usage":"#,
            $usage,
            r#","user":null,"metadata":{}}"#
        )
    };
}

macro_rules! event {
    ($kind:literal, $seq:literal, $response:expr) => {
        concat!(
            r#"{"type":""#,
            $kind,
            r#"","sequence_number":"#,
            $seq,
            r#","response":"#,
            $response,
            "}"
        )
    };
}

/// The final Response of each scenario (the non-stream body and the `response.completed` one).
macro_rules! text_response {
    () => {
        response!(
            r#""completed","error":null"#,
            r#"[{"id":"msg_test123","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hello!","annotations":[],"logprobs":[]}]}]"#,
            r#"{"input_tokens":19,"input_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":22}"#
        )
    };
}
macro_rules! tool_response {
    () => {
        response!(
            r#""completed","error":null"#,
            r#"[{"id":"fc_test123","type":"function_call","status":"completed","call_id":"call_abc123","name":"get_weather","arguments":"{\"location\":\"Paris\"}"}]"#,
            r#"{"input_tokens":61,"input_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"output_tokens":16,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":77}"#
        )
    };
}
macro_rules! parallel_response {
    () => {
        response!(
            r#""completed","error":null"#,
            r#"[{"id":"fc_test123","type":"function_call","status":"completed","call_id":"call_abc123","name":"get_weather","arguments":"{\"location\":\"Paris\"}"},{"id":"fc_test456","type":"function_call","status":"completed","call_id":"call_def456","name":"get_weather","arguments":"{\"location\":\"London\"}"}]"#,
            r#"{"input_tokens":61,"input_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"output_tokens":32,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":93}"#
        )
    };
}

pub(super) fn body(s: Scenario) -> &'static str {
    match s {
        Scenario::Text => TEXT,
        Scenario::Tool => TOOL,
        Scenario::Parallel => PARALLEL,
    }
}

pub(super) fn stream(s: Scenario, ev: &mut Events<'_>) {
    ev.push(CREATED);
    ev.push(IN_PROGRESS);
    let rest: &[&str] = match s {
        Scenario::Text => {
            ev.push(TEXT_STREAM[0]);
            ev.push(TEXT_STREAM[1]);
            &TEXT_STREAM[2..]
        }
        Scenario::Tool => &TOOL_STREAM,
        Scenario::Parallel => &PARALLEL_STREAM,
    };
    ev.content();
    for tpl in rest {
        ev.push(tpl);
    }
}

/// `response.created`, `response.in_progress`, then `response.failed`.
pub(super) fn stream_error(_: Scenario, ev: &mut Events<'_>) {
    ev.push(CREATED);
    ev.push(IN_PROGRESS);
    ev.push(FAILED);
}

const TEXT: &str = text_response!();

const TOOL: &str = tool_response!();

const PARALLEL: &str = parallel_response!();

const CREATED: &str = event!(
    "response.created",
    0,
    response!(r#""in_progress","error":null"#, "[]", "null")
);
const IN_PROGRESS: &str = event!(
    "response.in_progress",
    1,
    response!(r#""in_progress","error":null"#, "[]", "null")
);
const FAILED: &str = event!(
    "response.failed",
    2,
    response!(
        r#""failed","error":{"code":"server_error","message":"The server had an error while processing your request."}"#,
        "[]",
        "null"
    )
);

/// From `response.output_item.added` on; the first two are lifecycle, the third is content.
const TEXT_STREAM: [&str; 8] = [
    r#"{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_test123","type":"message","status":"in_progress","role":"assistant","content":[]}}"#,
    r#"{"type":"response.content_part.added","sequence_number":3,"item_id":"msg_test123","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[],"logprobs":[]}}"#,
    r#"{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_test123","output_index":0,"content_index":0,"delta":"Hel","logprobs":[]}"#,
    r#"{"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_test123","output_index":0,"content_index":0,"delta":"lo!","logprobs":[]}"#,
    r#"{"type":"response.output_text.done","sequence_number":6,"item_id":"msg_test123","output_index":0,"content_index":0,"text":"Hello!","logprobs":[]}"#,
    r#"{"type":"response.content_part.done","sequence_number":7,"item_id":"msg_test123","output_index":0,"content_index":0,"part":{"type":"output_text","text":"Hello!","annotations":[],"logprobs":[]}}"#,
    r#"{"type":"response.output_item.done","sequence_number":8,"output_index":0,"item":{"id":"msg_test123","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hello!","annotations":[],"logprobs":[]}]}}"#,
    event!("response.completed", 9, text_response!()),
];

const TOOL_STREAM: [&str; 6] = [
    r#"{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"fc_test123","type":"function_call","status":"in_progress","call_id":"call_abc123","name":"get_weather","arguments":""}}"#,
    r#"{"type":"response.function_call_arguments.delta","sequence_number":3,"item_id":"fc_test123","output_index":0,"delta":"{\"location\":"}"#,
    r#"{"type":"response.function_call_arguments.delta","sequence_number":4,"item_id":"fc_test123","output_index":0,"delta":"\"Paris\"}"}"#,
    r#"{"type":"response.function_call_arguments.done","sequence_number":5,"item_id":"fc_test123","output_index":0,"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}"#,
    r#"{"type":"response.output_item.done","sequence_number":6,"output_index":0,"item":{"id":"fc_test123","type":"function_call","status":"completed","call_id":"call_abc123","name":"get_weather","arguments":"{\"location\":\"Paris\"}"}}"#,
    event!("response.completed", 7, tool_response!()),
];

const PARALLEL_STREAM: [&str; 11] = [
    r#"{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"fc_test123","type":"function_call","status":"in_progress","call_id":"call_abc123","name":"get_weather","arguments":""}}"#,
    r#"{"type":"response.function_call_arguments.delta","sequence_number":3,"item_id":"fc_test123","output_index":0,"delta":"{\"location\":"}"#,
    r#"{"type":"response.function_call_arguments.delta","sequence_number":4,"item_id":"fc_test123","output_index":0,"delta":"\"Paris\"}"}"#,
    r#"{"type":"response.function_call_arguments.done","sequence_number":5,"item_id":"fc_test123","output_index":0,"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}"#,
    r#"{"type":"response.output_item.done","sequence_number":6,"output_index":0,"item":{"id":"fc_test123","type":"function_call","status":"completed","call_id":"call_abc123","name":"get_weather","arguments":"{\"location\":\"Paris\"}"}}"#,
    r#"{"type":"response.output_item.added","sequence_number":7,"output_index":1,"item":{"id":"fc_test456","type":"function_call","status":"in_progress","call_id":"call_def456","name":"get_weather","arguments":""}}"#,
    r#"{"type":"response.function_call_arguments.delta","sequence_number":8,"item_id":"fc_test456","output_index":1,"delta":"{\"location\":"}"#,
    r#"{"type":"response.function_call_arguments.delta","sequence_number":9,"item_id":"fc_test456","output_index":1,"delta":"\"London\"}"}"#,
    r#"{"type":"response.function_call_arguments.done","sequence_number":10,"item_id":"fc_test456","output_index":1,"name":"get_weather","arguments":"{\"location\":\"London\"}"}"#,
    r#"{"type":"response.output_item.done","sequence_number":11,"output_index":1,"item":{"id":"fc_test456","type":"function_call","status":"completed","call_id":"call_def456","name":"get_weather","arguments":"{\"location\":\"London\"}"}}"#,
    event!("response.completed", 12, parallel_response!()),
];
