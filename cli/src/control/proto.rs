//! The control protocol: one JSON object per line each way, versioned by `"v"`.
//!
//! Requests: `{"v":1,"op":"status"}`, `{"v":1,"op":"reload","env":{"OPENAI_API_KEY":"…"}}`,
//! `{"v":1,"op":"stop"}`, `{"v":1,"op":"drain","timeout_ms":30000}`,
//! `{"v":1,"op":"route","model":"smart","inbound":"responses","json":false}`.
//! Replies: `{"v":1,"ok":true,…}` or `{"v":1,"ok":false,"error":"…","hint":"…"}`; a failed
//! reload also carries `diagnostics` (rendered for humans) and `report` (the JSON report).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Value, json};

/// The protocol version this build speaks.
pub(crate) const VERSION: u64 = 1;

/// Longest request line accepted (a reload carries a handful of keys).
pub(crate) const MAX_LINE: usize = 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Request {
    Status {},
    Reload {
        #[serde(default)]
        env: BTreeMap<String, String>,
    },
    Stop {},
    Drain {
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
    Route {
        model: String,
        #[serde(default)]
        inbound: Option<String>,
        #[serde(default)]
        json: bool,
    },
}

/// Parses one request line; `Err` is the error reply to send.
pub(crate) fn parse(line: &str) -> Result<Request, Value> {
    let mut value: Value = serde_json::from_str(line)
        .map_err(|e| error(&format!("malformed request: {e}"), Some(HINT)))?;
    match value.get("v").and_then(Value::as_u64) {
        Some(VERSION) => {}
        Some(v) => {
            return Err(error(
                &format!("unsupported protocol version {v} (this daemon speaks {VERSION})"),
                Some("use a `bitrouter` binary of the same version as the daemon"),
            ));
        }
        None => return Err(error("malformed request: `v` is missing", Some(HINT))),
    }
    if let Some(o) = value.as_object_mut() {
        o.remove("v");
    }
    serde_json::from_value(value).map_err(|e| error(&format!("malformed request: {e}"), Some(HINT)))
}

const HINT: &str = r#"send one JSON object per line, e.g. {"v":1,"op":"status"}"#;

pub(crate) fn ok(mut fields: Value) -> Value {
    if let Some(o) = fields.as_object_mut() {
        o.insert("v".to_owned(), json!(VERSION));
        o.insert("ok".to_owned(), json!(true));
    }
    fields
}

pub(crate) fn error(message: &str, hint: Option<&str>) -> Value {
    json!({ "v": VERSION, "ok": false, "error": message, "hint": hint })
}

/// The variable names `${NAME}` / `${NAME:-default}` mentions in `text`.
pub(crate) fn referenced_vars(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let tail = &rest[i + 2..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        if end > 0 && tail[end..].starts_with(['}', ':']) {
            out.insert(tail[..end].to_owned());
        }
        rest = tail;
    }
    out
}

/// What `reload` forwards: the variables the configuration or the built-in registry refer to
/// that are set in this process's environment.
pub(crate) fn forwarded_env(config_text: Option<&str>) -> BTreeMap<String, String> {
    let mut names = referenced_vars(compiler::registry::TEXT);
    if let Some(t) = config_text {
        names.extend(referenced_vars(t));
    }
    names
        .into_iter()
        .filter_map(|n| std::env::var(&n).ok().map(|v| (n, v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references() {
        let v = referenced_vars("a: ${A_KEY}\nb: ${B:-x} ${ bad} ${C");
        assert_eq!(
            v.into_iter().collect::<Vec<_>>(),
            ["A_KEY", "B"].map(String::from)
        );
        assert!(referenced_vars(compiler::registry::TEXT).contains("OPENAI_API_KEY"));
    }

    #[test]
    fn malformed_requests_are_errors() {
        for line in [
            "",
            "nope",
            "{}",
            r#"{"op":"status"}"#,
            r#"{"v":2,"op":"status"}"#,
            r#"{"v":1,"op":"explode"}"#,
            r#"{"v":1,"op":"route"}"#,
            r#"{"v":1,"op":"status","extra":1}"#,
        ] {
            let e = parse(line).unwrap_err();
            assert_eq!(e["ok"], false, "{line}");
            assert!(e["error"].is_string(), "{line}");
        }
        assert!(matches!(
            parse(r#"{"v":1,"op":"reload","env":{"K":"v"}}"#),
            Ok(Request::Reload { env, .. }) if env["K"] == "v"
        ));
    }
}
