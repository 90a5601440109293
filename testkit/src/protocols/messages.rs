//! Anthropic Messages answers: the Messages vectors byte for byte, with the request's model.
//!
//! Every streamed event is named (`event:` line); block indices start at 0 and are contiguous;
//! there is no `[DONE]`. The tool scenarios open with the text block of the tool-use vector.

use std::sync::OnceLock;

use super::{Events, Scenario, body_template, first_content, quote, stream_templates};
use crate::vectors::messages as v;

/// The model the vectors answer as.
const MODEL: &str = "claude-sonnet-4-5-20250929";

const PING: &str = r#"{"type":"ping"}"#;

struct Stream {
    events: Vec<String>,
    content: usize,
}

struct Templates {
    bodies: [String; 3],
    streams: [Stream; 3],
    error: String,
}

fn templates() -> &'static Templates {
    static T: OnceLock<Templates> = OnceLock::new();
    T.get_or_init(|| {
        let stream = |sse: &str| {
            let events = stream_templates(sse, MODEL);
            let content = first_content(&events, |e| {
                e.starts_with(r#"{"type":"content_block_delta""#)
            });
            Stream { events, content }
        };
        Templates {
            bodies: [v::RESPONSE_TEXT, v::RESPONSE_TOOL, v::RESPONSE_PARALLEL]
                .map(|b| body_template(b, MODEL)),
            streams: [v::STREAM_TEXT, v::STREAM_TOOL, v::STREAM_PARALLEL].map(stream),
            error: stream_templates(v::STREAM_ERROR, MODEL).concat(),
        }
    })
}

pub(super) fn body(s: Scenario) -> &'static str {
    &templates().bodies[s.index()]
}

/// `message_start`, `content_block_start`, `ping`, then the first delta and the rest.
pub(super) fn stream(s: Scenario, ev: &mut Events<'_>) {
    let t = &templates().streams[s.index()];
    ev.push_all(&t.events, t.content);
}

/// `message_start` and `ping`, then `event: error` with `overloaded_error`.
pub(super) fn stream_error(s: Scenario, ev: &mut Events<'_>) {
    let t = templates();
    ev.push(&t.streams[s.index()].events[0]);
    ev.push(PING);
    ev.push(&t.error);
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
