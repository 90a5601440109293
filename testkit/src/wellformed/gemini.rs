//! Gemini `generateContent` caller streams, as SSE `data:` lines or one JSON array:
//! candidates, finish reasons, usage metadata and error objects.

use serde_json::Value;

use super::{End, Ev, Expect, Problems, nonempty, s, tail, text};

pub(super) fn gemini(e: &Expect<'_>, evs: &[Ev<'_>], p: &mut Problems) {
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

pub(super) fn gemini_array(e: &Expect<'_>, text: &str, p: &mut Problems) {
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
