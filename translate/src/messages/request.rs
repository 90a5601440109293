//! Anthropic Messages request bodies to and from the IR.

use serde_json::{Map, Value, json};

use crate::ids::wire_safe;
use crate::ir::{self, Media, MediaSource, Message, Part, Role, ToolCall, ToolResult};
use crate::request::Error;
use crate::request::common::{
    Drops, Kind, Obj, args_object, as_obj, get, invalid, kind, merged, num, opt_array, opt_bool,
    opt_f64, opt_obj, opt_str, opt_u64, push_text, req_str, stop_list, system_text, unsupported,
};

/// `max_tokens` when the caller gave none (Anthropic requires one, E22).
pub(crate) const DEFAULT_MAX_TOKENS: u64 = 4096;
/// The smallest thinking budget Anthropic accepts.
const MIN_THINKING_BUDGET: u64 = 1024;

pub(crate) fn decode(obj: Map<String, Value>) -> Result<ir::Request, Error> {
    let mut req = ir::Request::default();
    match obj.get("system") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            if !s.trim().is_empty() {
                req.system.push(s.clone());
            }
        }
        Some(Value::Array(blocks)) => {
            for (i, b) in blocks.iter().enumerate() {
                let path = format!("system[{i}]");
                let b = as_obj(b, &path)?;
                let t = req_str(b.get("text"), &format!("{path}.text"))?;
                if !t.trim().is_empty() {
                    req.system.push(t.to_owned());
                }
            }
        }
        Some(_) => return Err(invalid("`system` must be a string or an array")),
    }
    let messages = opt_array(obj.get("messages"), "messages")?
        .ok_or_else(|| invalid("`messages` is required"))?;
    for (i, m) in messages.iter().enumerate() {
        let path = format!("messages[{i}]");
        let m = as_obj(m, &path)?;
        let role = match req_str(m.get("role"), &format!("{path}.role"))? {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "system" => {
                let mut parts = Vec::new();
                decode_content(&mut parts, m.get("content"), &format!("{path}.content"))?;
                for p in parts {
                    match p {
                        Part::Text(t) => req.system.push(t),
                        _ => return Err(unsupported("non-text system content")),
                    }
                }
                continue;
            }
            r => {
                return Err(invalid(format!(
                    "`{path}.role` `{r}` is not a Messages role"
                )));
            }
        };
        let mut parts = Vec::new();
        decode_content(&mut parts, m.get("content"), &format!("{path}.content"))?;
        if !parts.is_empty() {
            req.messages.push(Message { role, parts });
        }
    }
    if let Some(tools) = opt_array(obj.get("tools"), "tools")? {
        for (i, t) in tools.iter().enumerate() {
            let path = format!("tools[{i}]");
            let t = as_obj(t, &path)?;
            match opt_str(t.get("type"), &format!("{path}.type"))? {
                None | Some("custom") => {}
                Some(h) if is_server_tool(h) => {
                    req.hosted_tools.push(h.to_owned());
                    continue;
                }
                Some(other) => return Err(unsupported(format!("`{other}` tools"))),
            }
            req.tools.push(ir::Tool {
                name: req_str(t.get("name"), &format!("{path}.name"))?.to_owned(),
                description: opt_str(t.get("description"), &format!("{path}.description"))?
                    .map(str::to_owned),
                parameters: t
                    .get("input_schema")
                    .filter(|p| !p.is_null())
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object"})),
                strict: opt_bool(t.get("strict"), &format!("{path}.strict"))?,
            });
        }
    }
    if let Some(tc) = opt_obj(obj.get("tool_choice"), "tool_choice")? {
        req.tool_choice = Some(match req_str(tc.get("type"), "tool_choice.type")? {
            "auto" => ir::ToolChoice::Auto,
            "any" => ir::ToolChoice::Required,
            "none" => ir::ToolChoice::None,
            "tool" => {
                ir::ToolChoice::Named(req_str(tc.get("name"), "tool_choice.name")?.to_owned())
            }
            t => {
                return Err(invalid(format!(
                    "`tool_choice.type` `{t}` is not a tool choice"
                )));
            }
        });
        if opt_bool(
            tc.get("disable_parallel_tool_use"),
            "tool_choice.disable_parallel_tool_use",
        )? == Some(true)
        {
            req.params.parallel_tool_calls = Some(false);
        }
    }
    decode_params(&obj, &mut req.params)?;
    // The MCP connector: Anthropic calls those servers itself.
    if get(&obj, &["mcp_servers"]).is_some() {
        req.hosted_tools.push("mcp_servers".to_owned());
    }
    req.stream = opt_bool(obj.get("stream"), "stream")?.unwrap_or(false);
    Ok(req)
}

/// Anthropic's server tools (it runs them; versioned type names such as
/// `web_search_20250305`). Client tools with built-in schemas (`bash_…`, `text_editor_…`,
/// `computer_…`) are not among them: their schema is implicit, so they stay refused.
fn is_server_tool(ty: &str) -> bool {
    [
        "web_search_",
        "web_fetch_",
        "code_execution_",
        "tool_search_tool_",
    ]
    .iter()
    .any(|p| ty.starts_with(p))
}

fn decode_params(obj: &Obj, p: &mut ir::Params) -> Result<(), Error> {
    p.max_tokens = opt_u64(obj.get("max_tokens"), "max_tokens")?;
    p.temperature = opt_f64(obj.get("temperature"), "temperature")?;
    p.top_p = opt_f64(obj.get("top_p"), "top_p")?;
    p.top_k = opt_u64(obj.get("top_k"), "top_k")?;
    p.stop = stop_list(obj.get("stop_sequences"), "stop_sequences")?;
    if let Some(t) = opt_obj(obj.get("thinking"), "thinking")? {
        if req_str(t.get("type"), "thinking.type")? == "enabled" {
            p.reasoning_budget = opt_u64(t.get("budget_tokens"), "thinking.budget_tokens")?;
        }
    }
    if let Some(oc) = opt_obj(obj.get("output_config"), "output_config")? {
        p.reasoning_effort = opt_str(oc.get("effort"), "output_config.effort")?.map(str::to_owned);
        if let Some(f) = opt_obj(oc.get("format"), "output_config.format")? {
            match req_str(f.get("type"), "output_config.format.type")? {
                "json_schema" => {
                    p.response_format = Some(ir::ResponseFormat::JsonSchema {
                        name: "response".into(),
                        description: None,
                        schema: f.get("schema").cloned().unwrap_or_else(|| json!({})),
                        strict: None,
                    })
                }
                t => return Err(unsupported(format!("`{t}` output format"))),
            }
        }
    }
    if let Some(m) = opt_obj(obj.get("metadata"), "metadata")? {
        p.user = opt_str(m.get("user_id"), "metadata.user_id")?.map(str::to_owned);
    }
    if get(obj, &["container"]).is_some() {
        return Err(unsupported("container"));
    }
    Ok(())
}

fn decode_content(parts: &mut Vec<Part>, c: Option<&Value>, path: &str) -> Result<(), Error> {
    match c {
        Some(Value::String(s)) => push_text(parts, s),
        Some(Value::Array(blocks)) => {
            for (j, b) in blocks.iter().enumerate() {
                decode_block(parts, b, &format!("{path}[{j}]"))?;
            }
        }
        _ => return Err(invalid(format!("`{path}` must be a string or an array"))),
    }
    Ok(())
}

fn decode_block(parts: &mut Vec<Part>, b: &Value, path: &str) -> Result<(), Error> {
    let b = as_obj(b, path)?;
    match req_str(b.get("type"), &format!("{path}.type"))? {
        "text" => push_text(parts, req_str(b.get("text"), &format!("{path}.text"))?),
        "image" | "document" => {
            let spath = format!("{path}.source");
            let s = opt_obj(b.get("source"), &spath)?
                .ok_or_else(|| invalid(format!("`{spath}` is required")))?;
            let is_doc = b.get("type").and_then(Value::as_str) == Some("document");
            let media_type = opt_str(s.get("media_type"), &format!("{spath}.media_type"))?;
            let source = match req_str(s.get("type"), &format!("{spath}.type"))? {
                "base64" => MediaSource::Base64(
                    req_str(s.get("data"), &format!("{spath}.data"))?.to_owned(),
                ),
                "url" => {
                    MediaSource::Url(req_str(s.get("url"), &format!("{spath}.url"))?.to_owned())
                }
                "text" if is_doc => {
                    push_text(parts, req_str(s.get("data"), &format!("{spath}.data"))?);
                    return Ok(());
                }
                "file" => return Err(unsupported("file ids")),
                t => return Err(unsupported(format!("`{t}` document sources"))),
            };
            let media_type = match (media_type, is_doc) {
                (Some(m), _) => Some(m.to_owned()),
                (None, true) => Some("application/pdf".to_owned()),
                (None, false) => None,
            };
            if matches!(source, MediaSource::Base64(_)) && media_type.is_none() {
                return Err(invalid(format!("`{spath}.media_type` is required")));
            }
            parts.push(Part::Media(Media {
                media_type,
                source,
                detail: None,
                filename: opt_str(b.get("title"), &format!("{path}.title"))?.map(str::to_owned),
            }));
        }
        "tool_use" => {
            let input = b.get("input").cloned().unwrap_or_else(|| json!({}));
            parts.push(Part::ToolCall(ToolCall {
                id: req_str(b.get("id"), &format!("{path}.id"))?.to_owned(),
                name: req_str(b.get("name"), &format!("{path}.name"))?.to_owned(),
                arguments: input.to_string(),
                signature: None,
                namespace: None,
            }));
        }
        "tool_result" => {
            let mut content = Vec::new();
            if let Some(c) = b.get("content").filter(|c| !c.is_null()) {
                decode_content(&mut content, Some(c), &format!("{path}.content"))?;
            }
            if content
                .iter()
                .any(|p| !matches!(p, Part::Text(_) | Part::Media(_)))
            {
                return Err(invalid(format!(
                    "`{path}.content` may hold only text and media"
                )));
            }
            parts.push(Part::ToolResult(ToolResult {
                id: req_str(b.get("tool_use_id"), &format!("{path}.tool_use_id"))?.to_owned(),
                name: None,
                content,
                is_error: opt_bool(b.get("is_error"), &format!("{path}.is_error"))?
                    .unwrap_or(false),
            }));
        }
        "thinking" => parts.push(Part::Reasoning(ir::Reasoning {
            text: opt_str(b.get("thinking"), &format!("{path}.thinking"))?
                .unwrap_or_default()
                .to_owned(),
            signature: opt_str(b.get("signature"), &format!("{path}.signature"))?
                .map(str::to_owned),
            redacted: None,
        })),
        "redacted_thinking" => parts.push(Part::Reasoning(ir::Reasoning {
            text: String::new(),
            signature: None,
            redacted: Some(req_str(b.get("data"), &format!("{path}.data"))?.to_owned()),
        })),
        t => return Err(unsupported(format!("`{t}` content blocks"))),
    }
    Ok(())
}

pub(crate) fn encode(
    req: &ir::Request,
    model: &str,
    stream: bool,
    drops: &mut Drops,
) -> Result<Value, Error> {
    let p = &req.params;
    drops.openai_sampling(p)?;
    drops.hint(p.verbosity.is_some(), "verbosity")?;
    let mut out = Map::new();
    out.insert("model".into(), model.into());
    let max_tokens = p.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    out.insert("max_tokens".into(), max_tokens.into());
    if let Some(s) = system_text(req) {
        out.insert("system".into(), s.into());
    }
    let mut messages = Vec::new();
    for (role, parts) in merged(&req.messages) {
        let mut blocks = Vec::new();
        // Tool results first in their user message (E18).
        for part in parts.iter().filter(|p| matches!(p, Part::ToolResult(_))) {
            if let Part::ToolResult(r) = part {
                blocks.push(tool_result(r)?);
            }
        }
        for part in parts.iter().filter(|p| !matches!(p, Part::ToolResult(_))) {
            if let Some(b) = block(part, role)? {
                blocks.push(b);
            }
        }
        if blocks.is_empty() {
            continue;
        }
        let role = if role == Role::User {
            "user"
        } else {
            "assistant"
        };
        match messages.last_mut() {
            // Two turns of one role meet when one between them rendered to nothing.
            Some(Value::Object(last)) if last.get("role").and_then(Value::as_str) == Some(role) => {
                if let Some(Value::Array(c)) = last.get_mut("content") {
                    c.extend(blocks);
                }
            }
            _ => messages.push(json!({"role": role, "content": blocks})),
        }
    }
    out.insert("messages".into(), Value::Array(messages));
    if !req.tools.is_empty() {
        let tools = req
            .tools
            .iter()
            .map(|t| {
                let mut o = Map::new();
                o.insert("name".into(), t.name.clone().into());
                if let Some(d) = &t.description {
                    o.insert("description".into(), d.clone().into());
                }
                o.insert("input_schema".into(), t.parameters.clone());
                Value::Object(o)
            })
            .collect();
        out.insert("tools".into(), Value::Array(tools));
        let no_parallel = p.parallel_tool_calls == Some(false);
        let choice = match (&req.tool_choice, no_parallel) {
            (None, false) => None,
            (None | Some(ir::ToolChoice::Auto), _) => Some(json!({"type": "auto"})),
            (Some(ir::ToolChoice::Required), _) => Some(json!({"type": "any"})),
            (Some(ir::ToolChoice::None), _) => Some(json!({"type": "none"})),
            (Some(ir::ToolChoice::Named(n)), _) => Some(json!({"type": "tool", "name": n})),
        };
        if let Some(mut c) = choice {
            if no_parallel && c["type"] != "none" {
                c["disable_parallel_tool_use"] = true.into();
            }
            out.insert("tool_choice".into(), c);
        }
    }
    let thinking = thinking_budget(req, max_tokens);
    if let Some(b) = thinking {
        out.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": b}),
        );
    }
    if let Some(t) = p.temperature {
        // Anthropic's range is 0–1 (E23); thinking allows no temperature at all.
        if thinking.is_none() {
            out.insert("temperature".into(), num(t.clamp(0.0, 1.0)));
        }
    }
    if let Some(t) = p.top_p {
        if thinking.is_none() || t >= 0.95 {
            out.insert("top_p".into(), num(t));
        }
    }
    if let Some(k) = p.top_k {
        if thinking.is_none() {
            out.insert("top_k".into(), k.into());
        }
    }
    if !p.stop.is_empty() {
        out.insert("stop_sequences".into(), p.stop.clone().into());
    }
    let mut output_config = Map::new();
    if let Some(e) = p.reasoning_effort.as_deref() {
        let e = match e {
            "minimal" => Some("low"),
            "none" => None,
            e => Some(e),
        };
        if let Some(e) = e {
            output_config.insert("effort".into(), e.into());
        }
    }
    match &p.response_format {
        None | Some(ir::ResponseFormat::Text) => {}
        Some(ir::ResponseFormat::JsonObject) => {
            return Err(unsupported("response_format json_object"));
        }
        Some(ir::ResponseFormat::JsonSchema { schema, .. }) => {
            output_config.insert(
                "format".into(),
                json!({"type": "json_schema", "schema": schema}),
            );
        }
    }
    if !output_config.is_empty() {
        out.insert("output_config".into(), Value::Object(output_config));
    }
    if let Some(u) = &p.user {
        out.insert("metadata".into(), json!({"user_id": u}));
    }
    if stream {
        out.insert("stream".into(), true.into());
    }
    Ok(Value::Object(out))
}

/// The thinking budget to send: at least 1024 and below `max_tokens`, and only when the last
/// assistant turn with tool calls starts with signed thinking (E27); else none.
fn thinking_budget(req: &ir::Request, max_tokens: u64) -> Option<u64> {
    let b = req.params.reasoning_budget?.max(MIN_THINKING_BUDGET);
    if b >= max_tokens {
        return None;
    }
    let last = req
        .messages
        .iter()
        .rev()
        .find(|m| m.role == Role::Assistant);
    if let Some(m) = last {
        let calls = m.parts.iter().any(|p| matches!(p, Part::ToolCall(_)));
        let signed = matches!(m.parts.first(), Some(Part::Reasoning(r)) if r.signature.is_some() || r.redacted.is_some());
        if calls && !signed {
            return None;
        }
    }
    Some(b)
}

fn tool_result(r: &ToolResult) -> Result<Value, Error> {
    let mut o = Map::new();
    o.insert("type".into(), "tool_result".into());
    o.insert("tool_use_id".into(), wire_safe(&r.id).into_owned().into());
    match r.content.as_slice() {
        [] => {}
        [Part::Text(t)] => {
            o.insert("content".into(), t.clone().into());
        }
        parts => {
            let mut blocks = Vec::new();
            for p in parts {
                if let Some(b) = block(p, Role::User)? {
                    blocks.push(b);
                }
            }
            o.insert("content".into(), Value::Array(blocks));
        }
    }
    if r.is_error {
        o.insert("is_error".into(), true.into());
    }
    Ok(Value::Object(o))
}

fn block(p: &Part, role: Role) -> Result<Option<Value>, Error> {
    Ok(Some(match p {
        Part::Text(t) | Part::Refusal(t) => json!({"type": "text", "text": t}),
        Part::Media(m) => media_block(m)?,
        Part::ToolCall(c) => {
            if role == Role::User {
                return Err(invalid("a tool call in a user turn"));
            }
            json!({
                "type": "tool_use",
                "id": wire_safe(&c.id),
                "name": c.name,
                "input": args_object(c)?,
            })
        }
        Part::ToolResult(r) => tool_result(r)?,
        // Only Anthropic's own signed thinking is replayed (E27).
        Part::Reasoning(r) => match (&r.redacted, &r.signature) {
            (Some(data), _) => json!({"type": "redacted_thinking", "data": data}),
            (None, Some(sig)) => json!({"type": "thinking", "thinking": r.text, "signature": sig}),
            (None, None) => return Ok(None),
        },
    }))
}

fn media_block(m: &Media) -> Result<Value, Error> {
    let ty = match kind(m) {
        Kind::Image => "image",
        Kind::Pdf => "document",
        Kind::Audio => return Err(unsupported("audio input")),
        Kind::Other => return Err(unsupported("files other than images and PDFs")),
    };
    let source = match &m.source {
        MediaSource::Url(u) => json!({"type": "url", "url": u}),
        MediaSource::Base64(d) => {
            let mt = m
                .media_type
                .as_deref()
                .ok_or_else(|| unsupported("base64 media without a media type"))?;
            json!({"type": "base64", "media_type": mt, "data": d})
        }
    };
    Ok(json!({"type": ty, "source": source}))
}
