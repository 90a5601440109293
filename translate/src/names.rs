//! Tool names a wire cannot carry (docs/translation-cases.md#e26): OpenAI and Gemini take
//! `^[a-zA-Z0-9_-]{1,64}$`, while Anthropic-native clients send longer names (MCP prefixes).
//! Such names are shortened reversibly for the request and restored in the answer.

use std::borrow::Cow;
use std::fmt::Write as _;

use compiler::table::Protocol;

use crate::ir::{self, Part, ToolChoice};

/// The longest tool name OpenAI and Gemini accept.
pub const MAX_NAME: usize = 64;

/// `name` as OpenAI and Gemini accept it: unchanged when it already conforms, else a cleaned
/// prefix and a hash of the whole name (deterministic, so every turn renames alike).
pub fn wire_name(name: &str) -> Cow<'_, str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if starts_well && name.len() <= MAX_NAME && name.chars().all(ok) {
        return Cow::Borrowed(name);
    }
    let mut s = String::with_capacity(MAX_NAME);
    if !starts_well {
        s.push('_');
    }
    for c in name.chars() {
        if s.len() >= MAX_NAME - 9 {
            break;
        }
        s.push(if ok(c) { c } else { '_' });
    }
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, c| {
        (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3)
    });
    let _ = write!(s, "_{:08x}", h >> 32);
    Cow::Owned(s)
}

/// The renames one request needed: wire name → the caller's name, and the caller's
/// namespaced tools (a Responses `namespace` group, flattened for the upstream). Empty (and
/// allocation-free) in the usual case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameMap {
    renamed: Vec<(String, String)>,
    namespaced: Vec<ir::Namespaced>,
}

impl NameMap {
    /// The renames `req` needs for `upstream` (none for Anthropic, which takes long names).
    pub fn for_request(upstream: Protocol, req: &ir::Request) -> NameMap {
        let mut map = NameMap {
            renamed: Vec::new(),
            namespaced: req.namespaced.clone(),
        };
        if upstream == Protocol::Messages {
            return map;
        }
        let mut renamed = Vec::new();
        let mut note = |name: &str| {
            if let Cow::Owned(w) = wire_name(name) {
                if !renamed.iter().any(|(x, _): &(String, String)| *x == w) {
                    renamed.push((w, name.to_owned()));
                }
            }
        };
        for t in &req.tools {
            note(&t.name);
        }
        if let Some(ToolChoice::Named(n)) = &req.tool_choice {
            note(n);
        }
        for m in &req.messages {
            for p in &m.parts {
                match p {
                    Part::ToolCall(c) => note(&c.name),
                    Part::ToolResult(r) => {
                        if let Some(n) = &r.name {
                            note(n);
                        }
                    }
                    _ => {}
                }
            }
        }
        map.renamed = renamed;
        map
    }

    pub fn is_empty(&self) -> bool {
        self.renamed.is_empty() && self.namespaced.is_empty()
    }

    /// The caller's name for a wire name this map renamed.
    pub fn original(&self, wire: &str) -> Option<&str> {
        self.renamed
            .iter()
            .find(|(w, _)| w == wire)
            .map(|(_, o)| o.as_str())
    }

    /// The caller's name for `wire` (itself when it was not renamed).
    pub fn restore<'a>(&'a self, wire: &'a str) -> &'a str {
        self.original(wire).unwrap_or(wire)
    }

    /// The caller's namespace and name for the call the upstream named `wire`: a flattened
    /// namespaced tool goes back to its group, any other name as [`NameMap::restore`] gives it.
    pub fn restore_call<'a>(&'a self, wire: &'a str) -> (Option<&'a str>, &'a str) {
        let name = self.restore(wire);
        match self.namespaced.iter().find(|n| n.flat == name) {
            Some(n) => (Some(n.namespace.as_str()), n.name.as_str()),
            None => (None, name),
        }
    }

    /// Restores the tool-call names (and namespaces) of a whole answer.
    pub fn restore_response(&self, r: &mut ir::Response) {
        if self.is_empty() {
            return;
        }
        for p in &mut r.parts {
            if let Part::ToolCall(c) = p {
                let (ns, name) = self.restore_call(&c.name);
                let (ns, name) = (ns.map(str::to_owned), name.to_owned());
                c.name = name;
                c.namespace = ns;
            }
        }
    }
}

/// `req` with the renames of `map` (made for it by [`NameMap::for_request`]) applied;
/// borrowed when there are none.
pub(crate) fn shorten<'r>(req: &'r ir::Request, map: &NameMap) -> Cow<'r, ir::Request> {
    if map.is_empty() {
        return Cow::Borrowed(req);
    }
    let wire = |n: &mut String| {
        if let Cow::Owned(w) = wire_name(n) {
            *n = w;
        }
    };
    let mut r = req.clone();
    r.tools.iter_mut().for_each(|t| wire(&mut t.name));
    if let Some(ToolChoice::Named(n)) = &mut r.tool_choice {
        wire(n);
    }
    for m in &mut r.messages {
        for p in &mut m.parts {
            match p {
                Part::ToolCall(c) => wire(&mut c.name),
                Part::ToolResult(t) => {
                    if let Some(n) = &mut t.name {
                        wire(n);
                    }
                }
                _ => {}
            }
        }
    }
    Cow::Owned(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Message, Role, Tool, ToolCall};

    #[test]
    fn conforming_names_pass_through() {
        assert!(matches!(wire_name("get_weather"), Cow::Borrowed(_)));
        assert!(matches!(wire_name(&"a".repeat(64)), Cow::Borrowed(_)));
    }

    #[test]
    fn long_or_odd_names_are_shortened_distinctly_and_deterministically() {
        let long = format!("mcp__server__{}", "x".repeat(80));
        let a = wire_name(&long);
        assert!(a.len() <= MAX_NAME, "{a}");
        assert!(a.starts_with("mcp__server__x"));
        assert_eq!(a, wire_name(&long));
        assert_ne!(a, wire_name(&format!("{long}y")));
        assert_eq!(wire_name("1tool").chars().next(), Some('_'));
        assert!(
            wire_name("a.b:c")
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        );
    }

    #[test]
    fn a_request_is_renamed_everywhere_and_the_answer_restored() {
        let long = format!("mcp__files__{}", "read_".repeat(15));
        let req = ir::Request {
            tools: vec![Tool {
                name: long.clone(),
                description: None,
                parameters: serde_json::json!({"type": "object"}),
                strict: None,
            }],
            tool_choice: Some(ToolChoice::Named(long.clone())),
            messages: vec![Message {
                role: Role::Assistant,
                parts: vec![Part::ToolCall(ToolCall {
                    id: "c1".into(),
                    name: long.clone(),
                    arguments: "{}".into(),
                    signature: None,
                    namespace: None,
                })],
            }],
            ..ir::Request::default()
        };
        assert!(NameMap::for_request(Protocol::Messages, &req).is_empty());
        assert!(matches!(
            shorten(&req, &NameMap::for_request(Protocol::Messages, &req)),
            Cow::Borrowed(_)
        ));
        let map = NameMap::for_request(Protocol::ChatCompletions, &req);
        let short = shorten(&req, &map);
        let wire = short.tools[0].name.clone();
        assert_ne!(wire, long);
        assert_eq!(short.tool_choice, Some(ToolChoice::Named(wire.clone())));
        assert!(matches!(&short.messages[0].parts[0], Part::ToolCall(c) if c.name == wire));
        assert_eq!(map.restore(&wire), long);
        assert_eq!(map.restore("other"), "other");
        let mut answer = ir::Response {
            parts: vec![Part::ToolCall(ToolCall {
                id: "c2".into(),
                name: wire,
                arguments: "{}".into(),
                signature: None,
                namespace: None,
            })],
            ..ir::Response::default()
        };
        map.restore_response(&mut answer);
        assert!(matches!(&answer.parts[0], Part::ToolCall(c) if c.name == long));
    }

    #[test]
    fn a_stream_restores_the_callers_name() {
        use crate::json::Scratch;
        use crate::stream::{Ctx, Translator};
        let long = format!("mcp__files__{}", "read_".repeat(15));
        let req = ir::Request {
            tools: vec![Tool {
                name: long.clone(),
                description: None,
                parameters: serde_json::json!({"type": "object"}),
                strict: None,
            }],
            ..ir::Request::default()
        };
        let map = NameMap::for_request(Protocol::ChatCompletions, &req);
        let wire = wire_name(&long).into_owned();
        let ctx = Ctx {
            model: "m",
            include_usage: false,
            json_array: false,
            created: 1,
            seed: 1,
        };
        let mut t = Translator::new(Protocol::ChatCompletions, Protocol::Messages, &ctx);
        t.restore_names(map);
        let mut scratch = Scratch::new();
        let call = format!(
            r#"data: {{"id":"c","choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":0,"id":"call_1","type":"function","function":{{"name":"{wire}","arguments":"{{}}"}}}}]}}}}]}}

"#
        );
        for ev in [
            call.as_str(),
            "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
            "data: [DONE]\n\n",
        ] {
            t.feed(ev.as_bytes(), &mut scratch);
        }
        let out = t.take().map(|b| String::from_utf8_lossy(&b).into_owned());
        let out = out.unwrap_or_default();
        assert!(out.contains(&format!("\"name\":\"{long}\"")), "{out}");
        assert!(!out.contains(&wire), "{out}");
    }
}
