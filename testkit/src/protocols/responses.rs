//! OpenAI Responses answers: the Responses vectors byte for byte, with the request's model,
//! `instructions` and `max_output_tokens` echoed (`$M`, `$I`, `$X`).
//!
//! Every streamed event has an `event:` line and an increasing `sequence_number` from 0; there
//! is no `[DONE]`.

use std::sync::OnceLock;

use super::{Events, Scenario, body_template, first_content, stream_templates};
use crate::vectors::responses as v;

/// The model the vectors answer as.
const MODEL: &str = "gpt-4.1-2025-04-14";

struct Stream {
    events: Vec<String>,
    content: usize,
    /// `response.failed` after the two lifecycle events, for `stream-error`.
    failed: String,
}

struct Templates {
    bodies: [String; 3],
    streams: [Stream; 3],
}

/// Replaces the JSON value of every `"key":` (a string without escapes, a number or `null`)
/// with the placeholder `ph`.
fn echo(tpl: &str, key: &str, ph: &str) -> String {
    let pat = format!("\"{key}\":");
    let mut out = String::with_capacity(tpl.len());
    let mut rest = tpl;
    while let Some(at) = rest.find(&pat) {
        let (head, tail) = rest.split_at(at + pat.len());
        out.push_str(head);
        out.push_str(ph);
        let end = match tail.strip_prefix('"') {
            Some(s) => s.find('"').map_or(tail.len(), |n| n + 2),
            None => tail.find([',', '}']).unwrap_or(tail.len()),
        };
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The request fields a Response echoes become placeholders.
fn echoing(tpl: String) -> String {
    echo(&echo(&tpl, "instructions", "$I"), "max_output_tokens", "$X")
}

fn templates() -> &'static Templates {
    static T: OnceLock<Templates> = OnceLock::new();
    T.get_or_init(|| {
        let stream = |sse: &str| {
            let events: Vec<String> = stream_templates(sse, MODEL)
                .into_iter()
                .map(echoing)
                .collect();
            let content = first_content(&events, |e| {
                e.contains(r#""type":"response.output_text.delta""#)
                    || (e.contains(r#""type":"response.output_item.added""#)
                        && e.contains(r#""type":"function_call""#))
            });
            let failed = events[0]
                .replacen(
                    r#""type":"response.created","sequence_number":0"#,
                    r#""type":"response.failed","sequence_number":2"#,
                    1,
                )
                .replacen(
                    r#""status":"in_progress","error":null"#,
                    r#""status":"failed","error":{"code":"server_error","message":"The server had an error while processing your request."}"#,
                    1,
                );
            Stream {
                events,
                content,
                failed,
            }
        };
        Templates {
            bodies: [v::RESPONSE_TEXT, v::RESPONSE_TOOL, v::RESPONSE_PARALLEL]
                .map(|b| echoing(body_template(b, MODEL))),
            streams: [v::STREAM_TEXT, v::STREAM_TOOL, v::STREAM_PARALLEL].map(stream),
        }
    })
}

pub(super) fn body(s: Scenario) -> &'static str {
    &templates().bodies[s.index()]
}

pub(super) fn stream(s: Scenario, ev: &mut Events<'_>) {
    let t = &templates().streams[s.index()];
    ev.push_all(&t.events, t.content);
}

/// `response.created`, `response.in_progress`, then `response.failed`.
pub(super) fn stream_error(s: Scenario, ev: &mut Events<'_>) {
    let t = &templates().streams[s.index()];
    ev.push(&t.events[0]);
    ev.push(&t.events[1]);
    ev.push(&t.failed);
}
