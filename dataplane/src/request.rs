//! The inbound request body: validated with simd-json (and held to the hygiene rules of
//! `shape`: no duplicate keys, a nesting cap, the protocol's own types), the few fields routing
//! needs read out, and the passthrough rewrite (model id, chat `stream_options`) done as byte
//! edits so the rest of the caller's body reaches the upstream exactly as sent.

pub(crate) mod shape;

use std::borrow::Cow;
use std::ops::Range;

use bytes::Bytes;
use compiler::table::Protocol;
use simd_json::prelude::*;
use smallvec::SmallVec;

use translate::ir::ErrorKind;

use crate::error::ProxyError;
use crate::json::{Member, Scratch, for_each_member, push_json_str, skip_ws};

/// What the router reads from a request body.
#[derive(Debug)]
pub(crate) struct RequestInfo<'b> {
    /// The model as the caller named it (from the body, or the path for Gemini).
    pub(crate) model: Cow<'b, str>,
    pub(crate) stream: bool,
    /// Chat only: the caller asked for the usage chunk.
    pub(crate) include_usage: bool,
    /// The most output tokens the caller allows (`max_tokens`, `max_output_tokens`,
    /// `max_completion_tokens`, Gemini's `generationConfig.maxOutputTokens`; the largest when
    /// several are given; a value that is not a whole number is left to the upstream).
    pub(crate) max_output: Option<u64>,
    model_spans: SmallVec<[Range<usize>; 1]>,
    stream_options: Option<Range<usize>>,
    open: usize,
}

fn bad(msg: impl Into<Cow<'static, str>>) -> ProxyError {
    ProxyError::client(ErrorKind::InvalidRequest, msg)
}

/// Reads and checks the body of a model call. `path_model` is Gemini's model from the URL.
pub(crate) fn inspect<'b>(
    scratch: &mut Scratch,
    protocol: Protocol,
    body: &'b [u8],
    path_model: Option<Cow<'b, str>>,
    path_stream: bool,
) -> Result<RequestInfo<'b>, ProxyError> {
    if body.is_empty() {
        return Err(bad("the request body is empty; expected a JSON object"));
    }
    // Hygiene and types, checked on the parsed tape.
    let typed = scratch
        .parse_tape(body, |tape| {
            shape::check(&tape.0, protocol).map_err(|p| bad(p.message()))?;
            let v = tape.as_value();
            if !v.is_object() {
                return Err(bad("the request body must be a JSON object"));
            }
            let stream = match v.get("stream") {
                None => false,
                Some(s) if s.is_null() => false,
                Some(s) => s
                    .as_bool()
                    .ok_or_else(|| bad("`stream` must be a boolean"))?,
            };
            let mut include_usage = false;
            if let Some(o) = v.get("stream_options").filter(|o| !o.is_null()) {
                if !o.is_object() {
                    return Err(bad("`stream_options` must be an object"));
                }
                if let Some(u) = o.get("include_usage").filter(|u| !u.is_null()) {
                    include_usage = u
                        .as_bool()
                        .ok_or_else(|| bad("`stream_options.include_usage` must be a boolean"))?;
                }
            }
            let mut max_output: Option<u64> = None;
            let mut cap = |x: Option<&simd_json::tape::Value<'_, '_>>| {
                if let Some(n) = x.and_then(|n| n.as_u64()) {
                    max_output = Some(max_output.map_or(n, |m| m.max(n)));
                }
            };
            for k in ["max_tokens", "max_output_tokens", "max_completion_tokens"] {
                cap(v.get(k).as_ref());
            }
            for g in ["generationConfig", "generation_config"] {
                if let Some(g) = v.get(g) {
                    cap(g.get("maxOutputTokens").as_ref());
                    cap(g.get("max_output_tokens").as_ref());
                }
            }
            Ok((stream, include_usage, max_output))
        })
        .map_err(|e| bad(format!("the request body is not valid JSON: {e}")))??;

    // Positions, found on the original bytes (duplicates were refused on the tape).
    let mut model_spans: SmallVec<[Range<usize>; 1]> = SmallVec::new();
    let mut stream_options = None;
    let open = skip_ws(body, 0);
    for_each_member(body, open, |m: Member<'_>| {
        if m.is("model") {
            model_spans.push(m.value.clone());
        } else if m.is("stream_options") {
            stream_options = Some(m.value.clone());
        }
    })
    .ok_or_else(|| bad("the request body must be a JSON object"))?;

    let (model, stream) = match path_model {
        Some(m) => (m, path_stream),
        None => {
            let span = model_spans
                .first()
                .ok_or_else(|| bad("the request body has no `model`"))?;
            (string_at(body, span.clone())?, typed.0)
        }
    };
    if model.is_empty() {
        return Err(bad("`model` must not be empty"));
    }
    Ok(RequestInfo {
        model,
        stream,
        include_usage: protocol == Protocol::ChatCompletions && typed.1,
        max_output: typed.2,
        model_spans,
        stream_options,
        open,
    })
}

/// The string value at `span`, borrowed when it has no escapes.
fn string_at(body: &[u8], span: Range<usize>) -> Result<Cow<'_, str>, ProxyError> {
    let raw = &body[span];
    let not_string = || bad("`model` must be a string");
    if raw.len() < 2 || raw[0] != b'"' {
        return Err(not_string());
    }
    let inner = &raw[1..raw.len() - 1];
    if !inner.contains(&b'\\') {
        return std::str::from_utf8(inner)
            .map(Cow::Borrowed)
            .map_err(|_| not_string());
    }
    serde_json::from_slice::<String>(raw)
        .map(Cow::Owned)
        .map_err(|_| not_string())
}

/// The body to send upstream for a same-protocol call: the caller's bytes with the model set to
/// `upstream_model` and, when `ask_usage`, chat `stream_options.include_usage` forced on.
/// Returns the original `Bytes` untouched when nothing changes.
pub(crate) fn passthrough_body(
    body: &Bytes,
    info: &RequestInfo<'_>,
    upstream_model: &str,
    ask_usage: bool,
) -> Bytes {
    let mut edits: SmallVec<[(Range<usize>, Edit); 3]> = SmallVec::new();
    for span in &info.model_spans {
        if body[span.start + 1..span.end - 1] != *upstream_model.as_bytes() {
            edits.push((span.clone(), Edit::Model));
        }
    }
    if ask_usage && !info.include_usage {
        match &info.stream_options {
            None => edits.push((info.open + 1..info.open + 1, Edit::AddStreamOptions)),
            Some(span) if body[span.clone()] == *b"null" => {
                edits.push((span.clone(), Edit::UsageObject));
            }
            Some(span) => {
                let mut usage_span = None;
                for_each_member(body, span.start, |m| {
                    if m.is("include_usage") {
                        usage_span = Some(m.value);
                    }
                });
                match usage_span {
                    Some(u) => edits.push((u, Edit::True)),
                    None => {
                        let at = skip_ws(body, span.start) + 1;
                        let empty = body[skip_ws(body, at)] == b'}';
                        edits.push((at..at, Edit::AddIncludeUsage { comma: !empty }));
                    }
                }
            }
        }
    }
    if edits.is_empty() {
        return body.clone();
    }
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = Vec::with_capacity(body.len() + upstream_model.len() + 48);
    let mut at = 0;
    for (range, edit) in &edits {
        out.extend_from_slice(&body[at..range.start]);
        match edit {
            Edit::Model => push_json_str(&mut out, upstream_model),
            Edit::True => out.extend_from_slice(b"true"),
            Edit::UsageObject => out.extend_from_slice(br#"{"include_usage":true}"#),
            Edit::AddStreamOptions => {
                out.extend_from_slice(br#""stream_options":{"include_usage":true},"#)
            }
            Edit::AddIncludeUsage { comma } => {
                out.extend_from_slice(br#""include_usage":true"#);
                if *comma {
                    out.push(b',');
                }
            }
        }
        at = range.end;
    }
    out.extend_from_slice(&body[at..]);
    Bytes::from(out)
}

#[derive(Debug)]
enum Edit {
    Model,
    True,
    UsageObject,
    AddStreamOptions,
    AddIncludeUsage { comma: bool },
}

#[cfg(test)]
mod tests;
