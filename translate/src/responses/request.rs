//! Responses request bodies to and from the IR.

use serde_json::{Map, Value, json};

use crate::chat::request::choice_from_str;
use crate::ids::wire_safe;
use crate::ir::{self, Media, MediaSource, Message, Part, Role, ToolCall, ToolResult};
use crate::request::Error;
use crate::request::common::{
    Drops, Kind, as_obj, get, infer_mime, invalid, kind, media_from_url, num, openai_effort,
    opt_array, opt_bool, opt_f64, opt_obj, opt_str, opt_u64, push_text, reject, req_str,
    result_text_flagged, system_text, unsupported, url_of,
};

/// Responses rejects `max_output_tokens` below this.
const MIN_OUTPUT_TOKENS: u64 = 16;

pub(crate) fn decode(obj: Map<String, Value>) -> Result<ir::Request, Error> {
    let mut req = ir::Request::default();
    if get(&obj, &["previous_response_id"]).is_some() {
        return Err(unsupported("previous_response_id"));
    }
    if get(&obj, &["conversation"]).is_some() {
        return Err(unsupported("conversation"));
    }
    if opt_bool(obj.get("background"), "background")? == Some(true) {
        return Err(unsupported("background"));
    }
    if get(&obj, &["prompt"]).is_some() {
        return Err(unsupported("prompt templates"));
    }
    if let Some(s) = opt_str(obj.get("instructions"), "instructions")? {
        if !s.trim().is_empty() {
            req.system.push(s.to_owned());
        }
    }
    match obj.get("input") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            let mut parts = Vec::new();
            push_text(&mut parts, s);
            if !parts.is_empty() {
                req.messages.push(Message {
                    role: Role::User,
                    parts,
                });
            }
        }
        Some(Value::Array(items)) => {
            for (i, it) in items.iter().enumerate() {
                decode_item(&mut req, it, &format!("input[{i}]"))?;
            }
        }
        Some(_) => return Err(invalid("`input` must be a string or an array")),
    }
    if let Some(tools) = opt_array(obj.get("tools"), "tools")? {
        for (i, t) in tools.iter().enumerate() {
            decode_tool(&mut req, t, &format!("tools[{i}]"), None)?;
        }
    }
    req.tool_choice = match obj.get("tool_choice") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(choice_from_str(s, "tool_choice")?),
        Some(Value::Object(o)) => match req_str(o.get("type"), "tool_choice.type")? {
            "function" => Some(ir::ToolChoice::Named(
                req_str(o.get("name"), "tool_choice.name")?.to_owned(),
            )),
            t => return Err(unsupported(format!("`{t}` tool_choice"))),
        },
        Some(_) => return Err(invalid("`tool_choice` must be a string or an object")),
    };
    let p = &mut req.params;
    p.max_tokens = opt_u64(obj.get("max_output_tokens"), "max_output_tokens")?;
    p.temperature = opt_f64(obj.get("temperature"), "temperature")?;
    p.top_p = opt_f64(obj.get("top_p"), "top_p")?;
    p.parallel_tool_calls = opt_bool(obj.get("parallel_tool_calls"), "parallel_tool_calls")?;
    p.user = opt_str(obj.get("user"), "user")?.map(str::to_owned);
    if get(&obj, &["top_logprobs"]).is_some() {
        return Err(unsupported("logprobs"));
    }
    if get(&obj, &["max_tool_calls"]).is_some() {
        return Err(unsupported("max_tool_calls"));
    }
    if let Some(r) = opt_obj(obj.get("reasoning"), "reasoning")? {
        p.reasoning_effort = opt_str(r.get("effort"), "reasoning.effort")?.map(str::to_owned);
    }
    if let Some(t) = opt_obj(obj.get("text"), "text")? {
        p.verbosity = opt_str(t.get("verbosity"), "text.verbosity")?.map(str::to_owned);
        if let Some(f) = opt_obj(t.get("format"), "text.format")? {
            p.response_format = Some(match req_str(f.get("type"), "text.format.type")? {
                "text" => ir::ResponseFormat::Text,
                "json_object" => ir::ResponseFormat::JsonObject,
                "json_schema" => ir::ResponseFormat::JsonSchema {
                    name: opt_str(f.get("name"), "text.format.name")?
                        .unwrap_or("response")
                        .to_owned(),
                    description: opt_str(f.get("description"), "text.format.description")?
                        .map(str::to_owned),
                    schema: f.get("schema").cloned().unwrap_or_else(|| json!({})),
                    strict: opt_bool(f.get("strict"), "text.format.strict")?,
                },
                t => return Err(unsupported(format!("`{t}` text format"))),
            });
        }
    }
    req.stream = opt_bool(obj.get("stream"), "stream")?.unwrap_or(false);
    Ok(req)
}

/// Hosted tools: OpenAI runs them, so no other upstream can.
const HOSTED: &[&str] = &[
    "web_search",
    "web_search_preview",
    "web_search_preview_2025_03_11",
    "web_search_2025_08_26",
    "file_search",
    "code_interpreter",
    "image_generation",
    "mcp",
];

/// One entry of `tools`: a function, a hosted tool (kept aside), or a `namespace` group whose
/// functions are flattened to `<namespace>__<name>` (`ns` is the group being read).
fn decode_tool(
    req: &mut ir::Request,
    t: &Value,
    path: &str,
    ns: Option<&str>,
) -> Result<(), Error> {
    let t = as_obj(t, path)?;
    match req_str(t.get("type"), &format!("{path}.type"))? {
        "function" => {}
        "namespace" if ns.is_none() => {
            let name = req_str(t.get("name"), &format!("{path}.name"))?;
            let inner = opt_array(t.get("tools"), &format!("{path}.tools"))?;
            for (j, f) in inner.into_iter().flatten().enumerate() {
                decode_tool(req, f, &format!("{path}.tools[{j}]"), Some(name))?;
            }
            return Ok(());
        }
        h if HOSTED.contains(&h) => {
            req.hosted_tools.push(h.to_owned());
            return Ok(());
        }
        other => return Err(unsupported(format!("`{other}` tools"))),
    }
    let mut name = req_str(t.get("name"), &format!("{path}.name"))?.to_owned();
    if let Some(ns) = ns {
        let flat = ir::Namespaced::flatten(ns, &name);
        req.namespaced.push(ir::Namespaced {
            flat: flat.clone(),
            namespace: ns.to_owned(),
            name,
        });
        name = flat;
    }
    req.tools.push(ir::Tool {
        name,
        description: opt_str(t.get("description"), &format!("{path}.description"))?
            .map(str::to_owned),
        parameters: t
            .get("parameters")
            .filter(|p| !p.is_null())
            .cloned()
            .unwrap_or_else(|| json!({"type": "object"})),
        strict: opt_bool(t.get("strict"), &format!("{path}.strict"))?,
    });
    Ok(())
}

fn decode_item(req: &mut ir::Request, it: &Value, path: &str) -> Result<(), Error> {
    let it = as_obj(it, path)?;
    let ty = opt_str(it.get("type"), &format!("{path}.type"))?.unwrap_or("message");
    match ty {
        "message" => {
            let role = req_str(it.get("role"), &format!("{path}.role"))?;
            let cpath = format!("{path}.content");
            let mut parts = Vec::new();
            match it.get("content") {
                Some(Value::String(s)) => push_text(&mut parts, s),
                Some(Value::Array(a)) => {
                    for (j, p) in a.iter().enumerate() {
                        decode_part(&mut parts, p, &format!("{cpath}[{j}]"))?;
                    }
                }
                _ => return Err(invalid(format!("`{cpath}` must be a string or an array"))),
            }
            match role {
                "system" | "developer" => {
                    let mut text = String::new();
                    for p in parts {
                        match p {
                            Part::Text(t) => {
                                if !text.is_empty() {
                                    text.push('\n');
                                }
                                text.push_str(&t);
                            }
                            _ => return Err(unsupported(format!("non-text parts in `{cpath}`"))),
                        }
                    }
                    if !text.is_empty() {
                        req.system.push(text);
                    }
                }
                "user" => push(req, Role::User, parts),
                "assistant" => {
                    if parts.iter().any(|p| matches!(p, Part::Media(_))) {
                        return Err(unsupported("media in assistant turns"));
                    }
                    push(req, Role::Assistant, parts)
                }
                r => {
                    return Err(invalid(format!(
                        "`{path}.role` `{r}` is not a Responses role"
                    )));
                }
            }
        }
        "function_call" => {
            let name = req_str(it.get("name"), &format!("{path}.name"))?;
            // A call of a namespaced tool names its group beside it: the flattened name.
            let name = match opt_str(it.get("namespace"), &format!("{path}.namespace"))? {
                Some(ns) => ir::Namespaced::flatten(ns, name),
                None => name.to_owned(),
            };
            let call = Part::ToolCall(ToolCall {
                id: req_str(it.get("call_id"), &format!("{path}.call_id"))?.to_owned(),
                name,
                arguments: opt_str(it.get("arguments"), &format!("{path}.arguments"))?
                    .filter(|a| !a.is_empty())
                    .unwrap_or("{}")
                    .to_owned(),
                signature: None,
                namespace: None,
            });
            push(req, Role::Assistant, vec![call]);
        }
        "function_call_output" => {
            let opath = format!("{path}.output");
            let mut content = Vec::new();
            match it.get("output") {
                Some(Value::String(s)) => push_text(&mut content, s),
                Some(Value::Array(a)) => {
                    for (j, p) in a.iter().enumerate() {
                        decode_part(&mut content, p, &format!("{opath}[{j}]"))?;
                    }
                }
                _ => return Err(invalid(format!("`{opath}` must be a string or an array"))),
            }
            let result = Part::ToolResult(ToolResult {
                id: req_str(it.get("call_id"), &format!("{path}.call_id"))?.to_owned(),
                name: None,
                content,
                is_error: false,
            });
            // Consecutive outputs answer one assistant turn: one user message (E17).
            match req.messages.last_mut() {
                Some(last)
                    if last.role == Role::User
                        && last.parts.iter().all(|p| matches!(p, Part::ToolResult(_))) =>
                {
                    last.parts.push(result);
                }
                _ => req.messages.push(Message {
                    role: Role::User,
                    parts: vec![result],
                }),
            }
        }
        // Reasoning items only mean something to OpenAI (encrypted, unsigned for others).
        "reasoning" => {}
        "item_reference" => return Err(unsupported("item_reference")),
        t => return Err(unsupported(format!("`{t}` input items"))),
    }
    Ok(())
}

/// Appends to the last message when it has the same role (consecutive `function_call` items
/// join the assistant message before them, E17), else starts a message.
fn push(req: &mut ir::Request, role: Role, parts: Vec<Part>) {
    if parts.is_empty() {
        return;
    }
    match req.messages.last_mut() {
        Some(last)
            if last.role == role
                && (role == Role::Assistant
                    || !last.parts.iter().any(|p| matches!(p, Part::ToolResult(_)))) =>
        {
            last.parts.extend(parts);
        }
        _ => req.messages.push(Message { role, parts }),
    }
}

fn decode_part(parts: &mut Vec<Part>, p: &Value, path: &str) -> Result<(), Error> {
    let p = as_obj(p, path)?;
    match req_str(p.get("type"), &format!("{path}.type"))? {
        "input_text" | "output_text" | "text" => {
            push_text(parts, req_str(p.get("text"), &format!("{path}.text"))?)
        }
        "refusal" => parts.push(Part::Refusal(
            req_str(p.get("refusal"), &format!("{path}.refusal"))?.to_owned(),
        )),
        "input_image" => {
            if get(p, &["file_id"]).is_some() {
                return Err(unsupported("file ids"));
            }
            let url = req_str(p.get("image_url"), &format!("{path}.image_url"))?;
            let detail = opt_str(p.get("detail"), &format!("{path}.detail"))?;
            parts.push(Part::Media(media_from_url(
                url,
                detail,
                None,
                &format!("{path}.image_url"),
            )?));
        }
        "input_file" => {
            if get(p, &["file_id"]).is_some() {
                return Err(unsupported("file ids"));
            }
            let filename = opt_str(p.get("filename"), &format!("{path}.filename"))?;
            let m = if let Some(d) = opt_str(p.get("file_data"), &format!("{path}.file_data"))? {
                if d.starts_with("data:") {
                    media_from_url(d, None, filename, &format!("{path}.file_data"))?
                } else {
                    Media {
                        media_type: Some(
                            filename
                                .and_then(infer_mime)
                                .unwrap_or("application/pdf")
                                .to_owned(),
                        ),
                        source: MediaSource::Base64(d.to_owned()),
                        detail: None,
                        filename: filename.map(str::to_owned),
                    }
                }
            } else {
                let url = req_str(p.get("file_url"), &format!("{path}.file_url"))?;
                Media {
                    media_type: Some(infer_mime(url).unwrap_or("application/pdf").to_owned()),
                    source: MediaSource::Url(url.to_owned()),
                    detail: None,
                    filename: filename.map(str::to_owned),
                }
            };
            parts.push(Part::Media(m));
        }
        t => return Err(unsupported(format!("`{t}` content parts"))),
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
    reject(!p.stop.is_empty(), "stop")?;
    drops.openai_sampling(p)?;
    let mut out = Map::new();
    out.insert("model".into(), model.into());
    if let Some(s) = system_text(req) {
        out.insert("instructions".into(), s.into());
    }
    let mut input = Vec::new();
    for m in &req.messages {
        match m.role {
            Role::User => encode_user(&mut input, &m.parts)?,
            Role::Assistant => encode_assistant(&mut input, &m.parts)?,
        }
    }
    out.insert("input".into(), Value::Array(input));
    if !req.tools.is_empty() {
        let tools = req
            .tools
            .iter()
            .map(|t| {
                let mut f = Map::new();
                f.insert("type".into(), "function".into());
                f.insert("name".into(), t.name.clone().into());
                if let Some(d) = &t.description {
                    f.insert("description".into(), d.clone().into());
                }
                f.insert("parameters".into(), t.parameters.clone());
                // Omitted `strict` means strict on Responses (E24).
                f.insert("strict".into(), t.strict.unwrap_or(false).into());
                Value::Object(f)
            })
            .collect();
        out.insert("tools".into(), Value::Array(tools));
        if let Some(ptc) = p.parallel_tool_calls {
            out.insert("parallel_tool_calls".into(), ptc.into());
        }
    }
    if let Some(tc) = &req.tool_choice {
        let v = match tc {
            ir::ToolChoice::Auto => "auto".into(),
            ir::ToolChoice::Required => "required".into(),
            ir::ToolChoice::None => "none".into(),
            ir::ToolChoice::Named(n) => json!({"type": "function", "name": n}),
        };
        out.insert("tool_choice".into(), v);
    }
    if let Some(n) = p.max_tokens {
        out.insert("max_output_tokens".into(), n.max(MIN_OUTPUT_TOKENS).into());
    }
    if let Some(t) = p.temperature {
        out.insert("temperature".into(), num(t));
    }
    if let Some(t) = p.top_p {
        out.insert("top_p".into(), num(t));
    }
    drops.hint(p.top_k.is_some(), "top_k")?;
    if let Some(e) = openai_effort(p) {
        out.insert("reasoning".into(), json!({"effort": e}));
    }
    if let Some(rf) = &p.response_format {
        let f = match rf {
            ir::ResponseFormat::Text => json!({"type": "text"}),
            ir::ResponseFormat::JsonObject => json!({"type": "json_object"}),
            ir::ResponseFormat::JsonSchema {
                name,
                description,
                schema,
                strict,
            } => {
                let mut f = Map::new();
                f.insert("type".into(), "json_schema".into());
                f.insert("name".into(), name.clone().into());
                if let Some(d) = description {
                    f.insert("description".into(), d.clone().into());
                }
                f.insert("schema".into(), schema.clone());
                if let Some(s) = strict {
                    f.insert("strict".into(), (*s).into());
                }
                Value::Object(f)
            }
        };
        out.insert("text".into(), json!({"format": f}));
    }
    if let Some(v) = &p.verbosity {
        let text = out.entry("text").or_insert_with(|| json!({}));
        text["verbosity"] = v.clone().into();
    }
    if let Some(u) = &p.user {
        out.insert("user".into(), u.clone().into());
    }
    if stream {
        out.insert("stream".into(), true.into());
    }
    Ok(Value::Object(out))
}

fn encode_user(input: &mut Vec<Value>, parts: &[Part]) -> Result<(), Error> {
    let mut content = Vec::new();
    for p in parts {
        match p {
            Part::ToolResult(r) => input.push(json!({
                "type": "function_call_output",
                "call_id": wire_safe(&r.id),
                "output": result_text_flagged(r)?,
            })),
            Part::Text(t) | Part::Refusal(t) => {
                content.push(json!({"type": "input_text", "text": t}))
            }
            Part::Media(m) => content.push(media_part(m)?),
            Part::ToolCall(_) => return Err(invalid("a tool call in a user turn")),
            Part::Reasoning(_) => {}
        }
    }
    if !content.is_empty() {
        let c = match content.as_slice() {
            [one] if one["type"] == "input_text" => one["text"].clone(),
            _ => Value::Array(content),
        };
        input.push(json!({"role": "user", "content": c}));
    }
    Ok(())
}

fn media_part(m: &Media) -> Result<Value, Error> {
    match kind(m) {
        Kind::Image => Ok(json!({
            "type": "input_image",
            "image_url": url_of(m)?,
            "detail": m.detail.as_deref().unwrap_or("auto"),
        })),
        Kind::Audio => Err(unsupported("audio input")),
        Kind::Pdf | Kind::Other => {
            let mut f = Map::new();
            f.insert("type".into(), "input_file".into());
            match &m.source {
                MediaSource::Url(u) => {
                    f.insert("file_url".into(), u.clone().into());
                }
                MediaSource::Base64(_) => {
                    f.insert("file_data".into(), url_of(m)?.into());
                    f.insert(
                        "filename".into(),
                        m.filename
                            .clone()
                            .unwrap_or_else(|| "file.pdf".into())
                            .into(),
                    );
                }
            }
            Ok(Value::Object(f))
        }
    }
}

fn encode_assistant(input: &mut Vec<Value>, parts: &[Part]) -> Result<(), Error> {
    let mut text = String::new();
    let flush = |input: &mut Vec<Value>, text: &mut String| {
        if !text.is_empty() {
            input.push(json!({"role": "assistant", "content": std::mem::take(text)}));
        }
    };
    for p in parts {
        match p {
            Part::Text(t) | Part::Refusal(t) => text.push_str(t),
            Part::ToolCall(c) => {
                flush(input, &mut text);
                input.push(json!({
                    "type": "function_call",
                    "call_id": wire_safe(&c.id),
                    "name": c.name,
                    "arguments": c.arguments,
                }));
            }
            // Reasoning is only replayed to Anthropic (E27).
            Part::Reasoning(_) => {}
            Part::Media(_) => return Err(unsupported("media in assistant turns")),
            Part::ToolResult(_) => return Err(invalid("a tool result in an assistant turn")),
        }
    }
    flush(input, &mut text);
    Ok(())
}
