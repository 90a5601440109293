//! Gemini generateContent request bodies to and from the IR. Decoding accepts the camelCase
//! and snake_case spellings of every key (E39).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::ids;
use crate::ir::{self, Media, MediaSource, Message, Part, Role, ToolCall, ToolResult};
use crate::request::Error;
use crate::request::common::{
    Drops, Obj, args_object, as_obj, get, infer_mime, invalid, merged, num, opt_array, opt_bool,
    opt_f64, opt_i64, opt_str, opt_u64, push_text, req_str, result_text, stop_list, unsupported,
};
use crate::request::schema::{from_gemini, gemini_parameters};

/// Google's documented value that lets a function call without a real signature through (E28).
pub(crate) const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";
/// Seed of the ids made up for Gemini calls without one (stable across turns: the n-th call of
/// a conversation always gets the same id).
const ID_SEED: u64 = 0x6765_6d69_6e69;

/// The id made up for the `n`-th function call of a conversation that had none.
pub(crate) fn made_up_id(n: u64) -> String {
    let mut s = String::new();
    ids::synthesize("call_", ID_SEED, n, &mut s);
    s
}

/// A key in either spelling (`camel`, then `snake`).
fn tw<'a>(o: &'a Obj, camel: &str, snake: &str) -> Option<&'a Value> {
    get(o, &[camel, snake])
}

/// Calls of the latest model turn, waiting for their responses.
struct Pending {
    name: String,
    id: String,
    answered: bool,
}

pub(crate) fn decode(obj: Map<String, Value>, stream: bool) -> Result<ir::Request, Error> {
    let mut req = ir::Request {
        stream,
        ..ir::Request::default()
    };
    if let Some(si) = tw(&obj, "systemInstruction", "system_instruction") {
        match si {
            Value::String(s) => push_system(&mut req, s),
            Value::Object(si) => {
                let parts = opt_array(si.get("parts"), "systemInstruction.parts")?;
                for (i, p) in parts.into_iter().flatten().enumerate() {
                    let path = format!("systemInstruction.parts[{i}]");
                    let p = as_obj(p, &path)?;
                    push_system(&mut req, req_str(p.get("text"), &format!("{path}.text"))?);
                }
            }
            _ => return Err(invalid("`systemInstruction` must be an object")),
        }
    }
    let contents = opt_array(obj.get("contents"), "contents")?
        .ok_or_else(|| invalid("`contents` is required"))?;
    let mut calls_seen = 0u64;
    let mut pending: Vec<Pending> = Vec::new();
    let mut last_model = false;
    for (i, c) in contents.iter().enumerate() {
        let path = format!("contents[{i}]");
        let c = as_obj(c, &path)?;
        let role = match opt_str(c.get("role"), &format!("{path}.role"))? {
            None | Some("user") => Role::User,
            Some("model") => Role::Assistant,
            Some(r) => return Err(invalid(format!("`{path}.role` `{r}` is not a Gemini role"))),
        };
        if role == Role::Assistant && !last_model {
            pending.clear();
        }
        last_model = role == Role::Assistant;
        let mut parts = Vec::new();
        let list = opt_array(c.get("parts"), &format!("{path}.parts"))?;
        for (j, p) in list.into_iter().flatten().enumerate() {
            let ppath = format!("{path}.parts[{j}]");
            let p = as_obj(p, &ppath)?;
            decode_part(&mut parts, p, &ppath, &mut calls_seen, &mut pending)?;
        }
        if !parts.is_empty() {
            req.messages.push(Message { role, parts });
        }
    }
    if let Some(tools) = opt_array(obj.get("tools"), "tools")? {
        for (i, t) in tools.iter().enumerate() {
            decode_tool(
                &mut req.tools,
                &mut req.hosted_tools,
                t,
                &format!("tools[{i}]"),
            )?;
        }
    }
    if let Some(tc) = tw(&obj, "toolConfig", "tool_config") {
        let tc = as_obj(tc, "toolConfig")?;
        if let Some(fc) = tw(tc, "functionCallingConfig", "function_calling_config") {
            let fc = as_obj(fc, "toolConfig.functionCallingConfig")?;
            let names = opt_array(
                tw(fc, "allowedFunctionNames", "allowed_function_names"),
                "toolConfig.functionCallingConfig.allowedFunctionNames",
            )?;
            let mode = opt_str(fc.get("mode"), "toolConfig.functionCallingConfig.mode")?;
            req.tool_choice = match (mode.unwrap_or("AUTO"), names.map(Vec::as_slice)) {
                ("AUTO" | "VALIDATED" | "MODE_UNSPECIFIED", _) => Some(ir::ToolChoice::Auto),
                ("NONE", _) => Some(ir::ToolChoice::None),
                ("ANY", None | Some([])) => Some(ir::ToolChoice::Required),
                ("ANY", Some([Value::String(n)])) => Some(ir::ToolChoice::Named(n.clone())),
                ("ANY", Some(_)) => return Err(unsupported("several allowedFunctionNames")),
                (m, _) => return Err(invalid(format!("`{m}` is not a function calling mode"))),
            };
        }
    }
    if let Some(gc) = tw(&obj, "generationConfig", "generation_config") {
        decode_config(&mut req.params, as_obj(gc, "generationConfig")?)?;
    }
    if tw(&obj, "cachedContent", "cached_content").is_some() {
        return Err(unsupported("cachedContent"));
    }
    Ok(req)
}

fn push_system(req: &mut ir::Request, s: &str) {
    if !s.trim().is_empty() {
        req.system.push(s.to_owned());
    }
}

fn decode_part(
    parts: &mut Vec<Part>,
    p: &Obj,
    path: &str,
    calls_seen: &mut u64,
    pending: &mut Vec<Pending>,
) -> Result<(), Error> {
    if let Some(t) = p.get("text") {
        let t = t
            .as_str()
            .ok_or_else(|| invalid(format!("`{path}.text` must be a string")))?;
        if opt_bool(p.get("thought"), &format!("{path}.thought"))? == Some(true) {
            if !t.is_empty() {
                parts.push(Part::Reasoning(ir::Reasoning {
                    text: t.to_owned(),
                    signature: None,
                    redacted: None,
                }));
            }
        } else {
            push_text(parts, t);
        }
    } else if let Some(d) = tw(p, "inlineData", "inline_data") {
        let d = as_obj(d, &format!("{path}.inlineData"))?;
        parts.push(Part::Media(Media {
            media_type: Some(
                req_str(
                    tw(d, "mimeType", "mime_type"),
                    &format!("{path}.inlineData.mimeType"),
                )?
                .to_owned(),
            ),
            // Gemini accepts both base64 alphabets (google-genai sends the URL-safe one);
            // data URLs and Anthropic sources need the standard one.
            source: MediaSource::Base64(
                req_str(d.get("data"), &format!("{path}.inlineData.data"))?
                    .replace('-', "+")
                    .replace('_', "/"),
            ),
            detail: None,
            filename: opt_str(tw(d, "displayName", "display_name"), "displayName")?
                .map(str::to_owned),
        }));
    } else if let Some(d) = tw(p, "fileData", "file_data") {
        let d = as_obj(d, &format!("{path}.fileData"))?;
        parts.push(Part::Media(Media {
            media_type: opt_str(
                tw(d, "mimeType", "mime_type"),
                &format!("{path}.fileData.mimeType"),
            )?
            .map(str::to_owned),
            source: MediaSource::Url(
                req_str(
                    tw(d, "fileUri", "file_uri"),
                    &format!("{path}.fileData.fileUri"),
                )?
                .to_owned(),
            ),
            detail: None,
            filename: None,
        }));
    } else if let Some(fc) = tw(p, "functionCall", "function_call") {
        let fpath = format!("{path}.functionCall");
        let fc = as_obj(fc, &fpath)?;
        let name = req_str(fc.get("name"), &format!("{fpath}.name"))?.to_owned();
        let id = match opt_str(fc.get("id"), &format!("{fpath}.id"))? {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => made_up_id(*calls_seen),
        };
        *calls_seen += 1;
        let args = match fc.get("args") {
            None | Some(Value::Null) => "{}".to_owned(),
            Some(a @ Value::Object(_)) => a.to_string(),
            Some(_) => return Err(invalid(format!("`{fpath}.args` must be an object"))),
        };
        let signature = opt_str(
            tw(p, "thoughtSignature", "thought_signature"),
            &format!("{path}.thoughtSignature"),
        )?
        .filter(|s| *s != SKIP_SIGNATURE)
        .map(str::to_owned);
        pending.push(Pending {
            name: name.clone(),
            id: id.clone(),
            answered: false,
        });
        parts.push(Part::ToolCall(ToolCall {
            id,
            name,
            arguments: args,
            signature,
            namespace: None,
        }));
    } else if let Some(fr) = tw(p, "functionResponse", "function_response") {
        let fpath = format!("{path}.functionResponse");
        let fr = as_obj(fr, &fpath)?;
        let name = req_str(fr.get("name"), &format!("{fpath}.name"))?;
        if opt_array(fr.get("parts"), &format!("{fpath}.parts"))?.is_some_and(|p| !p.is_empty()) {
            return Err(unsupported("functionResponse parts"));
        }
        let given = opt_str(fr.get("id"), &format!("{fpath}.id"))?.filter(|id| !id.is_empty());
        // Without an id, a response answers the first unanswered call of that name (E20).
        let slot = match given {
            Some(id) => pending.iter_mut().find(|c| c.id == id),
            None => pending.iter_mut().find(|c| !c.answered && c.name == name),
        };
        let id = match (slot, given) {
            (Some(c), _) => {
                c.answered = true;
                c.id.clone()
            }
            (None, Some(id)) => id.to_owned(),
            (None, None) => {
                return Err(invalid(format!(
                    "`{fpath}` answers no functionCall named `{name}` in the model turn before it"
                )));
            }
        };
        let response = fr.get("response").cloned().unwrap_or_else(|| json!({}));
        let (text, is_error) = response_text(response);
        let mut content = Vec::new();
        push_text(&mut content, &text);
        parts.push(Part::ToolResult(ToolResult {
            id,
            name: Some(name.to_owned()),
            content,
            is_error,
        }));
    } else if tw(p, "executableCode", "executable_code").is_some()
        || tw(p, "codeExecutionResult", "code_execution_result").is_some()
    {
        return Err(unsupported("code execution"));
    } else {
        return Err(invalid(format!("`{path}` has no known part kind")));
    }
    Ok(())
}

/// A `functionResponse.response` as result text: `{"error": …}` is an error, a lone
/// `content`/`result` string is that string, anything else is its JSON text.
fn response_text(response: Value) -> (String, bool) {
    if let Value::Object(o) = &response {
        if o.len() == 1 {
            if let Some(e) = o.get("error") {
                return (
                    e.as_str().map_or_else(|| e.to_string(), str::to_owned),
                    true,
                );
            }
            if let Some(Value::String(s)) = o.get("content").or_else(|| o.get("result")) {
                return (s.clone(), false);
            }
        }
    }
    (response.to_string(), false)
}

/// Tools Google runs itself (camelCase and snake_case).
const HOSTED: &[&str] = &[
    "googleSearch",
    "google_search",
    "googleSearchRetrieval",
    "google_search_retrieval",
    "codeExecution",
    "code_execution",
    "urlContext",
    "url_context",
    "googleMaps",
    "google_maps",
    "fileSearch",
    "file_search",
    "enterpriseWebSearch",
    "enterprise_web_search",
];

fn decode_tool(
    tools: &mut Vec<ir::Tool>,
    hosted: &mut Vec<String>,
    t: &Value,
    path: &str,
) -> Result<(), Error> {
    let t = as_obj(t, path)?;
    for (k, v) in t {
        match k.as_str() {
            h if HOSTED.contains(&h) => hosted.push(h.to_owned()),
            "functionDeclarations" | "function_declarations" => {
                let decls = opt_array(Some(v), &format!("{path}.functionDeclarations"))?;
                for (i, d) in decls.into_iter().flatten().enumerate() {
                    let dpath = format!("{path}.functionDeclarations[{i}]");
                    let d = as_obj(d, &dpath)?;
                    let parameters = match tw(d, "parametersJsonSchema", "parameters_json_schema") {
                        Some(s) => s.clone(),
                        None => d
                            .get("parameters")
                            .filter(|p| !p.is_null())
                            .map_or_else(|| json!({"type": "object"}), from_gemini),
                    };
                    tools.push(ir::Tool {
                        name: req_str(d.get("name"), &format!("{dpath}.name"))?.to_owned(),
                        description: opt_str(
                            d.get("description"),
                            &format!("{dpath}.description"),
                        )?
                        .map(str::to_owned),
                        parameters,
                        strict: None,
                    });
                }
            }
            other => return Err(unsupported(format!("`{other}` tools"))),
        }
    }
    Ok(())
}

fn decode_config(p: &mut ir::Params, gc: &Obj) -> Result<(), Error> {
    let path = |k: &str| format!("generationConfig.{k}");
    p.max_tokens = opt_u64(
        tw(gc, "maxOutputTokens", "max_output_tokens"),
        &path("maxOutputTokens"),
    )?;
    p.temperature = opt_f64(gc.get("temperature"), &path("temperature"))?;
    p.top_p = opt_f64(tw(gc, "topP", "top_p"), &path("topP"))?;
    p.top_k = opt_u64(tw(gc, "topK", "top_k"), &path("topK"))?;
    p.stop = stop_list(
        tw(gc, "stopSequences", "stop_sequences"),
        &path("stopSequences"),
    )?;
    p.seed = opt_i64(gc.get("seed"), &path("seed"))?;
    p.presence_penalty = opt_f64(
        tw(gc, "presencePenalty", "presence_penalty"),
        &path("presencePenalty"),
    )?;
    p.frequency_penalty = opt_f64(
        tw(gc, "frequencyPenalty", "frequency_penalty"),
        &path("frequencyPenalty"),
    )?;
    if opt_u64(
        tw(gc, "candidateCount", "candidate_count"),
        &path("candidateCount"),
    )?
    .is_some_and(|n| n > 1)
    {
        return Err(unsupported("candidateCount greater than 1"));
    }
    if opt_bool(
        tw(gc, "responseLogprobs", "response_logprobs"),
        &path("responseLogprobs"),
    )? == Some(true)
    {
        return Err(unsupported("logprobs"));
    }
    if let Some(m) = opt_array(
        tw(gc, "responseModalities", "response_modalities"),
        &path("responseModalities"),
    )? {
        if m.iter()
            .any(|m| m.as_str().is_none_or(|m| !m.eq_ignore_ascii_case("text")))
        {
            return Err(unsupported("responseModalities other than TEXT"));
        }
    }
    let mime = opt_str(
        tw(gc, "responseMimeType", "response_mime_type"),
        &path("responseMimeType"),
    )?;
    let json_schema = tw(gc, "responseJsonSchema", "response_json_schema")
        .cloned()
        .or_else(|| tw(gc, "responseSchema", "response_schema").map(from_gemini));
    p.response_format = match (mime, json_schema) {
        (Some("application/json"), Some(schema)) => Some(ir::ResponseFormat::JsonSchema {
            name: "response".into(),
            description: None,
            schema,
            strict: None,
        }),
        (Some("application/json"), None) => Some(ir::ResponseFormat::JsonObject),
        (None | Some("text/plain"), _) => None,
        (Some(m), _) => return Err(unsupported(format!("responseMimeType `{m}`"))),
    };
    if let Some(tc) = tw(gc, "thinkingConfig", "thinking_config") {
        let tc = as_obj(tc, &path("thinkingConfig"))?;
        match opt_i64(
            tw(tc, "thinkingBudget", "thinking_budget"),
            &path("thinkingConfig.thinkingBudget"),
        )? {
            Some(0) => p.reasoning_effort = Some("none".into()),
            Some(b) if b > 0 => p.reasoning_budget = Some(b as u64),
            _ => {}
        }
        if let Some(l) = opt_str(
            tw(tc, "thinkingLevel", "thinking_level"),
            &path("thinkingConfig.thinkingLevel"),
        )? {
            p.reasoning_effort = Some(l.to_ascii_lowercase());
        }
    }
    Ok(())
}

pub(crate) fn encode(req: &ir::Request, drops: &mut Drops) -> Result<Value, Error> {
    drops.hint(req.params.verbosity.is_some(), "verbosity")?;
    let mut out = Map::new();
    if !req.system.is_empty() {
        let parts: Vec<Value> = req.system.iter().map(|s| json!({"text": s})).collect();
        out.insert("systemInstruction".into(), json!({"parts": parts}));
    }
    // Results carry no name on the other wires: look it up from the call (E20).
    let names: HashMap<&str, &str> = req
        .messages
        .iter()
        .flat_map(|m| m.parts.iter())
        .filter_map(|p| match p {
            Part::ToolCall(c) => Some((c.id.as_str(), c.name.as_str())),
            _ => None,
        })
        .collect();
    let mut contents = Vec::new();
    for (role, parts) in merged(&req.messages) {
        let mut out_parts = Vec::new();
        let mut first_call = true;
        for p in parts {
            match p {
                Part::Text(t) | Part::Refusal(t) => out_parts.push(json!({"text": t})),
                Part::Media(m) => out_parts.push(media_part(m)?),
                Part::ToolCall(c) => {
                    let mut fc = Map::new();
                    fc.insert("name".into(), c.name.clone().into());
                    fc.insert("args".into(), args_object(c)?);
                    if !c.id.is_empty() {
                        fc.insert("id".into(), c.id.clone().into());
                    }
                    let mut part = Map::new();
                    part.insert("functionCall".into(), Value::Object(fc));
                    // Gemini 3 wants a signature on the first call of a turn (E28).
                    let sig = c
                        .signature
                        .as_deref()
                        .or(first_call.then_some(SKIP_SIGNATURE));
                    if let Some(s) = sig {
                        part.insert("thoughtSignature".into(), s.into());
                    }
                    first_call = false;
                    out_parts.push(Value::Object(part));
                }
                Part::ToolResult(r) => {
                    let name = r
                        .name
                        .as_deref()
                        .or_else(|| names.get(r.id.as_str()).copied())
                        .ok_or_else(|| {
                            invalid(format!(
                                "tool result `{}` answers no earlier tool call",
                                r.id
                            ))
                        })?;
                    let mut fr = Map::new();
                    fr.insert("name".into(), name.into());
                    if !r.id.is_empty() {
                        fr.insert("id".into(), r.id.clone().into());
                    }
                    fr.insert("response".into(), response_object(r)?);
                    out_parts.push(json!({"functionResponse": fr}));
                }
                // Only Anthropic replays reasoning (E27).
                Part::Reasoning(_) => {}
            }
        }
        if out_parts.is_empty() {
            continue;
        }
        let role = if role == Role::User { "user" } else { "model" };
        match contents.last_mut() {
            Some(Value::Object(last)) if last.get("role").and_then(Value::as_str) == Some(role) => {
                if let Some(Value::Array(ps)) = last.get_mut("parts") {
                    ps.extend(out_parts);
                }
            }
            _ => contents.push(json!({"role": role, "parts": out_parts})),
        }
    }
    out.insert("contents".into(), Value::Array(contents));
    if !req.tools.is_empty() {
        let decls: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut d = Map::new();
                d.insert("name".into(), t.name.clone().into());
                if let Some(desc) = &t.description {
                    d.insert("description".into(), desc.clone().into());
                }
                if let Some((k, v)) = gemini_parameters(&t.parameters) {
                    d.insert(k.into(), v);
                }
                Value::Object(d)
            })
            .collect();
        out.insert("tools".into(), json!([{"functionDeclarations": decls}]));
    }
    if let Some(tc) = &req.tool_choice {
        let fc = match tc {
            ir::ToolChoice::Auto => json!({"mode": "AUTO"}),
            ir::ToolChoice::Required => json!({"mode": "ANY"}),
            ir::ToolChoice::None => json!({"mode": "NONE"}),
            ir::ToolChoice::Named(n) => json!({"mode": "ANY", "allowedFunctionNames": [n]}),
        };
        out.insert("toolConfig".into(), json!({"functionCallingConfig": fc}));
    }
    let gc = encode_config(&req.params);
    if !gc.is_empty() {
        out.insert("generationConfig".into(), Value::Object(gc));
    }
    Ok(Value::Object(out))
}

fn encode_config(p: &ir::Params) -> Map<String, Value> {
    let mut gc = Map::new();
    if let Some(n) = p.max_tokens {
        gc.insert("maxOutputTokens".into(), n.into());
    }
    if let Some(t) = p.temperature {
        gc.insert("temperature".into(), num(t));
    }
    if let Some(t) = p.top_p {
        gc.insert("topP".into(), num(t));
    }
    if let Some(k) = p.top_k {
        gc.insert("topK".into(), k.into());
    }
    if !p.stop.is_empty() {
        gc.insert("stopSequences".into(), p.stop.clone().into());
    }
    if let Some(s) = p.seed {
        gc.insert("seed".into(), s.into());
    }
    if let Some(x) = p.presence_penalty {
        gc.insert("presencePenalty".into(), num(x));
    }
    if let Some(x) = p.frequency_penalty {
        gc.insert("frequencyPenalty".into(), num(x));
    }
    match &p.response_format {
        None | Some(ir::ResponseFormat::Text) => {}
        Some(ir::ResponseFormat::JsonObject) => {
            gc.insert("responseMimeType".into(), "application/json".into());
        }
        Some(ir::ResponseFormat::JsonSchema { schema, .. }) => {
            gc.insert("responseMimeType".into(), "application/json".into());
            gc.insert("responseJsonSchema".into(), schema.clone());
        }
    }
    let thinking = match (p.reasoning_budget, p.reasoning_effort.as_deref()) {
        (Some(b), _) => Some(json!({"thinkingBudget": b})),
        (None, Some("none")) => Some(json!({"thinkingBudget": 0})),
        (None, Some(e)) => {
            let level = match e {
                "minimal" => "MINIMAL",
                "low" => "LOW",
                "medium" => "MEDIUM",
                _ => "HIGH",
            };
            Some(json!({"thinkingLevel": level}))
        }
        (None, None) => None,
    };
    if let Some(t) = thinking {
        gc.insert("thinkingConfig".into(), t);
    }
    gc
}

/// A tool result as the object `functionResponse.response` must be.
fn response_object(r: &ToolResult) -> Result<Value, Error> {
    let text = result_text(r)?;
    let parsed = serde_json::from_str::<Value>(&text).ok();
    Ok(if r.is_error {
        json!({"error": parsed.unwrap_or(Value::String(text))})
    } else {
        match parsed {
            Some(v @ Value::Object(_)) => v,
            _ => json!({"content": text}),
        }
    })
}

fn media_part(m: &Media) -> Result<Value, Error> {
    match &m.source {
        MediaSource::Base64(d) => {
            let mt = m
                .media_type
                .as_deref()
                .ok_or_else(|| unsupported("base64 media without a media type"))?;
            Ok(json!({"inlineData": {"mimeType": mt, "data": d}}))
        }
        MediaSource::Url(u) => {
            let mt = m
                .media_type
                .as_deref()
                .or_else(|| infer_mime(u))
                .ok_or_else(|| unsupported("an image URL without a known media type"))?;
            Ok(json!({"fileData": {"mimeType": mt, "fileUri": u}}))
        }
    }
}
