//! Gemini `generateContent` answers: protocols.md §4.4 byte for byte, with the path's model as
//! `modelVersion`.
//!
//! With `alt=sse` each chunk is exactly `data: {json}` and nothing else (no `event:`, comments
//! or terminator); without it `streamGenerateContent` returns the same chunks as a JSON array.
//! Parallel calls arrive as two chunks, one whole `functionCall` each.

use super::{Events, Scenario, quote};

pub(super) fn body(s: Scenario) -> &'static str {
    match s {
        Scenario::Text => TEXT,
        Scenario::Tool => TOOL,
        Scenario::Parallel => PARALLEL,
    }
}

pub(super) fn stream(s: Scenario, ev: &mut Events<'_>) {
    let chunks: &[&str] = match s {
        Scenario::Text => &TEXT_STREAM,
        Scenario::Tool => &[TOOL],
        Scenario::Parallel => &PARALLEL_STREAM,
    };
    ev.content();
    for tpl in chunks {
        ev.push(tpl);
    }
}

/// The error object alone, before any content.
pub(super) fn stream_error(ev: &mut Events<'_>) {
    ev.push(STREAM_ERROR);
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

const TEXT: &str = r#"{"candidates":[{"content":{"parts":[{"text":"Hello!"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":3,"totalTokenCount":11,"promptTokensDetails":[{"modality":"TEXT","tokenCount":8}]},"modelVersion":$M,"responseId":"test-response-id-1"}"#;

/// Also the single chunk of the tool stream.
const TOOL: &str = r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"location":"Paris"}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":41,"candidatesTokenCount":6,"totalTokenCount":47,"promptTokensDetails":[{"modality":"TEXT","tokenCount":41}]},"modelVersion":$M,"responseId":"test-response-id-2"}"#;

const PARALLEL: &str = r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"location":"Paris"}}},{"functionCall":{"name":"get_weather","args":{"location":"London"}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":41,"candidatesTokenCount":12,"totalTokenCount":53,"promptTokensDetails":[{"modality":"TEXT","tokenCount":41}]},"modelVersion":$M,"responseId":"test-response-id-4"}"#;

const TEXT_STREAM: [&str; 2] = [
    r#"{"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8,"promptTokensDetails":[{"modality":"TEXT","tokenCount":8}]},"modelVersion":$M,"responseId":"test-response-id-1"}"#,
    r#"{"candidates":[{"content":{"parts":[{"text":"lo!"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":3,"totalTokenCount":11,"promptTokensDetails":[{"modality":"TEXT","tokenCount":8}]},"modelVersion":$M,"responseId":"test-response-id-1"}"#,
];

const PARALLEL_STREAM: [&str; 2] = [
    r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"location":"Paris"}}}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":41,"totalTokenCount":41,"promptTokensDetails":[{"modality":"TEXT","tokenCount":41}]},"modelVersion":$M,"responseId":"test-response-id-4"}"#,
    r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"location":"London"}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":41,"candidatesTokenCount":12,"totalTokenCount":53,"promptTokensDetails":[{"modality":"TEXT","tokenCount":41}]},"modelVersion":$M,"responseId":"test-response-id-4"}"#,
];

const STREAM_ERROR: &str =
    r#"{"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL"}}"#;
