//! What the mock answers on each wire protocol: routing by path, reading the few request fields
//! that shape the answer, and rendering the reference vectors (`crate::vectors`,
//! docs/protocols.md#test-vectors) into bodies and SSE event lists.
//!
//! The per-protocol modules turn the vectors into templates once (the reference model becomes
//! the `$M` placeholder, see `render`); this module owns the framing (`data: `, `event: `,
//! Gemini's JSON-array mode).

mod chat;
mod gemini;
mod messages;
mod responses;

use std::borrow::Cow;

use serde::Deserialize;

use crate::vectors;

/// The four wire protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    Chat,
    Responses,
    Messages,
    Gemini,
}

/// What the answer contains, chosen by the requested model's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scenario {
    /// "Hello!" (streamed as "Hel", "lo!").
    Text,
    /// Model name contains `tool`: one `get_weather({"location":"Paris"})` call.
    Tool,
    /// Model name contains `parallel`: `get_weather` for Paris and for London.
    Parallel,
    /// Model name contains `agent`: a model in an agent loop (`crate::agent`).
    Agent,
}

impl Scenario {
    /// Position in the per-scenario arrays of the protocol modules.
    fn index(self) -> usize {
        match self {
            // Agent answers are rendered by `crate::agent`; its faults use the text templates.
            Scenario::Text | Scenario::Agent => 0,
            Scenario::Tool => 1,
            Scenario::Parallel => 2,
        }
    }

    fn for_model(model: &str) -> Scenario {
        if model.contains("agent") {
            Scenario::Agent
        } else if model.contains("parallel") {
            Scenario::Parallel
        } else if model.contains("tool") {
            Scenario::Tool
        } else {
            Scenario::Text
        }
    }
}

/// A model endpoint matched by path.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Endpoint<'a> {
    pub(crate) protocol: Protocol,
    /// Gemini: the model named in the path.
    gemini_model: &'a str,
    /// Gemini: `:streamGenerateContent`.
    gemini_stream: bool,
    /// Gemini streaming with `alt=sse` (else a JSON array).
    gemini_sse: bool,
    /// Anthropic `…/messages/count_tokens`, Gemini `:countTokens`: answers [`COUNTED`].
    count: bool,
}

/// The token count the mock answers (`input_tokens`, `totalTokens`), whatever the request.
pub(crate) const COUNTED: u64 = 42;

/// Matches `…/chat/completions`, `…/responses`, `…/messages` and
/// `…/models/{model}:generateContent` / `:streamGenerateContent`, whatever comes before.
pub(crate) fn route<'a>(path: &'a str, query: &str) -> Option<Endpoint<'a>> {
    let ep = |protocol| Endpoint {
        protocol,
        gemini_model: "",
        gemini_stream: false,
        gemini_sse: false,
        count: false,
    };
    if path.ends_with("/messages/count_tokens") {
        return Some(Endpoint {
            count: true,
            ..ep(Protocol::Messages)
        });
    }
    if path.ends_with("/chat/completions") {
        return Some(ep(Protocol::Chat));
    }
    if path.ends_with("/responses") {
        return Some(ep(Protocol::Responses));
    }
    if path.ends_with("/messages") {
        return Some(ep(Protocol::Messages));
    }
    let (_, rest) = path.rsplit_once("/models/")?;
    let (model, method) = rest.rsplit_once(':')?;
    let (gemini_stream, count) = match method {
        "generateContent" => (false, false),
        "streamGenerateContent" => (true, false),
        "countTokens" => (false, true),
        _ => return None,
    };
    Some(Endpoint {
        protocol: Protocol::Gemini,
        gemini_model: model,
        gemini_stream,
        gemini_sse: gemini_stream && query.split('&').any(|kv| kv == "alt=sse"),
        count,
    })
}

/// The request fields the answer depends on.
#[derive(Debug)]
pub(crate) struct Params {
    pub(crate) protocol: Protocol,
    pub(crate) stream: bool,
    scenario: Scenario,
    vars: Vars,
    gemini_sse: bool,
    count: bool,
    /// The agent scenario's answer to this request.
    agent: Option<crate::agent::Answer>,
    /// The requested model, as sent.
    model: String,
}

#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    stream: Option<bool>,
    stream_options: Option<StreamOptions>,
    instructions: Option<serde_json::Value>,
    max_output_tokens: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct StreamOptions {
    include_usage: Option<bool>,
}

/// Reads the body; the error is a message for a 400 in the protocol's envelope.
pub(crate) fn params(ep: &Endpoint<'_>, body: &[u8]) -> Result<Params, String> {
    let f: Fields<'_> =
        serde_json::from_slice(body).map_err(|e| format!("request body is not valid JSON: {e}"))?;
    let model = match ep.protocol {
        Protocol::Gemini => ep.gemini_model,
        _ => match f.model.as_deref() {
            Some(m) => m,
            None => return Err("you must provide a model parameter".to_owned()),
        },
    };
    let json =
        |v: Option<serde_json::Value>| v.map_or_else(|| "null".to_owned(), |v| v.to_string());
    let scenario = Scenario::for_model(model);
    Ok(Params {
        protocol: ep.protocol,
        stream: match ep.protocol {
            _ if ep.count => false,
            Protocol::Gemini => ep.gemini_stream,
            _ => f.stream.unwrap_or(false),
        },
        count: ep.count,
        agent: (scenario == Scenario::Agent).then(|| crate::agent::answer(ep.protocol, body)),
        model: model.to_owned(),
        scenario,
        vars: Vars {
            model: serde_json::Value::from(model).to_string(),
            usage: f
                .stream_options
                .and_then(|o| o.include_usage)
                .unwrap_or(false),
            instructions: json(f.instructions),
            max_output_tokens: json(f.max_output_tokens),
        },
        gemini_sse: ep.gemini_sse,
    })
}

/// Template variables. Every value is already JSON text.
#[derive(Debug)]
struct Vars {
    /// `$M`: the requested model, quoted.
    model: String,
    /// `$U`: `,"usage":null` when the chat request asked for `include_usage`, else nothing.
    usage: bool,
    /// `$I`: Responses `instructions` echoed.
    instructions: String,
    /// `$X`: Responses `max_output_tokens` echoed.
    max_output_tokens: String,
}

/// Appends `tpl` with its placeholders replaced.
fn render(out: &mut Vec<u8>, tpl: &str, v: &Vars) {
    let b = tpl.as_bytes();
    let mut last = 0;
    for i in memchr::memchr_iter(b'$', b) {
        if i < last {
            continue;
        }
        out.extend_from_slice(&b[last..i]);
        last = i + 2;
        match b.get(i + 1) {
            Some(b'M') => out.extend_from_slice(v.model.as_bytes()),
            Some(b'U') if v.usage => out.extend_from_slice(br#","usage":null"#),
            Some(b'U') => {}
            Some(b'I') => out.extend_from_slice(v.instructions.as_bytes()),
            Some(b'X') => out.extend_from_slice(v.max_output_tokens.as_bytes()),
            _ => {
                out.push(b'$');
                last = i + 1;
            }
        }
    }
    out.extend_from_slice(&b[last.min(b.len())..]);
}

/// The non-streaming success body.
pub(crate) fn body(p: &Params) -> Vec<u8> {
    if p.count {
        return match p.protocol {
            Protocol::Gemini => format!(r#"{{"totalTokens":{COUNTED}}}"#),
            _ => format!(r#"{{"input_tokens":{COUNTED}}}"#),
        }
        .into_bytes();
    }
    if let Some(a) = &p.agent {
        return crate::agent::body(p.protocol, &p.model, a);
    }
    let tpl = match p.protocol {
        Protocol::Chat => chat::body(p.scenario),
        Protocol::Responses => responses::body(p.scenario),
        Protocol::Messages => messages::body(p.scenario),
        Protocol::Gemini => gemini::body(p.scenario),
    };
    let mut out = Vec::with_capacity(tpl.len() + 64);
    render(&mut out, tpl, &p.vars);
    out
}

/// A reference text as a template: the reference model (quoted) becomes `$M`.
fn template(text: &str, model: &str) -> String {
    text.replace(&format!("\"{model}\""), "$M")
}

/// A pretty-printed reference body as a compact template.
fn body_template(pretty: &str, model: &str) -> String {
    template(&vectors::compact(pretty), model)
}

/// A reference stream's `data:` payloads as templates (`[DONE]` stays as it is).
fn stream_templates(sse: &str, model: &str) -> Vec<String> {
    vectors::payloads(sse).map(|d| template(d, model)).collect()
}

/// The first template matching `is_content`, where the answer's output starts.
fn first_content(events: &[String], is_content: impl Fn(&str) -> bool) -> usize {
    events.iter().position(|e| is_content(e)).unwrap_or(0)
}

/// The `Content-Type` of a stream.
pub(crate) fn stream_content_type(p: &Params) -> &'static str {
    if p.protocol == Protocol::Gemini && !p.gemini_sse {
        "application/json"
    } else {
        "text/event-stream"
    }
}

/// Which stream to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamKind {
    Normal,
    /// Lifecycle frames, then the in-stream error event.
    Error,
    /// A `data: {not json` event first, then the normal stream.
    Malformed,
}

/// The events of a streamed answer.
pub(crate) fn stream(p: &Params, kind: StreamKind) -> Events<'_> {
    let framing = match p.protocol {
        Protocol::Chat => Framing::Data,
        Protocol::Responses | Protocol::Messages => Framing::Named,
        Protocol::Gemini if p.gemini_sse => Framing::Data,
        Protocol::Gemini => Framing::Array,
    };
    let mut ev = Events {
        buf: Vec::with_capacity(4 * 1024),
        ends: Vec::with_capacity(16),
        first_content: 0,
        framing,
        vars: &p.vars,
    };
    if kind == StreamKind::Malformed {
        ev.malformed(p.protocol);
        if framing == Framing::Array {
            return ev;
        }
    }
    match (p.protocol, kind, &p.agent) {
        (_, StreamKind::Normal, Some(a)) => {
            crate::agent::stream(p.protocol, &p.model, p.vars.usage, a, &mut ev);
        }
        (Protocol::Chat, StreamKind::Error, _) => chat::stream_error(&mut ev),
        (Protocol::Chat, _, _) => chat::stream(p.scenario, &mut ev),
        (Protocol::Responses, StreamKind::Error, _) => responses::stream_error(p.scenario, &mut ev),
        (Protocol::Responses, _, _) => responses::stream(p.scenario, &mut ev),
        (Protocol::Messages, StreamKind::Error, _) => messages::stream_error(p.scenario, &mut ev),
        (Protocol::Messages, _, _) => messages::stream(p.scenario, &mut ev),
        (Protocol::Gemini, StreamKind::Error, _) => gemini::stream_error(&mut ev),
        (Protocol::Gemini, _, _) => gemini::stream(p.scenario, &mut ev),
    }
    if framing == Framing::Array {
        ev.buf.push(b']');
        if let Some(last) = ev.ends.last_mut() {
            *last += 1;
        }
    }
    ev
}

/// The error body for `status` in the protocol's own envelope; `message` overrides the
/// status's usual text.
pub(crate) fn error_body(protocol: Protocol, status: u16, message: Option<&str>) -> Vec<u8> {
    match protocol {
        Protocol::Chat | Protocol::Responses => chat::error(status, message),
        Protocol::Messages => messages::error(status, message),
        Protocol::Gemini => gemini::error(status, message),
    }
    .into_bytes()
}

/// A JSON string literal.
fn quote(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// `data: {json}` (Chat, Gemini SSE).
    Data,
    /// `event: {type}` + `data: {json}` (Responses, Messages).
    Named,
    /// Gemini without `alt=sse`: `[` json `,` json ... `]`.
    Array,
}

/// A stream's events, back to back in one buffer.
#[derive(Debug)]
pub(crate) struct Events<'a> {
    buf: Vec<u8>,
    ends: Vec<usize>,
    /// Index of the first event carrying model output.
    pub(crate) first_content: usize,
    framing: Framing,
    vars: &'a Vars,
}

impl Events<'_> {
    /// The events in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let e = &self.buf[start..end];
            start = end;
            e
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Marks the next event as the first content event.
    pub(crate) fn content(&mut self) {
        self.first_content = self.ends.len();
    }

    /// Appends every template, marking `content` as the first content event.
    fn push_all(&mut self, tpls: &[String], content: usize) {
        for (i, tpl) in tpls.iter().enumerate() {
            if i == content {
                self.content();
            }
            self.push(tpl);
        }
    }

    /// Appends one event rendered from a JSON template (or the literal `[DONE]`).
    fn push(&mut self, tpl: &str) {
        match self.framing {
            Framing::Data => self.buf.extend_from_slice(b"data: "),
            Framing::Named => {
                // Every Responses and Messages template starts with `{"type":"NAME"`.
                let name = tpl
                    .strip_prefix(r#"{"type":""#)
                    .and_then(|t| t.split('"').next())
                    .unwrap_or("message");
                self.buf.extend_from_slice(b"event: ");
                self.buf.extend_from_slice(name.as_bytes());
                self.buf.extend_from_slice(b"\ndata: ");
            }
            Framing::Array => self
                .buf
                .push(if self.ends.is_empty() { b'[' } else { b',' }),
        }
        render(&mut self.buf, tpl, self.vars);
        if self.framing != Framing::Array {
            self.buf.extend_from_slice(b"\n\n");
        }
        self.ends.push(self.buf.len());
    }

    /// Appends one event as it is (no placeholders), named `name` where the framing names
    /// events (Responses, Messages).
    pub(crate) fn push_raw(&mut self, name: &str, data: &str) {
        match self.framing {
            Framing::Data => self.buf.extend_from_slice(b"data: "),
            Framing::Named => {
                self.buf.extend_from_slice(b"event: ");
                self.buf.extend_from_slice(name.as_bytes());
                self.buf.extend_from_slice(b"\ndata: ");
            }
            Framing::Array => self
                .buf
                .push(if self.ends.is_empty() { b'[' } else { b',' }),
        }
        self.buf.extend_from_slice(data.as_bytes());
        if self.framing != Framing::Array {
            self.buf.extend_from_slice(b"\n\n");
        }
        self.ends.push(self.buf.len());
    }

    fn malformed(&mut self, protocol: Protocol) {
        let frame: &[u8] = match (protocol, self.framing) {
            (_, Framing::Array) => b"[{not json",
            (Protocol::Responses, _) => b"event: response.created\ndata: {not json\n\n",
            (Protocol::Messages, _) => b"event: message_start\ndata: {not json\n\n",
            _ => b"data: {not json\n\n",
        };
        self.buf.extend_from_slice(frame);
        self.ends.push(self.buf.len());
    }
}
