//! Well-formedness of a translated stream for its caller protocol (protocols.md §2.8, §3):
//! framing, JSON, event order, block/item lifecycles, ids and terminal frames. Returns the
//! problems found, empty when the stream is one a caller's SDK accepts.
//!
//! Shared by the golden tests, the well-formedness test over the fuzz corpus and the
//! `translate` fuzz target (included there with `#[path]`).

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each includer uses a different part"
)]

use serde_json::Value;
use translate::Protocol;

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

// ---------------------------------------------------------------- chat_completions

fn chat(e: &Expect<'_>, evs: &[Ev<'_>], p: &mut Problems) {
    if evs.is_empty() {
        p.add("chat: empty stream".into());
        return;
    }
    let mut id: Option<String> = None;
    let mut tools: Vec<String> = Vec::new();
    let mut finish: Option<(usize, String)> = None;
    let mut usage_chunk: Option<usize> = None;
    let mut error_at: Option<usize> = None;
    let mut done_at: Option<usize> = None;
    for ev in evs {
        let n = ev.n;
        if done_at.is_some() {
            p.add(format!("chat event {n}: after [DONE]"));
        }
        let Some(d) = &ev.data else {
            done_at = Some(n);
            continue;
        };
        if let Some(err) = d.get("error") {
            if error_at.is_some() {
                p.add(format!("chat event {n}: a second error frame"));
            }
            error_at = Some(n);
            if !text(e, &err["message"]) || !err["type"].is_string() {
                p.add(format!(
                    "chat event {n}: error frame without message/type: {}",
                    ev.raw
                ));
            }
            continue;
        }
        if error_at.is_some() {
            p.add(format!("chat event {n}: chunk after the error frame"));
        }
        if d["object"] != "chat.completion.chunk" {
            p.add(format!(
                "chat event {n}: object is not chat.completion.chunk"
            ));
        }
        match (&id, s(&d["id"])) {
            (_, None) => p.add(format!("chat event {n}: no id")),
            (None, Some(v)) => id = Some(v.to_owned()),
            (Some(a), Some(b)) if a != b => p.add(format!("chat event {n}: id changed {a} → {b}")),
            _ => {}
        }
        if !e.model.is_empty() && s(&d["model"]) != Some(e.model) {
            p.add(format!(
                "chat event {n}: model {} is not {:?}",
                d["model"], e.model
            ));
        }
        if !d["created"].is_u64() {
            p.add(format!("chat event {n}: created is not a number"));
        }
        let Some(choices) = d["choices"].as_array() else {
            p.add(format!("chat event {n}: choices is not an array"));
            continue;
        };
        match d.get("usage") {
            None if e.include_usage => {
                p.add(format!("chat event {n}: no usage key though include_usage"))
            }
            Some(_) if !e.include_usage => p.add(format!(
                "chat event {n}: usage key though include_usage is false"
            )),
            _ => {}
        }
        if choices.is_empty() {
            let u = &d["usage"];
            if !e.include_usage {
                p.add(format!(
                    "chat event {n}: choices:[] chunk without include_usage"
                ));
            }
            if usage_chunk.is_some() {
                p.add(format!("chat event {n}: a second usage chunk"));
            }
            usage_chunk = Some(n);
            if finish.is_none() {
                p.add(format!(
                    "chat event {n}: usage chunk before the finish chunk"
                ));
            }
            for k in ["prompt_tokens", "completion_tokens", "total_tokens"] {
                if !u[k].is_u64() {
                    p.add(format!("chat event {n}: usage.{k} missing"));
                }
            }
            if let (Some(a), Some(b), Some(t)) = (
                u["prompt_tokens"].as_u64(),
                u["completion_tokens"].as_u64(),
                u["total_tokens"].as_u64(),
            ) {
                if a.saturating_add(b) != t {
                    p.add(format!("chat event {n}: total_tokens {t} ≠ {a} + {b}"));
                }
            }
            continue;
        }
        if e.include_usage && !d["usage"].is_null() {
            p.add(format!("chat event {n}: usage on a chunk with choices"));
        }
        if choices.len() != 1 || choices[0]["index"] != 0 {
            p.add(format!(
                "chat event {n}: choices must be one choice at index 0"
            ));
        }
        let c = &choices[0];
        let delta = &c["delta"];
        if !delta.is_object() {
            p.add(format!("chat event {n}: delta is not an object"));
        }
        if n == 0 && delta["role"] != "assistant" {
            p.add("chat event 0: the first delta has no role:assistant".into());
        }
        if usage_chunk.is_some() {
            p.add(format!(
                "chat event {n}: chunk with choices after the usage chunk"
            ));
        }
        let has_content = ["content", "refusal", "reasoning_content"]
            .iter()
            .any(|k| delta[*k].as_str().is_some_and(|s| !s.is_empty()))
            || delta["tool_calls"]
                .as_array()
                .is_some_and(|a| !a.is_empty());
        if let Some((f, _)) = &finish {
            if has_content || !c["finish_reason"].is_null() {
                p.add(format!(
                    "chat event {n}: content or finish after the finish chunk {f}"
                ));
            }
        }
        if let Some(calls) = delta["tool_calls"].as_array() {
            for call in calls {
                let Some(i) = call["index"].as_u64() else {
                    p.add(format!("chat event {n}: tool call without index"));
                    continue;
                };
                let first = i as usize == tools.len();
                if first {
                    if !nonempty(&call["id"])
                        || call["type"] != "function"
                        || !text(e, &call["function"]["name"])
                    {
                        p.add(format!(
                            "chat event {n}: first delta of tool {i} lacks id/type/name: {call}"
                        ));
                    }
                    tools.push(String::new());
                } else if (i as usize) < tools.len() {
                    for k in ["id", "type"] {
                        if call.get(k).is_some() {
                            p.add(format!("chat event {n}: tool {i} repeats `{k}` (E7)"));
                        }
                    }
                    if call["function"].get("name").is_some() {
                        p.add(format!("chat event {n}: tool {i} repeats `name` (E7)"));
                    }
                    if i as usize + 1 != tools.len() {
                        p.add(format!(
                            "chat event {n}: tool {i} continues after a later call began"
                        ));
                    }
                } else {
                    p.add(format!(
                        "chat event {n}: tool index {i} skips ahead of {}",
                        tools.len()
                    ));
                    continue;
                }
                match call["function"]["arguments"].as_str() {
                    Some(a) => tools[i as usize].push_str(a),
                    None if first => {}
                    None => p.add(format!(
                        "chat event {n}: tool {i} continuation without arguments"
                    )),
                }
            }
        }
        if let Some(f) = c["finish_reason"].as_str() {
            if finish.is_none() {
                finish = Some((n, f.to_owned()));
            }
            if !["stop", "length", "tool_calls", "content_filter"].contains(&f) {
                p.add(format!("chat event {n}: finish_reason {f:?}"));
            }
        } else if !c["finish_reason"].is_null() {
            p.add(format!(
                "chat event {n}: finish_reason is neither string nor null"
            ));
        }
    }
    // Arguments must be whole JSON unless the turn was cut (length) or failed.
    let truncated = finish.as_ref().is_some_and(|(_, f)| f == "length");
    if e.strict && e.end == End::Clean && !truncated {
        for (i, a) in tools.iter().enumerate() {
            if !json_object(a) {
                p.add(format!(
                    "chat: tool {i} arguments are not a JSON object: {a:?}"
                ));
            }
        }
    }
    match e.end {
        End::Clean => {
            if done_at != Some(evs.len() - 1) {
                p.add("chat: a clean stream must end with data: [DONE]".into());
            }
            if error_at.is_some() {
                p.add("chat: error frame in a clean stream".into());
            }
            match &finish {
                None => p.add("chat: no finish_reason".into()),
                Some((_, f)) if !tools.is_empty() && f == "stop" => {
                    p.add("chat: tool calls but finish_reason stop (E16)".into())
                }
                _ => {}
            }
            if e.include_usage && usage_chunk.is_none() {
                p.add("chat: include_usage but no usage chunk".into());
            }
        }
        End::Failed => match error_at {
            None => p.add("chat: a failed stream has no error frame".into()),
            Some(i) if i + 1 < evs.len() && !(i + 2 == evs.len() && done_at.is_some()) => {
                p.add("chat: events after the error frame".into())
            }
            _ => {}
        },
    }
}

// ---------------------------------------------------------------- responses

#[derive(Default)]
struct Item {
    id: String,
    ty: String,
    /// The text (or refusal) of each content part, from its deltas.
    parts: Vec<String>,
    args: String,
    part_open: bool,
}

fn responses(e: &Expect<'_>, evs: &[Ev<'_>], p: &mut Problems) {
    if evs.is_empty() {
        p.add("responses: empty stream".into());
        return;
    }
    let mut resp_id: Option<String> = None;
    let mut items: Vec<Item> = Vec::new();
    let mut open: Option<usize> = None;
    let mut terminal: Option<(usize, String)> = None;
    let mut bad_args: Vec<String> = Vec::new();
    for ev in evs {
        let n = ev.n;
        let ty = ev.ty().to_owned();
        if ev.data.is_none() {
            p.add(format!(
                "responses event {n}: [DONE] on the Responses wire (E34)"
            ));
            continue;
        }
        if let Some((t, name)) = &terminal {
            p.add(format!(
                "responses event {n}: {ty} after the terminal {name} ({t})"
            ));
        }
        match ev.get("sequence_number").as_u64() {
            Some(sn) if sn == n as u64 => {}
            other => p.add(format!(
                "responses event {n}: sequence_number {other:?}, expected {n}"
            )),
        }
        let response = ev.get("response");
        if response.is_object() {
            match (&resp_id, s(&response["id"])) {
                (_, None) => p.add(format!("responses event {n}: response without id")),
                (None, Some(v)) => resp_id = Some(v.to_owned()),
                (Some(a), Some(b)) if a != b => p.add(format!(
                    "responses event {n}: response id changed {a} → {b}"
                )),
                _ => {}
            }
            if !e.model.is_empty() && s(&response["model"]) != Some(e.model) {
                p.add(format!(
                    "responses event {n}: model {} is not {:?}",
                    response["model"], e.model
                ));
            }
            if response["object"] != "response" {
                p.add(format!(
                    "responses event {n}: response.object is not \"response\""
                ));
            }
            for k in ["output", "tools"] {
                if !response[k].is_array() {
                    p.add(format!("responses event {n}: response.{k} is not an array"));
                }
            }
            for k in ["created_at"] {
                if !response[k].is_u64() {
                    p.add(format!("responses event {n}: response.{k} is not a number"));
                }
            }
            for k in ["parallel_tool_calls", "tool_choice"] {
                if response.get(k).is_none() {
                    p.add(format!("responses event {n}: response.{k} missing"));
                }
            }
        }
        match (n, ty.as_str()) {
            (0, "response.created") | (1, "response.in_progress") => {
                if response["status"] != "in_progress" {
                    p.add(format!("responses event {n}: status is not in_progress"));
                }
                continue;
            }
            (0, _) => p.add(format!("responses event 0 is {ty}, not response.created")),
            (1, _) => p.add(format!(
                "responses event 1 is {ty}, not response.in_progress"
            )),
            _ => {}
        }
        let oi = ev.get("output_index").as_u64();
        let item_id = s(ev.get("item_id"));
        let cur = open.and_then(|i| items.get(i));
        // Every item event refers to the open item.
        if ty != "response.output_item.added" && (oi.is_some() || item_id.is_some()) {
            match cur {
                None => p.add(format!("responses event {n}: {ty} with no item open (E14)")),
                Some(it) => {
                    if oi.is_some() && oi != open.map(|i| i as u64) {
                        p.add(format!(
                            "responses event {n}: output_index {oi:?} is not the open item {open:?}"
                        ));
                    }
                    if item_id.is_some() && item_id != Some(it.id.as_str()) {
                        p.add(format!(
                            "responses event {n}: item_id {item_id:?} is not {:?}",
                            it.id
                        ));
                    }
                }
            }
        }
        match ty.as_str() {
            "response.output_item.added" => {
                if let Some(i) = open {
                    p.add(format!(
                        "responses event {n}: item added while item {i} is open"
                    ));
                }
                if oi != Some(items.len() as u64) {
                    p.add(format!(
                        "responses event {n}: output_index {oi:?}, expected {}",
                        items.len()
                    ));
                }
                let item = ev.get("item");
                let it = Item {
                    id: s(&item["id"]).unwrap_or_default().to_owned(),
                    ty: s(&item["type"]).unwrap_or_default().to_owned(),
                    ..Item::default()
                };
                if it.id.is_empty() {
                    p.add(format!("responses event {n}: item without id"));
                }
                match it.ty.as_str() {
                    "message" => {
                        if item["role"] != "assistant" || item["content"] != serde_json::json!([]) {
                            p.add(format!(
                                "responses event {n}: message item not assistant/empty"
                            ));
                        }
                    }
                    "function_call" => {
                        if !nonempty(&item["call_id"]) || !text(e, &item["name"]) {
                            p.add(format!(
                                "responses event {n}: function_call without call_id/name"
                            ));
                        }
                        if item["arguments"] != "" {
                            p.add(format!(
                                "responses event {n}: function_call added with arguments"
                            ));
                        }
                        if s(&item["call_id"]).is_some_and(|c| c.len() > 64) {
                            p.add(format!("responses event {n}: call_id longer than 64 (E19)"));
                        }
                    }
                    "reasoning" => {}
                    other => p.add(format!("responses event {n}: item type {other:?}")),
                }
                if item["status"] != "in_progress" && it.ty != "reasoning" {
                    p.add(format!(
                        "responses event {n}: item added with status {}",
                        item["status"]
                    ));
                }
                items.push(it);
                open = Some(items.len() - 1);
            }
            "response.content_part.added" => {
                if let Some(it) = open.and_then(|i| items.get_mut(i)) {
                    if it.ty != "message" || it.part_open {
                        p.add(format!(
                            "responses event {n}: content_part.added out of place"
                        ));
                    }
                    it.part_open = true;
                    it.parts.push(String::new());
                }
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                if !ev.get("logprobs").is_array() && ty == "response.output_text.delta" {
                    p.add(format!(
                        "responses event {n}: text delta without logprobs (E14)"
                    ));
                }
                match (open.and_then(|i| items.get_mut(i)), s(ev.get("delta"))) {
                    (Some(it), Some(d)) if it.part_open => {
                        if let Some(t) = it.parts.last_mut() {
                            t.push_str(d);
                        }
                    }
                    _ => p.add(format!("responses event {n}: text delta with no open part")),
                }
            }
            "response.output_text.done" | "response.refusal.done" => {
                if let Some(it) = open.and_then(|i| items.get(i)) {
                    let key = if ty == "response.output_text.done" {
                        "text"
                    } else {
                        "refusal"
                    };
                    if s(ev.get(key)) != it.parts.last().map(String::as_str) {
                        p.add(format!(
                            "responses event {n}: {key} is not the deltas joined"
                        ));
                    }
                }
            }
            "response.content_part.done" => {
                if let Some(it) = open.and_then(|i| items.get_mut(i)) {
                    if !it.part_open {
                        p.add(format!(
                            "responses event {n}: content_part.done with no part open"
                        ));
                    }
                    it.part_open = false;
                }
            }
            "response.function_call_arguments.delta" => {
                match (open.and_then(|i| items.get_mut(i)), s(ev.get("delta"))) {
                    (Some(it), Some(d)) if it.ty == "function_call" => it.args.push_str(d),
                    _ => p.add(format!("responses event {n}: arguments delta out of place")),
                }
            }
            "response.function_call_arguments.done" => {
                if let Some(it) = open.and_then(|i| items.get(i)) {
                    if s(ev.get("arguments")) != Some(it.args.as_str()) {
                        p.add(format!(
                            "responses event {n}: arguments are not the deltas joined"
                        ));
                    }
                    if !json_object(&it.args) {
                        bad_args.push(format!(
                            "responses event {n}: arguments are not a JSON object: {:?}",
                            it.args
                        ));
                    }
                }
            }
            "response.output_item.done" => {
                let item = ev.get("item");
                if let Some(it) = open.and_then(|i| items.get(i)) {
                    if s(&item["id"]) != Some(it.id.as_str()) || oi != open.map(|i| i as u64) {
                        p.add(format!(
                            "responses event {n}: output_item.done for another item"
                        ));
                    }
                    if it.part_open {
                        p.add(format!(
                            "responses event {n}: item done with its content part open"
                        ));
                    }
                    if it.ty == "function_call" && s(&item["arguments"]) != Some(it.args.as_str()) {
                        p.add(format!(
                            "responses event {n}: done item's arguments differ from the deltas"
                        ));
                    }
                    if it.ty == "message" {
                        let content = item["content"]
                            .as_array()
                            .map(Vec::as_slice)
                            .unwrap_or_default();
                        let done: Vec<&str> = content
                            .iter()
                            .map(|c| s(&c["text"]).or(s(&c["refusal"])).unwrap_or_default())
                            .collect();
                        if done != it.parts.iter().map(String::as_str).collect::<Vec<_>>() {
                            p.add(format!(
                                "responses event {n}: done message text differs from the deltas"
                            ));
                        }
                    }
                    if item["status"] != "completed" && it.ty != "reasoning" {
                        p.add(format!(
                            "responses event {n}: item done with status {}",
                            item["status"]
                        ));
                    }
                }
                open = None;
            }
            "response.reasoning_summary_part.added"
            | "response.reasoning_summary_part.done"
            | "response.reasoning_summary_text.delta"
            | "response.reasoning_summary_text.done"
            | "response.reasoning_text.delta"
            | "response.reasoning_text.done" => {
                if cur.is_some_and(|it| it.ty != "reasoning") {
                    p.add(format!("responses event {n}: {ty} on a non-reasoning item"));
                }
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                terminal = Some((n, ty.clone()));
                if let Some(i) = open {
                    if ty != "response.failed" {
                        p.add(format!("responses event {n}: {ty} while item {i} is open"));
                    }
                }
                let want = &ty["response.".len()..];
                if response["status"] != want {
                    p.add(format!(
                        "responses event {n}: status {} for {ty}",
                        response["status"]
                    ));
                }
                if ty == "response.failed" {
                    if !text(e, &response["error"]["message"]) {
                        p.add(format!(
                            "responses event {n}: response.failed without error.message"
                        ));
                    }
                    continue;
                }
                if ty == "response.incomplete"
                    && !nonempty(&response["incomplete_details"]["reason"])
                {
                    p.add(format!(
                        "responses event {n}: incomplete without incomplete_details.reason"
                    ));
                }
                let out = response["output"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let ids: Vec<&str> = out.iter().filter_map(|o| s(&o["id"])).collect();
                let want_ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
                if ids != want_ids {
                    p.add(format!(
                        "responses event {n}: output ids {ids:?}, items streamed {want_ids:?}"
                    ));
                }
                let u = &response["usage"];
                for k in ["input_tokens", "output_tokens", "total_tokens"] {
                    if !u[k].is_u64() {
                        p.add(format!("responses event {n}: usage.{k} missing"));
                    }
                }
                if !u["input_tokens_details"]["cached_tokens"].is_u64()
                    || !u["output_tokens_details"]["reasoning_tokens"].is_u64()
                {
                    p.add(format!("responses event {n}: usage details missing"));
                }
            }
            "error" => {
                terminal = Some((n, ty.clone()));
                if !text(e, ev.get("message")) {
                    p.add(format!("responses event {n}: error event without message"));
                }
            }
            other => p.add(format!("responses event {n}: unknown event type {other:?}")),
        }
    }
    // Arguments must be whole JSON unless the turn was cut (incomplete) or failed.
    let cut = terminal
        .as_ref()
        .is_some_and(|t| t.1 == "response.incomplete");
    if e.strict && e.end == End::Clean && !cut {
        for m in bad_args {
            p.add(m);
        }
    }
    match (e.end, terminal.as_ref().map(|t| t.1.as_str())) {
        (End::Clean, Some("response.completed" | "response.incomplete")) => {
            let called = items.iter().any(|i| i.ty == "function_call");
            let _ = called;
        }
        (End::Failed, Some("response.failed" | "error")) => {}
        (end, t) => p.add(format!("responses: {end:?} stream ends with {t:?}")),
    }
}

// ---------------------------------------------------------------- messages

fn messages(e: &Expect<'_>, evs: &[Ev<'_>], p: &mut Problems) {
    if evs.is_empty() {
        p.add("messages: empty stream".into());
        return;
    }
    let mut started = false;
    let mut blocks: Vec<(String, String, bool)> = Vec::new(); // (type, json, signed)
    let mut open: Option<usize> = None;
    let mut delta_seen: Option<usize> = None;
    let mut stop_seen: Option<usize> = None;
    let mut error_seen: Option<usize> = None;
    let mut bad_args: Vec<String> = Vec::new();
    let mut max_tokens = false;
    for ev in evs {
        let n = ev.n;
        let ty = ev.ty().to_owned();
        if ev.data.is_none() {
            p.add(format!(
                "messages event {n}: [DONE] on the Anthropic wire (E34)"
            ));
            continue;
        }
        if stop_seen.is_some() || error_seen.is_some() {
            p.add(format!("messages event {n}: {ty} after the end"));
        }
        if ty == "ping" {
            continue;
        }
        if ty == "error" {
            error_seen = Some(n);
            let err = ev.get("error");
            if !nonempty(&err["type"]) || !text(e, &err["message"]) {
                p.add(format!("messages event {n}: error without type/message"));
            }
            continue;
        }
        if !started && ty != "message_start" {
            p.add(format!("messages event {n}: {ty} before message_start"));
        }
        let idx = ev.get("index").as_u64().map(|i| i as usize);
        match ty.as_str() {
            "message_start" => {
                if started {
                    p.add(format!("messages event {n}: a second message_start (E33)"));
                }
                started = true;
                let m = ev.get("message");
                if !nonempty(&m["id"]) || m["role"] != "assistant" || m["type"] != "message" {
                    p.add(format!(
                        "messages event {n}: message_start lacks id/role/type"
                    ));
                }
                if m["content"] != serde_json::json!([]) {
                    p.add(format!(
                        "messages event {n}: message_start content is not []"
                    ));
                }
                if !e.model.is_empty() && s(&m["model"]) != Some(e.model) {
                    p.add(format!(
                        "messages event {n}: model {} is not {:?}",
                        m["model"], e.model
                    ));
                }
                if !m["usage"]["input_tokens"].is_u64() || !m["usage"]["output_tokens"].is_u64() {
                    p.add(format!(
                        "messages event {n}: message_start usage incomplete"
                    ));
                }
            }
            "content_block_start" => {
                if let Some(o) = open {
                    p.add(format!(
                        "messages event {n}: block started while block {o} is open"
                    ));
                }
                if idx != Some(blocks.len()) {
                    p.add(format!(
                        "messages event {n}: index {idx:?}, expected {} (E13)",
                        blocks.len()
                    ));
                }
                if delta_seen.is_some() {
                    p.add(format!("messages event {n}: block after message_delta"));
                }
                let cb = ev.get("content_block");
                let bt = s(&cb["type"]).unwrap_or_default().to_owned();
                match bt.as_str() {
                    "text" => {
                        if cb["text"] != "" {
                            p.add(format!("messages event {n}: text block starts non-empty"));
                        }
                    }
                    "tool_use" => {
                        let id = s(&cb["id"]).unwrap_or_default();
                        if id.is_empty()
                            || !id
                                .bytes()
                                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
                        {
                            p.add(format!(
                                "messages event {n}: tool_use id {id:?} not ^[a-zA-Z0-9_-]+$ (E19)"
                            ));
                        }
                        if !text(e, &cb["name"]) || cb["input"] != serde_json::json!({}) {
                            p.add(format!(
                                "messages event {n}: tool_use without name or with input"
                            ));
                        }
                    }
                    "thinking" | "redacted_thinking" => {}
                    other => p.add(format!("messages event {n}: block type {other:?}")),
                }
                blocks.push((bt, String::new(), false));
                open = Some(blocks.len() - 1);
            }
            "content_block_delta" => {
                if idx.is_none() || idx != open {
                    p.add(format!(
                        "messages event {n}: delta for {idx:?}, open block {open:?}"
                    ));
                    continue;
                }
                let Some(b) = open.and_then(|i| blocks.get_mut(i)) else {
                    continue;
                };
                let d = ev.get("delta");
                let dt = s(&d["type"]).unwrap_or_default();
                let ok = match (b.0.as_str(), dt) {
                    ("text", "text_delta") => d["text"].is_string(),
                    ("tool_use", "input_json_delta") => match s(&d["partial_json"]) {
                        Some(j) => {
                            b.1.push_str(j);
                            true
                        }
                        None => false,
                    },
                    ("thinking", "thinking_delta") => d["thinking"].is_string(),
                    ("thinking", "signature_delta") => {
                        b.2 = true;
                        nonempty(&d["signature"])
                    }
                    _ => false,
                };
                if !ok {
                    p.add(format!(
                        "messages event {n}: delta {dt:?} on a {} block",
                        b.0
                    ));
                }
            }
            "content_block_stop" => {
                if idx.is_none() || idx != open {
                    p.add(format!(
                        "messages event {n}: stop for {idx:?}, open block {open:?}"
                    ));
                }
                if let Some(b) = open.and_then(|i| blocks.get(i)) {
                    if b.0 == "tool_use" && !json_object(&b.1) {
                        bad_args.push(format!(
                            "messages event {n}: tool input is not a JSON object: {:?}",
                            b.1
                        ));
                    }
                    if b.0 == "thinking" && !b.2 {
                        p.add(format!(
                            "messages event {n}: thinking block without signature (E27)"
                        ));
                    }
                }
                open = None;
            }
            "message_delta" => {
                if let Some(o) = open {
                    p.add(format!(
                        "messages event {n}: message_delta while block {o} is open"
                    ));
                }
                if delta_seen.is_some() {
                    p.add(format!("messages event {n}: a second message_delta"));
                }
                delta_seen = Some(n);
                let r = s(&ev.get("delta")["stop_reason"]).unwrap_or_default();
                max_tokens = r == "max_tokens";
                if ![
                    "end_turn",
                    "max_tokens",
                    "stop_sequence",
                    "tool_use",
                    "pause_turn",
                    "refusal",
                ]
                .contains(&r)
                {
                    p.add(format!("messages event {n}: stop_reason {r:?}"));
                }
                let called = blocks.iter().any(|b| b.0 == "tool_use");
                if called && ["end_turn", "stop_sequence"].contains(&r) {
                    p.add(format!(
                        "messages event {n}: tool_use blocks but stop_reason {r} (E16)"
                    ));
                }
                if !ev.get("usage")["output_tokens"].is_u64() {
                    p.add(format!(
                        "messages event {n}: message_delta without usage.output_tokens"
                    ));
                }
            }
            "message_stop" => {
                if delta_seen.is_none() {
                    p.add(format!(
                        "messages event {n}: message_stop without message_delta"
                    ));
                }
                stop_seen = Some(n);
            }
            other => p.add(format!("messages event {n}: unknown event {other:?}")),
        }
    }
    // Tool input must be whole JSON unless the turn was cut (max_tokens) or failed.
    if e.strict && e.end == End::Clean && !max_tokens {
        for m in bad_args {
            p.add(m);
        }
    }
    match e.end {
        End::Clean if stop_seen.is_none() => {
            p.add("messages: clean stream without message_stop".into())
        }
        End::Clean if error_seen.is_some() => p.add("messages: clean stream with an error".into()),
        End::Failed if error_seen.is_none() => {
            p.add("messages: failed stream without event: error".into())
        }
        _ => {}
    }
}

// ---------------------------------------------------------------- generate_content

fn gemini(e: &Expect<'_>, evs: &[Ev<'_>], p: &mut Problems) {
    let objs: Vec<(usize, &Value)> = evs
        .iter()
        .filter_map(|ev| match &ev.data {
            Some(d) => Some((ev.n, d)),
            None => {
                p.add(format!(
                    "gemini event {}: [DONE] on the Gemini wire (E34)",
                    ev.n
                ));
                None
            }
        })
        .collect();
    gemini_objects(e, &objs, p);
}

fn gemini_array(e: &Expect<'_>, text: &str, p: &mut Problems) {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(err) => {
            p.add(format!(
                "gemini: the JSON-array body does not parse ({err}): …{:?}",
                tail(text)
            ));
            return;
        }
    };
    let Some(arr) = v.as_array() else {
        p.add("gemini: the body is not a JSON array".into());
        return;
    };
    let objs: Vec<(usize, &Value)> = arr.iter().enumerate().collect();
    gemini_objects(e, &objs, p);
}

fn gemini_objects(e: &Expect<'_>, objs: &[(usize, &Value)], p: &mut Problems) {
    let mut finish: Option<usize> = None;
    let mut error: Option<usize> = None;
    let mut last_usage = false;
    for &(n, d) in objs {
        if error.is_some() {
            p.add(format!("gemini chunk {n}: after the error"));
        }
        if let Some(err) = d.get("error") {
            error = Some(n);
            if !err["code"].is_u64() || !text(e, &err["message"]) || !nonempty(&err["status"]) {
                p.add(format!(
                    "gemini chunk {n}: error without code/message/status: {d}"
                ));
            }
            continue;
        }
        if let Some(f) = finish {
            p.add(format!(
                "gemini chunk {n}: after the finishReason chunk {f}"
            ));
        }
        let Some(c) = d["candidates"].as_array().and_then(|c| c.first()) else {
            p.add(format!("gemini chunk {n}: no candidates[0]"));
            continue;
        };
        if d["candidates"].as_array().is_some_and(|c| c.len() != 1) || c["index"] != 0 {
            p.add(format!(
                "gemini chunk {n}: candidates must be one candidate, index 0"
            ));
        }
        if let Some(mv) = d.get("modelVersion") {
            if !e.model.is_empty() && s(mv) != Some(e.model) {
                p.add(format!(
                    "gemini chunk {n}: modelVersion {mv} is not {:?}",
                    e.model
                ));
            }
        }
        if let Some(content) = c.get("content") {
            if content["role"] != "model" {
                p.add(format!("gemini chunk {n}: content.role is not model"));
            }
            match content["parts"].as_array() {
                None => p.add(format!("gemini chunk {n}: content.parts is not an array")),
                Some(parts) => {
                    for part in parts {
                        if let Some(fc) = part.get("functionCall") {
                            if !text(e, &fc["name"]) || !fc["args"].is_object() {
                                p.add(format!("gemini chunk {n}: functionCall without name or object args: {fc}"));
                            }
                        } else if !part["text"].is_string() {
                            p.add(format!(
                                "gemini chunk {n}: part is neither text nor functionCall: {part}"
                            ));
                        }
                    }
                }
            }
        } else if c.get("finishReason").is_none() {
            p.add(format!(
                "gemini chunk {n}: candidate without content or finishReason"
            ));
        }
        last_usage = d["usageMetadata"].is_object();
        if let Some(f) = c.get("finishReason") {
            finish = Some(n);
            if ![
                "STOP",
                "MAX_TOKENS",
                "SAFETY",
                "OTHER",
                "RECITATION",
                "MALFORMED_FUNCTION_CALL",
            ]
            .contains(&f.as_str().unwrap_or_default())
            {
                p.add(format!("gemini chunk {n}: finishReason {f}"));
            }
            let u = &d["usageMetadata"];
            for k in ["promptTokenCount", "totalTokenCount"] {
                if !u[k].is_u64() {
                    p.add(format!("gemini chunk {n}: final usageMetadata.{k} missing"));
                }
            }
        }
    }
    match e.end {
        End::Clean => {
            if finish.is_none() || error.is_some() {
                p.add("gemini: a clean stream must end with a finishReason chunk".into());
            }
            if finish.is_some() && !last_usage {
                p.add("gemini: the finishReason chunk has no usageMetadata".into());
            }
        }
        End::Failed => {
            if error.is_none() {
                p.add("gemini: a failed stream has no error chunk".into());
            }
        }
    }
}
