//! OpenAI Chat Completions answers: the Chat vectors byte for byte, with the request's model.
//!
//! Streams carry `"usage":null` on every chunk and the `choices:[]` usage chunk only when the
//! request asked for `stream_options.include_usage` (`$U`), and always end with `data: [DONE]`.

use std::sync::OnceLock;

use super::{Events, Scenario, body_template, first_content, quote, stream_templates};
use crate::vectors::chat as v;

/// The model the vectors answer as.
const MODEL: &str = "gpt-4.1-2025-04-14";

struct Stream {
    /// The chunks up to the finish chunk, `"usage":null` replaced by `$U`.
    events: Vec<String>,
    /// The `choices:[]` usage chunk.
    usage: String,
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
            let mut events: Vec<String> = stream_templates(sse, MODEL)
                .into_iter()
                .filter(|e| e != "[DONE]")
                .map(|e| e.replace(r#","usage":null"#, "$U"))
                .collect();
            let at = events
                .iter()
                .position(|e| e.contains(r#""choices":[]"#))
                .unwrap_or(events.len());
            let usage = if at < events.len() {
                events.remove(at)
            } else {
                String::new()
            };
            let content = first_content(&events, |e| {
                e.contains(r#""tool_calls""#)
                    || (e.contains(r#""content":""#) && !e.contains(r#""content":"""#))
            });
            Stream {
                events,
                usage,
                content,
            }
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

pub(super) fn stream(s: Scenario, ev: &mut Events<'_>) {
    let t = &templates().streams[s.index()];
    ev.push_all(&t.events, t.content);
    if ev.vars.usage && !t.usage.is_empty() {
        ev.push(&t.usage);
    }
    ev.push("[DONE]");
}

/// The role chunk, then a `data: {"error":…}` event; no `[DONE]`.
pub(super) fn stream_error(ev: &mut Events<'_>) {
    let t = templates();
    ev.push(&t.streams[Scenario::Text.index()].events[0]);
    ev.push(&t.error);
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
