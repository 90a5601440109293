//! JSON Schema ⇄ Gemini's OpenAPI-subset `Schema` (docs/translation-cases.md#e25): tool parameters
//! go to Gemini sanitised to the keywords it accepts, or as `parametersJsonSchema` when the schema
//! leans on references; Gemini schemas come back as plain JSON Schema.

use serde_json::{Map, Value};

/// Keywords Gemini's `Schema` accepts.
const ALLOWED: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];

/// Formats Gemini accepts (others are rejected), by type.
fn format_ok(ty: Option<&str>, format: &str) -> bool {
    match ty {
        Some("string") => matches!(format, "enum" | "date-time"),
        Some("number") => matches!(format, "float" | "double"),
        Some("integer") => matches!(format, "int32" | "int64"),
        _ => false,
    }
}

/// How a tool's parameters go to Gemini: the declaration key and its value, or `None` for a
/// function without parameters (Gemini rejects an `OBJECT` with no properties).
pub(crate) fn gemini_parameters(schema: &Value) -> Option<(&'static str, Value)> {
    let props = schema.get("properties").and_then(Value::as_object);
    let has_props = props.is_some_and(|p| !p.is_empty());
    let other_shape = schema.get("anyOf").is_some() || schema.get("oneOf").is_some();
    if !has_props && !other_shape && schema.get("$ref").is_none() {
        return None;
    }
    if needs_json_schema(schema) {
        let mut s = schema.clone();
        if let Value::Object(o) = &mut s {
            o.remove("$schema");
        }
        return Some(("parametersJsonSchema", s));
    }
    Some(("parameters", sanitize(schema)))
}

/// Whether the schema uses keywords that sanitising cannot preserve (references, `allOf`).
fn needs_json_schema(v: &Value) -> bool {
    match v {
        Value::Object(o) => o
            .iter()
            .any(|(k, v)| matches!(k.as_str(), "$ref" | "allOf" | "$defs") || needs_json_schema(v)),
        Value::Array(a) => a.iter().any(needs_json_schema),
        _ => false,
    }
}

/// `schema` reduced to Gemini's `Schema` keywords; `type:[T,"null"]` and `null` members of
/// `anyOf` become `nullable`, `const` becomes a one-value `enum`, `oneOf` becomes `anyOf`.
pub(crate) fn sanitize(schema: &Value) -> Value {
    let Value::Object(src) = schema else {
        return Value::Object(Map::new());
    };
    let mut out = Map::new();
    let mut nullable = src.get("nullable").and_then(Value::as_bool) == Some(true);
    match src.get("type") {
        Some(Value::String(t)) if t == "null" => nullable = true,
        Some(Value::String(t)) => {
            out.insert("type".into(), t.clone().into());
        }
        Some(Value::Array(ts)) => {
            let types: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
            nullable |= types.contains(&"null");
            let rest: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
            match rest.as_slice() {
                [] => {}
                [one] => {
                    out.insert("type".into(), (*one).into());
                }
                many => {
                    let any = many
                        .iter()
                        .map(|t| serde_json::json!({"type": t}))
                        .collect();
                    out.insert("anyOf".into(), Value::Array(any));
                }
            }
        }
        _ => {}
    }
    let ty = out.get("type").and_then(Value::as_str).map(str::to_owned);
    for (k, v) in src {
        match k.as_str() {
            "type" | "nullable" => {}
            "properties" => {
                if let Value::Object(props) = v {
                    let p = props
                        .iter()
                        .map(|(n, s)| (n.clone(), sanitize(s)))
                        .collect();
                    out.insert(k.clone(), Value::Object(p));
                }
            }
            "items" => {
                out.insert(k.clone(), sanitize(v));
            }
            "anyOf" | "oneOf" => {
                let Value::Array(members) = v else { continue };
                let mut any = Vec::new();
                for m in members {
                    if m.get("type").and_then(Value::as_str) == Some("null") {
                        nullable = true;
                    } else {
                        any.push(sanitize(m));
                    }
                }
                if let [one] = any.as_slice() {
                    if let Value::Object(o) = one {
                        for (k, v) in o {
                            out.entry(k.clone()).or_insert_with(|| v.clone());
                        }
                    }
                } else if !any.is_empty() {
                    out.insert("anyOf".into(), Value::Array(any));
                }
            }
            "const" => {
                out.insert("enum".into(), Value::Array(vec![v.clone()]));
            }
            "format" if v.as_str().is_some_and(|f| format_ok(ty.as_deref(), f)) => {
                out.insert(k.clone(), v.clone());
            }
            "format" => {}
            k if ALLOWED.contains(&k) => {
                out.insert(k.to_owned(), v.clone());
            }
            _ => {}
        }
    }
    // `required` may only name declared properties.
    if let (Some(Value::Array(req)), Some(Value::Object(props))) =
        (out.get("required"), out.get("properties"))
    {
        let kept: Vec<Value> = req
            .iter()
            .filter(|r| r.as_str().is_some_and(|n| props.contains_key(n)))
            .cloned()
            .collect();
        out.insert("required".into(), Value::Array(kept));
    }
    if nullable {
        out.insert("nullable".into(), true.into());
    }
    Value::Object(out)
}

/// A Gemini `Schema` as JSON Schema: `type` names lower-cased, `nullable` as a `null` type.
pub(crate) fn from_gemini(schema: &Value) -> Value {
    match schema {
        Value::Object(src) => {
            let mut out = Map::new();
            let nullable = src.get("nullable").and_then(Value::as_bool) == Some(true);
            for (k, v) in src {
                match (k.as_str(), v) {
                    ("nullable", _) => {}
                    ("type", Value::String(t)) => {
                        let t = t.to_ascii_lowercase();
                        let t = if nullable {
                            serde_json::json!([t, "null"])
                        } else {
                            t.into()
                        };
                        out.insert(k.clone(), t);
                    }
                    ("properties", Value::Object(props)) => {
                        let p = props
                            .iter()
                            .map(|(n, s)| (n.clone(), from_gemini(s)))
                            .collect();
                        out.insert(k.clone(), Value::Object(p));
                    }
                    ("items", v) => {
                        out.insert(k.clone(), from_gemini(v));
                    }
                    ("anyOf", Value::Array(a)) => {
                        out.insert(k.clone(), a.iter().map(from_gemini).collect());
                    }
                    _ => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            Value::Object(out)
        }
        v => v.clone(),
    }
}
