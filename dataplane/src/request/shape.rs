//! Request hygiene on the parsed tape: no key twice in any object, nesting at most
//! [`MAX_DEPTH`], and the caller protocol's own JSON types for its top-level members and for
//! its message / input / contents items (their `role`, `content` and parts). A router that
//! forwards what it does not understand lets a client make the router and the upstream read
//! two different requests out of one body (the upstream keeps the last `model`, the router the
//! first); these are refused before any upstream call.
//!
//! One linear pass over the simd-json tape `request::inspect` builds anyway; nothing is
//! allocated unless an object has more than 16 members or the body is refused
//! (`cargo bench -p benches --bench hygiene`: well under 2 µs for a typical request).

use compiler::table::Protocol;
use smallvec::SmallVec;
use translate::json::{Node, StaticNode};

/// Deepest nesting accepted anywhere in a body (the top-level object is depth 1). serde_json,
/// which the translators use, stops at the same depth.
pub(crate) const MAX_DEPTH: usize = 128;

/// Why a body is refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    /// A key written twice in one object, by path (`messages[0].role`).
    Duplicate(String),
    TooDeep,
    /// A member of the wrong JSON type: its path and what it must be.
    WrongType(String, String),
}

impl Problem {
    pub(crate) fn message(&self) -> String {
        match self {
            Problem::Duplicate(path) => format!("the request body has `{path}` more than once"),
            Problem::TooDeep => {
                format!("the request body is nested deeper than {MAX_DEPTH} levels")
            }
            Problem::WrongType(path, want) => format!("`{path}` must be {want}"),
        }
    }
}

// JSON types, as bits.
const S: u8 = 1;
const NUM: u8 = 2;
const B: u8 = 4;
const O: u8 = 8;
const A: u8 = 16;
const NULL: u8 = 32;

/// Checks a parsed body (`nodes`, the root first) for the caller `protocol`.
pub(crate) fn check(nodes: &[Node<'_>], protocol: Protocol) -> Result<(), Problem> {
    structure(nodes)?;
    types(nodes, protocol)
}

/// How many tape nodes the value starting with `n` takes.
fn span(n: &Node<'_>) -> usize {
    match n {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

fn kind(n: &Node<'_>) -> u8 {
    match n {
        Node::String(_) => S,
        Node::Object { .. } => O,
        Node::Array { .. } => A,
        Node::Static(StaticNode::Null) => NULL,
        Node::Static(StaticNode::Bool(_)) => B,
        Node::Static(_) => NUM,
    }
}

/// Depth and duplicate keys, for every container of the body.
fn structure(nodes: &[Node<'_>]) -> Result<(), Problem> {
    // Where each open container ends; its length is the current depth.
    let mut ends: SmallVec<[usize; 32]> = SmallVec::new();
    for (i, n) in nodes.iter().enumerate() {
        let (len, count, object) = match *n {
            Node::Object { len, count } => (len, count, true),
            Node::Array { len, count } => (len, count, false),
            _ => continue,
        };
        // Depth only matters where a container opens: close the ones that ended before it.
        while ends.last().is_some_and(|&e| e <= i) {
            ends.pop();
        }
        if ends.len() >= MAX_DEPTH {
            return Err(Problem::TooDeep);
        }
        ends.push(i + count + 1);
        if object && len > 1 {
            if let Some(key) = duplicate_key(nodes.get(i..i + count + 1).unwrap_or(&[]), len) {
                let at = path_to(nodes, i);
                let path = if at.is_empty() {
                    key.to_owned()
                } else {
                    format!("{at}.{key}")
                };
                return Err(Problem::Duplicate(path));
            }
        }
    }
    Ok(())
}

/// The first key written twice in the object `obj` (its nodes, header first) of `len` members.
fn duplicate_key<'i>(obj: &[Node<'i>], len: usize) -> Option<&'i str> {
    // Up to 16 keys live on the stack; a larger object (a big JSON schema) spills once.
    let mut keys: SmallVec<[&str; 16]> = SmallVec::new();
    let mut j = 1;
    for _ in 0..len {
        let Some(Node::String(k)) = obj.get(j) else {
            return None;
        };
        keys.push(k);
        j += 1 + obj.get(j + 1).map_or(1, span);
    }
    if keys.len() <= 16 {
        for (a, k) in keys.iter().enumerate() {
            if keys[a + 1..].contains(k) {
                return Some(k);
            }
        }
        return None;
    }
    keys.sort_unstable();
    keys.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

/// The path of the value at `target` (`messages[2].content`); empty for the root. Only built
/// for an error message.
fn path_to(nodes: &[Node<'_>], target: usize) -> String {
    let mut path = String::new();
    let mut i = 0;
    while i < target {
        let Some(node) = nodes.get(i) else { break };
        let mut next = None;
        match *node {
            Node::Object { len, .. } => {
                let mut j = i + 1;
                for _ in 0..len {
                    let (Some(Node::String(k)), Some(v)) = (nodes.get(j), nodes.get(j + 1)) else {
                        break;
                    };
                    let s = span(v);
                    if (j + 1..j + 1 + s).contains(&target) {
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(k);
                        next = Some(j + 1);
                        break;
                    }
                    j += 1 + s;
                }
            }
            Node::Array { len, .. } => {
                let mut j = i + 1;
                for idx in 0..len {
                    let Some(v) = nodes.get(j) else { break };
                    let s = span(v);
                    if (j..j + s).contains(&target) {
                        path.push_str(&format!("[{idx}]"));
                        next = Some(j);
                        break;
                    }
                    j += s;
                }
            }
            _ => {}
        }
        match next {
            Some(n) if n > i => i = n,
            _ => break,
        }
    }
    path
}

/// The members of the object at `at`: (key, value index).
fn members<'t, 'i>(
    nodes: &'t [Node<'i>],
    at: usize,
) -> impl Iterator<Item = (&'i str, usize)> + 't {
    let len = match nodes.get(at) {
        Some(Node::Object { len, .. }) => *len,
        _ => 0,
    };
    let mut j = at + 1;
    (0..len).map_while(move |_| {
        let Node::String(k) = *nodes.get(j)? else {
            return None;
        };
        let v = j + 1;
        j = v + span(nodes.get(v)?);
        Some((k, v))
    })
}

/// The elements of the array at `at`: value indices.
fn elements<'t>(nodes: &'t [Node<'_>], at: usize) -> impl Iterator<Item = usize> + 't {
    let len = match nodes.get(at) {
        Some(Node::Array { len, .. }) => *len,
        _ => 0,
    };
    let mut j = at + 1;
    (0..len).map_while(move |_| {
        let v = j;
        j += nodes.get(v).map_or(1, span);
        (v < nodes.len()).then_some(v)
    })
}

/// One object's members against `table` (member → allowed types; unknown members are the
/// upstream's business). `path` is the object's own path, for messages.
fn typed(
    nodes: &[Node<'_>],
    at: usize,
    path: &dyn Fn() -> String,
    table: fn(&str) -> Option<u8>,
) -> Result<(), Problem> {
    for (k, v) in members(nodes, at) {
        if let Some(want) = table(k) {
            if kind(&nodes[v]) & want == 0 {
                let p = path();
                let p = if p.is_empty() {
                    k.to_owned()
                } else {
                    format!("{p}.{k}")
                };
                return Err(Problem::WrongType(p, describe(want)));
            }
        }
    }
    Ok(())
}

/// The items of the array member `list` of the root: each an object whose members follow
/// `item`, and whose `content` / `parts` array (`parts_key`) holds objects following `part`.
fn items(
    nodes: &[Node<'_>],
    list: &str,
    item: fn(&str) -> Option<u8>,
    parts_key: &str,
    part: fn(&str) -> Option<u8>,
) -> Result<(), Problem> {
    let Some((_, arr)) = members(nodes, 0).find(|(k, _)| *k == list) else {
        return Ok(());
    };
    if !matches!(nodes[arr], Node::Array { .. }) {
        return Ok(()); // A string `input`, or a wrong top-level type already reported.
    }
    for (i, it) in elements(nodes, arr).enumerate() {
        if !matches!(nodes[it], Node::Object { .. }) {
            return Err(Problem::WrongType(format!("{list}[{i}]"), describe(O)));
        }
        typed(nodes, it, &|| format!("{list}[{i}]"), item)?;
        let Some((_, ps)) = members(nodes, it).find(|(k, _)| *k == parts_key) else {
            continue;
        };
        if !matches!(nodes[ps], Node::Array { .. }) {
            continue;
        }
        for (j, p) in elements(nodes, ps).enumerate() {
            if !matches!(nodes[p], Node::Object { .. }) {
                return Err(Problem::WrongType(
                    format!("{list}[{i}].{parts_key}[{j}]"),
                    describe(O),
                ));
            }
            typed(nodes, p, &|| format!("{list}[{i}].{parts_key}[{j}]"), part)?;
        }
    }
    Ok(())
}

fn types(nodes: &[Node<'_>], protocol: Protocol) -> Result<(), Problem> {
    if !matches!(nodes.first(), Some(Node::Object { .. })) {
        return Ok(()); // `inspect` refuses a non-object body itself.
    }
    let root = &String::new;
    match protocol {
        Protocol::ChatCompletions => {
            typed(nodes, 0, root, chat_member)?;
            items(nodes, "messages", chat_message, "content", part)
        }
        Protocol::Responses => {
            typed(nodes, 0, root, responses_member)?;
            items(nodes, "input", responses_item, "content", part)
        }
        Protocol::Messages => {
            typed(nodes, 0, root, messages_member)?;
            items(nodes, "messages", messages_message, "content", part)?;
            items(nodes, "system", |_| None, "", |_| None)
        }
        Protocol::GenerateContent => {
            typed(nodes, 0, root, gemini_member)?;
            items(nodes, "contents", gemini_content, "parts", |_| None)
        }
    }
}

/// A content part or block: its `type` is a string.
fn part(k: &str) -> Option<u8> {
    (k == "type").then_some(S)
}

fn chat_member(k: &str) -> Option<u8> {
    Some(match k {
        "model" => S,
        "messages" => A,
        "stream" | "logprobs" | "parallel_tool_calls" | "store" => B | NULL,
        "stream_options" | "logit_bias" | "response_format" | "metadata" | "audio"
        | "prediction" | "web_search_options" => O | NULL,
        "temperature"
        | "top_p"
        | "n"
        | "max_tokens"
        | "max_completion_tokens"
        | "presence_penalty"
        | "frequency_penalty"
        | "seed"
        | "top_logprobs" => NUM | NULL,
        "stop" => S | A | NULL,
        "user" | "reasoning_effort" | "service_tier" | "prompt_cache_key" | "safety_identifier"
        | "verbosity" => S | NULL,
        "tools" | "modalities" | "functions" => A | NULL,
        "tool_choice" | "function_call" => S | O | NULL,
        _ => return None,
    })
}

fn chat_message(k: &str) -> Option<u8> {
    Some(match k {
        "role" => S,
        "content" => S | A | NULL,
        "name" | "tool_call_id" | "refusal" | "reasoning_content" => S | NULL,
        "tool_calls" => A | NULL,
        _ => return None,
    })
}

fn responses_member(k: &str) -> Option<u8> {
    Some(match k {
        "model" => S,
        "input" => S | A | NULL,
        "instructions"
        | "previous_response_id"
        | "truncation"
        | "user"
        | "prompt_cache_key"
        | "prompt_cache_retention"
        | "service_tier"
        | "safety_identifier" => S | NULL,
        "stream" | "parallel_tool_calls" | "store" | "background" => B | NULL,
        "stream_options" | "metadata" | "reasoning" | "text" | "prompt" => O | NULL,
        "conversation" | "tool_choice" => S | O | NULL,
        "temperature" | "top_p" | "max_output_tokens" | "max_tool_calls" | "top_logprobs" => {
            NUM | NULL
        }
        "tools" | "include" => A | NULL,
        _ => return None,
    })
}

fn responses_item(k: &str) -> Option<u8> {
    Some(match k {
        "type" | "role" | "call_id" | "name" | "arguments" => S,
        "content" => S | A | NULL,
        "output" => S | A,
        _ => return None,
    })
}

fn messages_member(k: &str) -> Option<u8> {
    Some(match k {
        "model" => S,
        "messages" => A,
        "system" => S | A | NULL,
        "max_tokens" | "temperature" | "top_p" | "top_k" => NUM | NULL,
        "stop_sequences" | "tools" | "mcp_servers" => A | NULL,
        "stream" => B | NULL,
        "tool_choice" | "metadata" | "thinking" | "output_config" | "context_management" => {
            O | NULL
        }
        "service_tier" => S | NULL,
        "container" => S | O | NULL,
        _ => return None,
    })
}

fn messages_message(k: &str) -> Option<u8> {
    Some(match k {
        "role" => S,
        "content" => S | A,
        _ => return None,
    })
}

fn gemini_member(k: &str) -> Option<u8> {
    Some(match k {
        "contents" => A,
        "systemInstruction" | "system_instruction" | "toolConfig" | "tool_config"
        | "generationConfig" | "generation_config" | "labels" => O | NULL,
        "tools" | "safetySettings" | "safety_settings" => A | NULL,
        "cachedContent" | "cached_content" | "model" => S | NULL,
        _ => return None,
    })
}

fn gemini_content(k: &str) -> Option<u8> {
    Some(match k {
        "role" => S,
        "parts" => A,
        _ => return None,
    })
}

/// `a string`, `a string or an array`, …: what the types in `want` are called (null, always
/// accepted beside another type, is not named).
fn describe(want: u8) -> String {
    let names: SmallVec<[&str; 5]> = [
        (S, "a string"),
        (NUM, "a number"),
        (B, "a boolean"),
        (O, "an object"),
        (A, "an array"),
    ]
    .into_iter()
    .filter(|(bit, _)| want & bit != 0)
    .map(|(_, n)| n)
    .collect();
    match names.as_slice() {
        [] => "null".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests;
