//! Well-formedness of a translated stream for its caller protocol
//! (docs/protocols.md#stream-encoders, docs/translation-cases.md): framing, JSON, event order,
//! block/item lifecycles, ids and terminal frames. Returns the problems found, empty when the
//! stream is one a caller's SDK accepts.
//!
//! Used by translate's golden and well-formedness tests and the `translate` fuzz property
//! ([`crate::translate_fuzz`]).

use serde_json::Value;
use translate::Protocol;

mod chat;
mod gemini;
mod messages;
mod responses;

use chat::chat;
use gemini::{gemini, gemini_array};
use messages::messages;
use responses::responses;

/// How the caller's stream must end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The upstream finished: the protocol's normal terminal frames.
    Clean,
    /// A terminal error frame.
    Failed,
}

/// What to hold the stream to.
#[derive(Clone, Copy, Debug)]
pub struct Expect<'a> {
    pub caller: Protocol,
    pub end: End,
    /// The model the caller must see (`""`: not checked).
    pub model: &'a str,
    pub include_usage: bool,
    pub json_array: bool,
    /// Also check semantics that only hold for well-behaved upstreams (tool arguments are
    /// whole JSON, thinking blocks are signed, …). Off for fuzzed upstreams.
    pub strict: bool,
}

pub fn check(e: &Expect<'_>, out: &[u8]) -> Vec<String> {
    let mut p = Problems(Vec::new());
    let Ok(text) = std::str::from_utf8(out) else {
        p.add("output is not UTF-8".into());
        return p.0;
    };
    match e.caller {
        Protocol::GenerateContent if e.json_array => gemini_array(e, text, &mut p),
        Protocol::GenerateContent => {
            if let Some(evs) = sse_events(text, false, &mut p) {
                gemini(e, &evs, &mut p);
            }
        }
        Protocol::ChatCompletions => {
            if let Some(evs) = sse_events(text, false, &mut p) {
                chat(e, &evs, &mut p);
            }
        }
        Protocol::Responses => {
            if let Some(evs) = sse_events(text, true, &mut p) {
                responses(e, &evs, &mut p);
            }
        }
        Protocol::Messages => {
            if let Some(evs) = sse_events(text, true, &mut p) {
                messages(e, &evs, &mut p);
            }
        }
    }
    p.0
}

struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, m: String) {
        // One broken invariant tends to repeat on every later event; keep the report short.
        if self.0.len() < 20 {
            self.0.push(m);
        }
    }
}

/// One SSE event: its `event:` name and its `data:` payload (parsed unless `[DONE]`).
struct Ev<'a> {
    n: usize,
    name: Option<&'a str>,
    raw: &'a str,
    data: Option<Value>,
}

impl Ev<'_> {
    fn ty(&self) -> &str {
        self.data
            .as_ref()
            .and_then(|d| d.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("")
    }
    fn get(&self, k: &str) -> &Value {
        self.data
            .as_ref()
            .and_then(|d| d.get(k))
            .unwrap_or(&Value::Null)
    }
}

/// Splits into events: each exactly `[event: NAME\n]data: JSON\n\n` (named when `named`).
fn sse_events<'a>(text: &'a str, named: bool, p: &mut Problems) -> Option<Vec<Ev<'a>>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    let Some(body) = text.strip_suffix("\n\n") else {
        p.add(format!(
            "output does not end with a blank line: …{:?}",
            tail(text)
        ));
        return None;
    };
    let mut evs = Vec::new();
    for (n, block) in body.split("\n\n").enumerate() {
        let mut name = None;
        let mut data = None;
        for line in block.split('\n') {
            if let Some(v) = line.strip_prefix("event: ") {
                if !named {
                    p.add(format!("event {n}: `event:` line on a wire without names"));
                } else if name.is_some() || data.is_some() {
                    p.add(format!("event {n}: `event:` line out of place"));
                }
                name = Some(v);
            } else if let Some(v) = line.strip_prefix("data: ") {
                if data.is_some() {
                    p.add(format!("event {n}: more than one data line"));
                }
                data = Some(v);
            } else {
                p.add(format!("event {n}: unexpected line {line:?}"));
            }
        }
        if named && name.is_none() {
            p.add(format!("event {n}: no `event:` line"));
        }
        let Some(raw) = data else {
            p.add(format!("event {n}: no data line"));
            continue;
        };
        if raw.contains('\r') {
            p.add(format!("event {n}: carriage return in data"));
        }
        let parsed = if raw == "[DONE]" {
            None
        } else {
            match serde_json::from_str::<Value>(raw) {
                Ok(v @ Value::Object(_)) => Some(v),
                Ok(_) => {
                    p.add(format!("event {n}: data is not a JSON object: {raw}"));
                    continue;
                }
                Err(err) => {
                    p.add(format!("event {n}: data is not JSON ({err}): {raw}"));
                    continue;
                }
            }
        };
        let ev = Ev {
            n,
            name,
            raw,
            data: parsed,
        };
        if let (Some(nm), Some(_)) = (ev.name, &ev.data) {
            if nm != ev.ty() {
                p.add(format!(
                    "event {n}: `event: {nm}` but data.type is {:?}",
                    ev.ty()
                ));
            }
        }
        evs.push(ev);
    }
    Some(evs)
}

fn tail(s: &str) -> &str {
    let mut i = s.len().saturating_sub(60);
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

fn s(v: &Value) -> Option<&str> {
    v.as_str()
}

fn nonempty(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.is_empty())
}

/// A name or message: non-empty when strict; a fuzzed upstream may itself send empty ones,
/// which are passed on.
fn text(e: &Expect<'_>, v: &Value) -> bool {
    if e.strict { nonempty(v) } else { v.is_string() }
}

fn json_object(text: &str) -> bool {
    matches!(serde_json::from_str::<Value>(text), Ok(Value::Object(_)))
}
