//! Chat Completions request bodies to and from the IR.

use serde_json::{Map, Value, json};

use crate::ir::{self, Media, MediaSource, Message, Part, Role, ToolCall, ToolResult};
use crate::request::Error;
use crate::request::common::{
    Drops, Kind, Obj, as_obj, get, invalid, kind, media_from_url, num, opt_array, opt_bool,
    opt_f64, opt_i64, opt_obj, opt_str, opt_u64, push_text, req_str, result_text_flagged,
    stop_list, system_text, unsupported, url_of,
};

pub(crate) fn decode(obj: Map<String, Value>) -> Result<ir::Request, Error> {
    let mut req = ir::Request::default();
    let messages = opt_array(obj.get("messages"), "messages")?
        .ok_or_else(|| invalid("`messages` is required"))?;
    for (i, m) in messages.iter().enumerate() {
        decode_message(&mut req, m, i)?;
    }
    if let Some(tools) = opt_array(obj.get("tools"), "tools")? {
        for (i, t) in tools.iter().enumerate() {
            req.tools.push(decode_tool(t, i)?);
        }
    }
    req.tool_choice = decode_tool_choice(obj.get("tool_choice"))?;
    decode_params(&obj, &mut req.params, &mut req.hosted_tools)?;
    req.stream = opt_bool(obj.get("stream"), "stream")?.unwrap_or(false);
    if let Some(so) = opt_obj(obj.get("stream_options"), "stream_options")? {
        req.include_usage =
            opt_bool(so.get("include_usage"), "stream_options.include_usage")?.unwrap_or(false);
    }
    Ok(req)
}

fn decode_message(req: &mut ir::Request, m: &Value, i: usize) -> Result<(), Error> {
    let path = format!("messages[{i}]");
    let m = as_obj(m, &path)?;
    let role = req_str(m.get("role"), &format!("{path}.role"))?;
    let cpath = format!("{path}.content");
    let content = m.get("content").filter(|c| !c.is_null());
    match role {
        "system" | "developer" => {
            let text = text_only(content, &cpath)?;
            if !text.trim().is_empty() {
                req.system.push(text);
            }
        }
        "user" => {
            let mut parts = Vec::new();
            match content {
                None => {}
                Some(Value::String(s)) => push_text(&mut parts, s),
                Some(Value::Array(a)) => {
                    for (j, p) in a.iter().enumerate() {
                        decode_user_part(&mut parts, p, &format!("{cpath}[{j}]"))?;
                    }
                }
                Some(_) => return Err(invalid(format!("`{cpath}` must be a string or an array"))),
            }
            push(req, Role::User, parts);
        }
        "assistant" => {
            let mut parts = Vec::new();
            if let Some(r) = opt_str(
                m.get("reasoning_content"),
                &format!("{path}.reasoning_content"),
            )? {
                if !r.is_empty() {
                    parts.push(Part::Reasoning(ir::Reasoning {
                        text: r.to_owned(),
                        signature: None,
                        redacted: None,
                    }));
                }
            }
            match content {
                None => {}
                Some(Value::String(s)) => push_text(&mut parts, s),
                Some(Value::Array(a)) => {
                    for (j, p) in a.iter().enumerate() {
                        let pp = format!("{cpath}[{j}]");
                        let p = as_obj(p, &pp)?;
                        match req_str(p.get("type"), &format!("{pp}.type"))? {
                            "text" => push_text(
                                &mut parts,
                                req_str(p.get("text"), &format!("{pp}.text"))?,
                            ),
                            "refusal" => {
                                let r = req_str(p.get("refusal"), &format!("{pp}.refusal"))?;
                                parts.push(Part::Refusal(r.to_owned()));
                            }
                            t => {
                                return Err(invalid(format!(
                                    "`{pp}.type` `{t}` is not an assistant content part"
                                )));
                            }
                        }
                    }
                }
                Some(_) => return Err(invalid(format!("`{cpath}` must be a string or an array"))),
            }
            if let Some(r) = opt_str(m.get("refusal"), &format!("{path}.refusal"))? {
                if !r.is_empty() {
                    parts.push(Part::Refusal(r.to_owned()));
                }
            }
            if m.get("audio").is_some_and(|a| !a.is_null()) {
                return Err(unsupported("assistant audio"));
            }
            if let Some(calls) = opt_array(m.get("tool_calls"), &format!("{path}.tool_calls"))? {
                for (j, c) in calls.iter().enumerate() {
                    let cp = format!("{path}.tool_calls[{j}]");
                    let c = as_obj(c, &cp)?;
                    if let Some(t) = opt_str(c.get("type"), &format!("{cp}.type"))? {
                        if t != "function" {
                            return Err(unsupported(format!("`{t}` tool calls")));
                        }
                    }
                    let f = opt_obj(c.get("function"), &format!("{cp}.function"))?
                        .ok_or_else(|| invalid(format!("`{cp}.function` is required")))?;
                    parts.push(Part::ToolCall(ToolCall {
                        id: req_str(c.get("id"), &format!("{cp}.id"))?.to_owned(),
                        name: req_str(f.get("name"), &format!("{cp}.function.name"))?.to_owned(),
                        arguments: opt_str(
                            f.get("arguments"),
                            &format!("{cp}.function.arguments"),
                        )?
                        .filter(|a| !a.is_empty())
                        .unwrap_or("{}")
                        .to_owned(),
                        signature: None,
                        namespace: None,
                    }));
                }
            }
            push(req, Role::Assistant, parts);
        }
        "tool" => {
            let id = req_str(m.get("tool_call_id"), &format!("{path}.tool_call_id"))?;
            let mut content = Vec::new();
            push_text(&mut content, &text_only(content_or_empty(m), &cpath)?);
            let result = Part::ToolResult(ToolResult {
                id: id.to_owned(),
                name: None,
                content,
                is_error: false,
            });
            // Consecutive tool messages answer one assistant turn: one user message (E17).
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
        "function" => return Err(unsupported("deprecated `function` messages")),
        r => {
            return Err(invalid(format!(
                "`{path}.role` `{r}` is not a Chat Completions role"
            )));
        }
    }
    Ok(())
}

fn content_or_empty(m: &Obj) -> Option<&Value> {
    m.get("content").filter(|c| !c.is_null())
}

fn push(req: &mut ir::Request, role: Role, parts: Vec<Part>) {
    if !parts.is_empty() {
        req.messages.push(Message { role, parts });
    }
}

/// A string or an array of text parts, as one string.
fn text_only(content: Option<&Value>, path: &str) -> Result<String, Error> {
    match content {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(a)) => {
            let mut out = String::new();
            for (j, p) in a.iter().enumerate() {
                let pp = format!("{path}[{j}]");
                let p = as_obj(p, &pp)?;
                match req_str(p.get("type"), &format!("{pp}.type"))? {
                    "text" => {
                        if !out.is_empty() {
                            out.push('\n');
                        }
                        out.push_str(req_str(p.get("text"), &format!("{pp}.text"))?);
                    }
                    t => return Err(unsupported(format!("`{t}` parts in `{path}`"))),
                }
            }
            Ok(out)
        }
        Some(_) => Err(invalid(format!("`{path}` must be a string or an array"))),
    }
}

fn decode_user_part(parts: &mut Vec<Part>, p: &Value, path: &str) -> Result<(), Error> {
    let p = as_obj(p, path)?;
    match req_str(p.get("type"), &format!("{path}.type"))? {
        "text" => push_text(parts, req_str(p.get("text"), &format!("{path}.text"))?),
        "image_url" => {
            let iu = opt_obj(p.get("image_url"), &format!("{path}.image_url"))?
                .ok_or_else(|| invalid(format!("`{path}.image_url` is required")))?;
            let url = req_str(iu.get("url"), &format!("{path}.image_url.url"))?;
            let detail = opt_str(iu.get("detail"), &format!("{path}.image_url.detail"))?;
            let m = media_from_url(url, detail, None, &format!("{path}.image_url.url"))?;
            parts.push(Part::Media(m));
        }
        "input_audio" => {
            let a = opt_obj(p.get("input_audio"), &format!("{path}.input_audio"))?
                .ok_or_else(|| invalid(format!("`{path}.input_audio` is required")))?;
            let data = req_str(a.get("data"), &format!("{path}.input_audio.data"))?;
            let format = req_str(a.get("format"), &format!("{path}.input_audio.format"))?;
            parts.push(Part::Media(Media {
                media_type: Some(format!("audio/{format}")),
                source: MediaSource::Base64(data.to_owned()),
                detail: None,
                filename: None,
            }));
        }
        "file" => {
            let f = opt_obj(p.get("file"), &format!("{path}.file"))?
                .ok_or_else(|| invalid(format!("`{path}.file` is required")))?;
            if f.get("file_id").is_some_and(|v| !v.is_null()) {
                return Err(unsupported("file ids"));
            }
            let data = req_str(f.get("file_data"), &format!("{path}.file.file_data"))?;
            let filename = opt_str(f.get("filename"), &format!("{path}.file.filename"))?;
            let m = media_from_url(data, None, filename, &format!("{path}.file.file_data"))?;
            parts.push(Part::Media(m));
        }
        t => return Err(unsupported(format!("`{t}` content parts"))),
    }
    Ok(())
}

fn decode_tool(t: &Value, i: usize) -> Result<ir::Tool, Error> {
    let path = format!("tools[{i}]");
    let t = as_obj(t, &path)?;
    match opt_str(t.get("type"), &format!("{path}.type"))? {
        None | Some("function") => {}
        Some(other) => return Err(unsupported(format!("`{other}` tools"))),
    }
    let f = opt_obj(t.get("function"), &format!("{path}.function"))?
        .ok_or_else(|| invalid(format!("`{path}.function` is required")))?;
    Ok(ir::Tool {
        name: req_str(f.get("name"), &format!("{path}.function.name"))?.to_owned(),
        description: opt_str(
            f.get("description"),
            &format!("{path}.function.description"),
        )?
        .map(str::to_owned),
        parameters: f
            .get("parameters")
            .filter(|p| !p.is_null())
            .cloned()
            .unwrap_or_else(|| json!({"type": "object"})),
        strict: opt_bool(f.get("strict"), &format!("{path}.function.strict"))?,
    })
}

/// Chat and Responses share the string forms.
pub(crate) fn choice_from_str(s: &str, path: &str) -> Result<ir::ToolChoice, Error> {
    Ok(match s {
        "auto" => ir::ToolChoice::Auto,
        "required" => ir::ToolChoice::Required,
        "none" => ir::ToolChoice::None,
        other => return Err(invalid(format!("`{path}` `{other}` is not a tool choice"))),
    })
}

fn decode_tool_choice(v: Option<&Value>) -> Result<Option<ir::ToolChoice>, Error> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => choice_from_str(s, "tool_choice").map(Some),
        Some(Value::Object(o)) => match opt_str(o.get("type"), "tool_choice.type")? {
            Some("function") => {
                let f = opt_obj(o.get("function"), "tool_choice.function")?
                    .ok_or_else(|| invalid("`tool_choice.function` is required"))?;
                let name = req_str(f.get("name"), "tool_choice.function.name")?;
                Ok(Some(ir::ToolChoice::Named(name.to_owned())))
            }
            Some(t) => Err(unsupported(format!("`{t}` tool_choice"))),
            None => Err(invalid("`tool_choice.type` is required")),
        },
        Some(_) => Err(invalid("`tool_choice` must be a string or an object")),
    }
}

fn decode_params(obj: &Obj, p: &mut ir::Params, hosted: &mut Vec<String>) -> Result<(), Error> {
    p.max_tokens = match opt_u64(obj.get("max_completion_tokens"), "max_completion_tokens")? {
        Some(n) => Some(n),
        None => opt_u64(obj.get("max_tokens"), "max_tokens")?,
    };
    p.temperature = opt_f64(obj.get("temperature"), "temperature")?;
    p.top_p = opt_f64(obj.get("top_p"), "top_p")?;
    p.stop = stop_list(obj.get("stop"), "stop")?;
    p.seed = opt_i64(obj.get("seed"), "seed")?;
    p.presence_penalty = opt_f64(obj.get("presence_penalty"), "presence_penalty")?;
    p.frequency_penalty = opt_f64(obj.get("frequency_penalty"), "frequency_penalty")?;
    p.reasoning_effort =
        opt_str(obj.get("reasoning_effort"), "reasoning_effort")?.map(str::to_owned);
    p.parallel_tool_calls = opt_bool(obj.get("parallel_tool_calls"), "parallel_tool_calls")?;
    p.user = opt_str(obj.get("user"), "user")?.map(str::to_owned);
    p.verbosity = opt_str(obj.get("verbosity"), "verbosity")?.map(str::to_owned);
    if opt_u64(obj.get("n"), "n")?.is_some_and(|n| n > 1) {
        return Err(unsupported("`n` greater than 1"));
    }
    if opt_bool(obj.get("logprobs"), "logprobs")? == Some(true)
        || get(obj, &["top_logprobs"]).is_some()
    {
        return Err(unsupported("logprobs"));
    }
    if opt_obj(obj.get("logit_bias"), "logit_bias")?.is_some_and(|m| !m.is_empty()) {
        return Err(unsupported("logit_bias"));
    }
    if get(obj, &["audio"]).is_some() {
        return Err(unsupported("audio output"));
    }
    if get(obj, &["web_search_options"]).is_some() {
        hosted.push("web_search_options".to_owned());
    }
    if let Some(rf) = opt_obj(obj.get("response_format"), "response_format")? {
        p.response_format = Some(match req_str(rf.get("type"), "response_format.type")? {
            "text" => ir::ResponseFormat::Text,
            "json_object" => ir::ResponseFormat::JsonObject,
            "json_schema" => {
                let js = opt_obj(rf.get("json_schema"), "response_format.json_schema")?
                    .ok_or_else(|| invalid("`response_format.json_schema` is required"))?;
                ir::ResponseFormat::JsonSchema {
                    name: opt_str(js.get("name"), "response_format.json_schema.name")?
                        .unwrap_or("response")
                        .to_owned(),
                    description: opt_str(
                        js.get("description"),
                        "response_format.json_schema.description",
                    )?
                    .map(str::to_owned),
                    schema: js.get("schema").cloned().unwrap_or_else(|| json!({})),
                    strict: opt_bool(js.get("strict"), "response_format.json_schema.strict")?,
                }
            }
            t => return Err(unsupported(format!("`{t}` response_format"))),
        });
    }
    Ok(())
}

pub(crate) fn encode(
    req: &ir::Request,
    model: &str,
    stream: bool,
    drops: &mut Drops,
) -> Result<Value, Error> {
    let mut out = Map::new();
    out.insert("model".into(), model.into());
    let mut messages = Vec::new();
    if let Some(s) = system_text(req) {
        messages.push(json!({"role": "system", "content": s}));
    }
    for m in &req.messages {
        match m.role {
            Role::User => encode_user(&mut messages, &m.parts)?,
            Role::Assistant => encode_assistant(&mut messages, &m.parts)?,
        }
    }
    out.insert("messages".into(), Value::Array(messages));
    if !req.tools.is_empty() {
        let tools = req
            .tools
            .iter()
            .map(|t| {
                let mut f = Map::new();
                f.insert("name".into(), t.name.clone().into());
                if let Some(d) = &t.description {
                    f.insert("description".into(), d.clone().into());
                }
                f.insert("parameters".into(), t.parameters.clone());
                if let Some(s) = t.strict {
                    f.insert("strict".into(), s.into());
                }
                json!({"type": "function", "function": f})
            })
            .collect();
        out.insert("tools".into(), Value::Array(tools));
        if let Some(p) = req.params.parallel_tool_calls {
            out.insert("parallel_tool_calls".into(), p.into());
        }
    }
    if let Some(tc) = &req.tool_choice {
        let v = match tc {
            ir::ToolChoice::Auto => "auto".into(),
            ir::ToolChoice::Required => "required".into(),
            ir::ToolChoice::None => "none".into(),
            ir::ToolChoice::Named(n) => json!({"type": "function", "function": {"name": n}}),
        };
        out.insert("tool_choice".into(), v);
    }
    encode_params(&mut out, &req.params, drops)?;
    if stream {
        out.insert("stream".into(), true.into());
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Ok(Value::Object(out))
}

fn encode_params(
    out: &mut Map<String, Value>,
    p: &ir::Params,
    drops: &mut Drops,
) -> Result<(), Error> {
    if let Some(n) = p.max_tokens {
        out.insert("max_completion_tokens".into(), n.into());
    }
    if let Some(t) = p.temperature {
        out.insert("temperature".into(), num(t));
    }
    if let Some(t) = p.top_p {
        out.insert("top_p".into(), num(t));
    }
    drops.hint(p.top_k.is_some(), "top_k")?;
    if !p.stop.is_empty() {
        out.insert("stop".into(), p.stop.clone().into());
    }
    if let Some(v) = &p.verbosity {
        out.insert("verbosity".into(), v.clone().into());
    }
    if let Some(s) = p.seed {
        out.insert("seed".into(), s.into());
    }
    if let Some(x) = p.presence_penalty {
        out.insert("presence_penalty".into(), num(x));
    }
    if let Some(x) = p.frequency_penalty {
        out.insert("frequency_penalty".into(), num(x));
    }
    if let Some(rf) = &p.response_format {
        let v = match rf {
            ir::ResponseFormat::Text => json!({"type": "text"}),
            ir::ResponseFormat::JsonObject => json!({"type": "json_object"}),
            ir::ResponseFormat::JsonSchema {
                name,
                description,
                schema,
                strict,
            } => {
                let mut js = Map::new();
                js.insert("name".into(), name.clone().into());
                if let Some(d) = description {
                    js.insert("description".into(), d.clone().into());
                }
                js.insert("schema".into(), schema.clone());
                if let Some(s) = strict {
                    js.insert("strict".into(), (*s).into());
                }
                json!({"type": "json_schema", "json_schema": js})
            }
        };
        out.insert("response_format".into(), v);
    }
    if let Some(e) = crate::request::common::openai_effort(p) {
        out.insert("reasoning_effort".into(), e.into());
    }
    if let Some(u) = &p.user {
        out.insert("user".into(), u.clone().into());
    }
    Ok(())
}

fn encode_user(messages: &mut Vec<Value>, parts: &[Part]) -> Result<(), Error> {
    let mut content = Vec::new();
    for p in parts {
        match p {
            Part::ToolResult(r) => messages.push(json!({
                "role": "tool",
                "tool_call_id": r.id,
                "content": result_text_flagged(r)?,
            })),
            Part::Text(t) | Part::Refusal(t) => content.push(json!({"type": "text", "text": t})),
            Part::Media(m) => content.push(media_part(m)?),
            Part::ToolCall(_) => return Err(invalid("a tool call in a user turn")),
            Part::Reasoning(_) => {}
        }
    }
    if !content.is_empty() {
        let c = match content.as_slice() {
            [one] if one["type"] == "text" => one["text"].clone(),
            _ => Value::Array(content),
        };
        messages.push(json!({"role": "user", "content": c}));
    }
    Ok(())
}

fn media_part(m: &Media) -> Result<Value, Error> {
    match kind(m) {
        Kind::Image => {
            let mut iu = Map::new();
            iu.insert("url".into(), url_of(m)?.into());
            if let Some(d) = &m.detail {
                iu.insert("detail".into(), d.clone().into());
            }
            Ok(json!({"type": "image_url", "image_url": iu}))
        }
        Kind::Audio => {
            let format = match m.media_type.as_deref() {
                Some("audio/wav" | "audio/x-wav") => "wav",
                Some("audio/mp3" | "audio/mpeg") => "mp3",
                _ => return Err(unsupported("audio other than wav or mp3")),
            };
            let MediaSource::Base64(data) = &m.source else {
                return Err(unsupported("an audio URL"));
            };
            Ok(json!({"type": "input_audio", "input_audio": {"data": data, "format": format}}))
        }
        Kind::Pdf | Kind::Other => {
            if matches!(m.source, MediaSource::Url(_)) {
                return Err(unsupported("a file URL"));
            }
            let mut f = Map::new();
            f.insert("file_data".into(), url_of(m)?.into());
            f.insert(
                "filename".into(),
                m.filename
                    .clone()
                    .unwrap_or_else(|| "file.pdf".into())
                    .into(),
            );
            Ok(json!({"type": "file", "file": f}))
        }
    }
}

fn encode_assistant(messages: &mut Vec<Value>, parts: &[Part]) -> Result<(), Error> {
    let mut text = String::new();
    let mut refusal = String::new();
    let mut calls = Vec::new();
    for p in parts {
        match p {
            Part::Text(t) => text.push_str(t),
            Part::Refusal(r) => refusal.push_str(r),
            Part::ToolCall(c) => calls.push(json!({
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            })),
            // Reasoning is only replayed to Anthropic (E27).
            Part::Reasoning(_) => {}
            Part::Media(_) => return Err(unsupported("media in assistant turns")),
            Part::ToolResult(_) => return Err(invalid("a tool result in an assistant turn")),
        }
    }
    if text.is_empty() && refusal.is_empty() && calls.is_empty() {
        return Ok(());
    }
    let mut m = Map::new();
    m.insert("role".into(), "assistant".into());
    m.insert(
        "content".into(),
        if text.is_empty() {
            Value::Null
        } else {
            text.into()
        },
    );
    if !refusal.is_empty() {
        m.insert("refusal".into(), refusal.into());
    }
    if !calls.is_empty() {
        m.insert("tool_calls".into(), Value::Array(calls));
    }
    messages.push(Value::Object(m));
    Ok(())
}
