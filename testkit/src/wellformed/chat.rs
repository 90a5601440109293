//! Chat Completions caller streams: `data:`-only chunks, one id and model, tool-call
//! deltas, the usage chunk and the `[DONE]` / error terminal frames.

use super::{End, Ev, Expect, Problems, json_object, nonempty, s, text};

pub(super) fn chat(e: &Expect<'_>, evs: &[Ev<'_>], p: &mut Problems) {
    if evs.is_empty() {
        p.add("chat: empty stream".into());
        return;
    }
    let mut id: Option<String> = None;
    let mut tools: Vec<String> = Vec::new();
    let mut finish: Option<(usize, String)> = None;
    let mut usage_chunk: Option<usize> = None;
    let mut error_at: Option<usize> = None;
    let mut done_at: Option<usize> = None;
    for ev in evs {
        let n = ev.n;
        if done_at.is_some() {
            p.add(format!("chat event {n}: after [DONE]"));
        }
        let Some(d) = &ev.data else {
            done_at = Some(n);
            continue;
        };
        if let Some(err) = d.get("error") {
            if error_at.is_some() {
                p.add(format!("chat event {n}: a second error frame"));
            }
            error_at = Some(n);
            if !text(e, &err["message"]) || !err["type"].is_string() {
                p.add(format!(
                    "chat event {n}: error frame without message/type: {}",
                    ev.raw
                ));
            }
            continue;
        }
        if error_at.is_some() {
            p.add(format!("chat event {n}: chunk after the error frame"));
        }
        if d["object"] != "chat.completion.chunk" {
            p.add(format!(
                "chat event {n}: object is not chat.completion.chunk"
            ));
        }
        match (&id, s(&d["id"])) {
            (_, None) => p.add(format!("chat event {n}: no id")),
            (None, Some(v)) => id = Some(v.to_owned()),
            (Some(a), Some(b)) if a != b => p.add(format!("chat event {n}: id changed {a} → {b}")),
            _ => {}
        }
        if !e.model.is_empty() && s(&d["model"]) != Some(e.model) {
            p.add(format!(
                "chat event {n}: model {} is not {:?}",
                d["model"], e.model
            ));
        }
        if !d["created"].is_u64() {
            p.add(format!("chat event {n}: created is not a number"));
        }
        let Some(choices) = d["choices"].as_array() else {
            p.add(format!("chat event {n}: choices is not an array"));
            continue;
        };
        match d.get("usage") {
            None if e.include_usage => {
                p.add(format!("chat event {n}: no usage key though include_usage"))
            }
            Some(_) if !e.include_usage => p.add(format!(
                "chat event {n}: usage key though include_usage is false"
            )),
            _ => {}
        }
        if choices.is_empty() {
            let u = &d["usage"];
            if !e.include_usage {
                p.add(format!(
                    "chat event {n}: choices:[] chunk without include_usage"
                ));
            }
            if usage_chunk.is_some() {
                p.add(format!("chat event {n}: a second usage chunk"));
            }
            usage_chunk = Some(n);
            if finish.is_none() {
                p.add(format!(
                    "chat event {n}: usage chunk before the finish chunk"
                ));
            }
            for k in ["prompt_tokens", "completion_tokens", "total_tokens"] {
                if !u[k].is_u64() {
                    p.add(format!("chat event {n}: usage.{k} missing"));
                }
            }
            if let (Some(a), Some(b), Some(t)) = (
                u["prompt_tokens"].as_u64(),
                u["completion_tokens"].as_u64(),
                u["total_tokens"].as_u64(),
            ) {
                if a.saturating_add(b) != t {
                    p.add(format!("chat event {n}: total_tokens {t} ≠ {a} + {b}"));
                }
            }
            continue;
        }
        if e.include_usage && !d["usage"].is_null() {
            p.add(format!("chat event {n}: usage on a chunk with choices"));
        }
        if choices.len() != 1 || choices[0]["index"] != 0 {
            p.add(format!(
                "chat event {n}: choices must be one choice at index 0"
            ));
        }
        let c = &choices[0];
        let delta = &c["delta"];
        if !delta.is_object() {
            p.add(format!("chat event {n}: delta is not an object"));
        }
        if n == 0 && delta["role"] != "assistant" {
            p.add("chat event 0: the first delta has no role:assistant".into());
        }
        if usage_chunk.is_some() {
            p.add(format!(
                "chat event {n}: chunk with choices after the usage chunk"
            ));
        }
        let has_content = ["content", "refusal", "reasoning_content"]
            .iter()
            .any(|k| delta[*k].as_str().is_some_and(|s| !s.is_empty()))
            || delta["tool_calls"]
                .as_array()
                .is_some_and(|a| !a.is_empty());
        if let Some((f, _)) = &finish {
            if has_content || !c["finish_reason"].is_null() {
                p.add(format!(
                    "chat event {n}: content or finish after the finish chunk {f}"
                ));
            }
        }
        if let Some(calls) = delta["tool_calls"].as_array() {
            for call in calls {
                let Some(i) = call["index"].as_u64() else {
                    p.add(format!("chat event {n}: tool call without index"));
                    continue;
                };
                let first = i as usize == tools.len();
                if first {
                    if !nonempty(&call["id"])
                        || call["type"] != "function"
                        || !text(e, &call["function"]["name"])
                    {
                        p.add(format!(
                            "chat event {n}: first delta of tool {i} lacks id/type/name: {call}"
                        ));
                    }
                    tools.push(String::new());
                } else if (i as usize) < tools.len() {
                    for k in ["id", "type"] {
                        if call.get(k).is_some() {
                            p.add(format!("chat event {n}: tool {i} repeats `{k}` (E7)"));
                        }
                    }
                    if call["function"].get("name").is_some() {
                        p.add(format!("chat event {n}: tool {i} repeats `name` (E7)"));
                    }
                    if i as usize + 1 != tools.len() {
                        p.add(format!(
                            "chat event {n}: tool {i} continues after a later call began"
                        ));
                    }
                } else {
                    p.add(format!(
                        "chat event {n}: tool index {i} skips ahead of {}",
                        tools.len()
                    ));
                    continue;
                }
                match call["function"]["arguments"].as_str() {
                    Some(a) => tools[i as usize].push_str(a),
                    None if first => {}
                    None => p.add(format!(
                        "chat event {n}: tool {i} continuation without arguments"
                    )),
                }
            }
        }
        if let Some(f) = c["finish_reason"].as_str() {
            if finish.is_none() {
                finish = Some((n, f.to_owned()));
            }
            if !["stop", "length", "tool_calls", "content_filter"].contains(&f) {
                p.add(format!("chat event {n}: finish_reason {f:?}"));
            }
        } else if !c["finish_reason"].is_null() {
            p.add(format!(
                "chat event {n}: finish_reason is neither string nor null"
            ));
        }
    }
    // Arguments must be whole JSON unless the turn was cut (length) or failed.
    let truncated = finish.as_ref().is_some_and(|(_, f)| f == "length");
    if e.strict && e.end == End::Clean && !truncated {
        for (i, a) in tools.iter().enumerate() {
            if !json_object(a) {
                p.add(format!(
                    "chat: tool {i} arguments are not a JSON object: {a:?}"
                ));
            }
        }
    }
    match e.end {
        End::Clean => {
            if done_at != Some(evs.len() - 1) {
                p.add("chat: a clean stream must end with data: [DONE]".into());
            }
            if error_at.is_some() {
                p.add("chat: error frame in a clean stream".into());
            }
            match &finish {
                None => p.add("chat: no finish_reason".into()),
                Some((_, f)) if !tools.is_empty() && f == "stop" => {
                    p.add("chat: tool calls but finish_reason stop (E16)".into())
                }
                _ => {}
            }
            if e.include_usage && usage_chunk.is_none() {
                p.add("chat: include_usage but no usage chunk".into());
            }
        }
        End::Failed => match error_at {
            None => p.add("chat: a failed stream has no error frame".into()),
            Some(i) if i + 1 < evs.len() && !(i + 2 == evs.len() && done_at.is_some()) => {
                p.add("chat: events after the error frame".into())
            }
            _ => {}
        },
    }
}
