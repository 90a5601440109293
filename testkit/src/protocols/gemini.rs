//! Gemini `generateContent` answers: the Gemini vectors byte for byte, with the path's model as
//! `modelVersion`.
//!
//! With `alt=sse` each chunk is exactly `data: {json}` and nothing else (no `event:`, comments
//! or terminator); without it `streamGenerateContent` returns the same chunks as a JSON array.
//! Parallel calls arrive as two chunks, one whole `functionCall` each.

use std::sync::OnceLock;

use super::{Events, Scenario, body_template, quote, stream_templates};
use crate::vectors::gemini as v;

/// The model the vectors answer as.
const MODEL: &str = "gemini-2.5-flash";

struct Templates {
    bodies: [String; 3],
    streams: [Vec<String>; 3],
    error: String,
}

fn templates() -> &'static Templates {
    static T: OnceLock<Templates> = OnceLock::new();
    T.get_or_init(|| Templates {
        bodies: [v::RESPONSE_TEXT, v::RESPONSE_TOOL, v::RESPONSE_PARALLEL]
            .map(|b| body_template(b, MODEL)),
        streams: [v::STREAM_TEXT, v::STREAM_TOOL, v::STREAM_PARALLEL]
            .map(|sse| stream_templates(sse, MODEL)),
        error: stream_templates(v::STREAM_ERROR, MODEL).concat(),
    })
}

pub(super) fn body(s: Scenario) -> &'static str {
    &templates().bodies[s.index()]
}

/// Every chunk carries model output.
pub(super) fn stream(s: Scenario, ev: &mut Events<'_>) {
    ev.push_all(&templates().streams[s.index()], 0);
}

/// The error object alone, before any content.
pub(super) fn stream_error(ev: &mut Events<'_>) {
    ev.push(&templates().error);
}

/// `{"error":{"code","message","status"}}`.
pub(super) fn error(status: u16, message: Option<&str>) -> String {
    let (name, default) = match status {
        400 => ("INVALID_ARGUMENT", "Request contains an invalid argument."),
        401 => (
            "UNAUTHENTICATED",
            "API key not valid. Please pass a valid API key.",
        ),
        403 => ("PERMISSION_DENIED", "The caller does not have permission."),
        404 => ("NOT_FOUND", "Requested entity was not found."),
        429 => (
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
        ),
        503 => (
            "UNAVAILABLE",
            "The model is overloaded. Please try again later.",
        ),
        504 => (
            "DEADLINE_EXCEEDED",
            "Deadline expired before operation could complete.",
        ),
        500.. => ("INTERNAL", "Internal error encountered."),
        _ => ("FAILED_PRECONDITION", "Precondition check failed."),
    };
    format!(
        r#"{{"error":{{"code":{status},"message":{},"status":"{name}"}}}}"#,
        quote(message.unwrap_or(default))
    )
}
