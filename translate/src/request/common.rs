//! Helpers the four request codecs share: typed field access with path-naming errors, media
//! URLs, argument and result rendering, turn merging and reasoning-effort conversions.

use serde_json::{Map, Value};

use super::{Error, Policy};
use crate::ir::{self, Media, MediaSource, Part, Role};

pub(crate) type Obj = Map<String, Value>;

pub(crate) fn invalid(msg: impl Into<String>) -> Error {
    Error::Invalid(msg.into())
}

pub(crate) fn unsupported(what: impl Into<String>) -> Error {
    Error::Unsupported(what.into())
}

/// The first of `keys` present and not `null` (Gemini camelCase/snake_case twins).
pub(crate) fn get<'a>(obj: &'a Obj, keys: &[&str]) -> Option<&'a Value> {
    keys.iter()
        .filter_map(|k| obj.get(*k))
        .find(|v| !v.is_null())
}

fn null_as_none(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

pub(crate) fn opt_str<'a>(v: Option<&'a Value>, path: &str) -> Result<Option<&'a str>, Error> {
    match null_as_none(v) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(format!("`{path}` must be a string"))),
    }
}

pub(crate) fn req_str<'a>(v: Option<&'a Value>, path: &str) -> Result<&'a str, Error> {
    opt_str(v, path)?.ok_or_else(|| invalid(format!("`{path}` is required")))
}

pub(crate) fn opt_u64(v: Option<&Value>, path: &str) -> Result<Option<u64>, Error> {
    match null_as_none(v) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or_else(|| invalid(format!("`{path}` must be a non-negative integer"))),
    }
}

pub(crate) fn opt_i64(v: Option<&Value>, path: &str) -> Result<Option<i64>, Error> {
    match null_as_none(v) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| invalid(format!("`{path}` must be an integer"))),
    }
}

pub(crate) fn opt_f64(v: Option<&Value>, path: &str) -> Result<Option<f64>, Error> {
    match null_as_none(v) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| invalid(format!("`{path}` must be a number"))),
    }
}

pub(crate) fn opt_bool(v: Option<&Value>, path: &str) -> Result<Option<bool>, Error> {
    match null_as_none(v) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(format!("`{path}` must be a boolean"))),
    }
}

pub(crate) fn opt_array<'a>(
    v: Option<&'a Value>,
    path: &str,
) -> Result<Option<&'a Vec<Value>>, Error> {
    match null_as_none(v) {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(_) => Err(invalid(format!("`{path}` must be an array"))),
    }
}

pub(crate) fn opt_obj<'a>(v: Option<&'a Value>, path: &str) -> Result<Option<&'a Obj>, Error> {
    match null_as_none(v) {
        None => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(invalid(format!("`{path}` must be an object"))),
    }
}

pub(crate) fn as_obj<'a>(v: &'a Value, path: &str) -> Result<&'a Obj, Error> {
    v.as_object()
        .ok_or_else(|| invalid(format!("`{path}` must be an object")))
}

/// `stop`: a string or an array of strings.
pub(crate) fn stop_list(v: Option<&Value>, path: &str) -> Result<Vec<String>, Error> {
    match null_as_none(v) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(format!("`{path}` must hold strings")))
            })
            .collect(),
        Some(_) => Err(invalid(format!(
            "`{path}` must be a string or an array of strings"
        ))),
    }
}

/// Appends a text part unless it is empty or blank (E21).
pub(crate) fn push_text(parts: &mut Vec<Part>, text: &str) {
    if !text.trim().is_empty() {
        parts.push(Part::Text(text.to_owned()));
    }
}

/// `data:<mime>;base64,<data>` → (mime, data).
pub(crate) fn parse_data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (head, data) = rest.split_once(',')?;
    let mime = head.strip_suffix(";base64")?;
    Some((mime, data))
}

/// A media part from an OpenAI-style URL field (a data URL or a web URL).
pub(crate) fn media_from_url(
    url: &str,
    detail: Option<&str>,
    filename: Option<&str>,
    path: &str,
) -> Result<Media, Error> {
    let (media_type, source) = if url.starts_with("data:") {
        let (mime, data) = parse_data_url(url)
            .ok_or_else(|| invalid(format!("`{path}` must be a base64 data URL")))?;
        (
            (!mime.is_empty()).then(|| mime.to_owned()),
            MediaSource::Base64(data.to_owned()),
        )
    } else {
        (None, MediaSource::Url(url.to_owned()))
    };
    Ok(Media {
        media_type,
        source,
        detail: detail.map(str::to_owned),
        filename: filename.map(str::to_owned),
    })
}

/// The URL OpenAI wires take for `m`: a data URL for base64, the URL itself otherwise.
pub(crate) fn url_of(m: &Media) -> Result<String, Error> {
    match &m.source {
        MediaSource::Url(u) => Ok(u.clone()),
        MediaSource::Base64(d) => {
            let mime = m
                .media_type
                .as_deref()
                .ok_or_else(|| unsupported("base64 media without a media type"))?;
            Ok(format!("data:{mime};base64,{d}"))
        }
    }
}

/// The media type a URL's file extension makes obvious.
pub(crate) fn infer_mime(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        "wav" => "audio/wav",
        "mp3" => "audio/mp3",
        _ => return None,
    })
}

/// What kind of media a part is, from its type (URLs without one are taken as images: every
/// OpenAI URL-only part is an image).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Image,
    Pdf,
    Audio,
    Other,
}

pub(crate) fn kind(m: &Media) -> Kind {
    match m.media_type.as_deref() {
        None => Kind::Image,
        Some(t) if t.starts_with("image/") => Kind::Image,
        Some("application/pdf") => Kind::Pdf,
        Some(t) if t.starts_with("audio/") => Kind::Audio,
        Some(_) => Kind::Other,
    }
}

/// A tool call's arguments as the object Anthropic and Gemini want.
pub(crate) fn args_object(call: &ir::ToolCall) -> Result<Value, Error> {
    if call.arguments.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    match serde_json::from_str::<Value>(&call.arguments) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(invalid(format!(
            "the arguments of tool call `{}` are not a JSON object",
            call.id
        ))),
    }
}

/// The text of a tool result's content, for wires whose results are text only.
pub(crate) fn result_text(r: &ir::ToolResult) -> Result<String, Error> {
    let mut out = String::new();
    for p in &r.content {
        match p {
            Part::Text(t) | Part::Refusal(t) => {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(t);
            }
            Part::Media(_) => return Err(unsupported("media in tool results")),
            _ => {}
        }
    }
    Ok(out)
}

/// The tool-result text with an error marker for wires without an error flag.
pub(crate) fn result_text_flagged(r: &ir::ToolResult) -> Result<String, Error> {
    let t = result_text(r)?;
    Ok(if r.is_error { format!("Error: {t}") } else { t })
}

/// All system text in one string (for wires with one slot).
pub(crate) fn system_text(req: &ir::Request) -> Option<String> {
    let s = req.system.join("\n\n");
    (!s.is_empty()).then_some(s)
}

/// The turns with consecutive same-role messages merged (Anthropic and Gemini alternate).
pub(crate) fn merged(messages: &[ir::Message]) -> Vec<(Role, Vec<&Part>)> {
    let mut out: Vec<(Role, Vec<&Part>)> = Vec::new();
    for m in messages {
        match out.last_mut() {
            Some((role, parts)) if *role == m.role => parts.extend(m.parts.iter()),
            _ => out.push((m.role, m.parts.iter().collect())),
        }
    }
    out
}

/// A reasoning effort for a token budget (for wires that only take an effort).
pub(crate) fn effort_for_budget(budget: u64) -> &'static str {
    match budget {
        0 => "none",
        1..=2048 => "low",
        2049..=8192 => "medium",
        _ => "high",
    }
}

/// The effort to send OpenAI wires: the stated one, else one derived from a budget.
pub(crate) fn openai_effort(p: &ir::Params) -> Option<String> {
    p.reasoning_effort
        .clone()
        .or_else(|| p.reasoning_budget.map(|b| effort_for_budget(b).to_owned()))
}

/// `Unsupported(name)` when `present`.
pub(crate) fn reject(present: bool, name: &str) -> Result<(), Error> {
    if present {
        Err(unsupported(name))
    } else {
        Ok(())
    }
}

/// What an encoder left out of the upstream request, under the caller's [`Policy`]: sampling
/// hints the target has no spelling for and hosted tools only the caller's provider runs
/// (docs/translation-cases.md#dropped-fields). Strict refuses each instead.
#[derive(Debug)]
pub(crate) struct Drops {
    policy: Policy,
    pub(crate) names: Vec<String>,
}

impl Drops {
    pub(crate) fn new(policy: Policy) -> Drops {
        Drops {
            policy,
            names: Vec::new(),
        }
    }

    /// A sampling or length hint the target cannot express, when `present`.
    pub(crate) fn hint(&mut self, present: bool, name: &str) -> Result<(), Error> {
        if !present {
            return Ok(());
        }
        match self.policy {
            Policy::Strict => Err(unsupported(name)),
            Policy::Lenient => {
                self.names.push(name.to_owned());
                Ok(())
            }
        }
    }

    /// The hosted tools the caller offered: no translated target can run them.
    pub(crate) fn hosted(&mut self, req: &ir::Request) -> Result<(), Error> {
        for t in &req.hosted_tools {
            match self.policy {
                Policy::Strict => return Err(unsupported(format!("the hosted tool `{t}`"))),
                Policy::Lenient => self.names.push(t.clone()),
            }
        }
        Ok(())
    }

    /// The parameters neither Anthropic nor Responses has.
    pub(crate) fn openai_sampling(&mut self, p: &ir::Params) -> Result<(), Error> {
        self.hint(p.seed.is_some(), "seed")?;
        self.hint(p.presence_penalty.is_some(), "presence_penalty")?;
        self.hint(p.frequency_penalty.is_some(), "frequency_penalty")
    }
}

/// Converts a number to a JSON value (non-finite numbers become `null`).
pub(crate) fn num(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}
