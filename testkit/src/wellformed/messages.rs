//! Anthropic Messages caller streams: `message_start` first, contiguous content-block
//! indices with start / delta / stop lifecycles, and `message_stop` or an error event last.

use super::{End, Ev, Expect, Problems, json_object, nonempty, s, text};

pub(super) fn messages(e: &Expect<'_>, evs: &[Ev<'_>], p: &mut Problems) {
    if evs.is_empty() {
        p.add("messages: empty stream".into());
        return;
    }
    let mut started = false;
    let mut blocks: Vec<(String, String, bool)> = Vec::new(); // (type, json, signed)
    let mut open: Option<usize> = None;
    let mut delta_seen: Option<usize> = None;
    let mut stop_seen: Option<usize> = None;
    let mut error_seen: Option<usize> = None;
    let mut bad_args: Vec<String> = Vec::new();
    let mut max_tokens = false;
    for ev in evs {
        let n = ev.n;
        let ty = ev.ty().to_owned();
        if ev.data.is_none() {
            p.add(format!(
                "messages event {n}: [DONE] on the Anthropic wire (E34)"
            ));
            continue;
        }
        if stop_seen.is_some() || error_seen.is_some() {
            p.add(format!("messages event {n}: {ty} after the end"));
        }
        if ty == "ping" {
            continue;
        }
        if ty == "error" {
            error_seen = Some(n);
            let err = ev.get("error");
            if !nonempty(&err["type"]) || !text(e, &err["message"]) {
                p.add(format!("messages event {n}: error without type/message"));
            }
            continue;
        }
        if !started && ty != "message_start" {
            p.add(format!("messages event {n}: {ty} before message_start"));
        }
        let idx = ev.get("index").as_u64().map(|i| i as usize);
        match ty.as_str() {
            "message_start" => {
                if started {
                    p.add(format!("messages event {n}: a second message_start (E33)"));
                }
                started = true;
                let m = ev.get("message");
                if !nonempty(&m["id"]) || m["role"] != "assistant" || m["type"] != "message" {
                    p.add(format!(
                        "messages event {n}: message_start lacks id/role/type"
                    ));
                }
                if m["content"] != serde_json::json!([]) {
                    p.add(format!(
                        "messages event {n}: message_start content is not []"
                    ));
                }
                if !e.model.is_empty() && s(&m["model"]) != Some(e.model) {
                    p.add(format!(
                        "messages event {n}: model {} is not {:?}",
                        m["model"], e.model
                    ));
                }
                if !m["usage"]["input_tokens"].is_u64() || !m["usage"]["output_tokens"].is_u64() {
                    p.add(format!(
                        "messages event {n}: message_start usage incomplete"
                    ));
                }
            }
            "content_block_start" => {
                if let Some(o) = open {
                    p.add(format!(
                        "messages event {n}: block started while block {o} is open"
                    ));
                }
                if idx != Some(blocks.len()) {
                    p.add(format!(
                        "messages event {n}: index {idx:?}, expected {} (E13)",
                        blocks.len()
                    ));
                }
                if delta_seen.is_some() {
                    p.add(format!("messages event {n}: block after message_delta"));
                }
                let cb = ev.get("content_block");
                let bt = s(&cb["type"]).unwrap_or_default().to_owned();
                match bt.as_str() {
                    "text" => {
                        if cb["text"] != "" {
                            p.add(format!("messages event {n}: text block starts non-empty"));
                        }
                    }
                    "tool_use" => {
                        let id = s(&cb["id"]).unwrap_or_default();
                        if id.is_empty()
                            || !id
                                .bytes()
                                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
                        {
                            p.add(format!(
                                "messages event {n}: tool_use id {id:?} not ^[a-zA-Z0-9_-]+$ (E19)"
                            ));
                        }
                        if !text(e, &cb["name"]) || cb["input"] != serde_json::json!({}) {
                            p.add(format!(
                                "messages event {n}: tool_use without name or with input"
                            ));
                        }
                    }
                    "thinking" | "redacted_thinking" => {}
                    other => p.add(format!("messages event {n}: block type {other:?}")),
                }
                blocks.push((bt, String::new(), false));
                open = Some(blocks.len() - 1);
            }
            "content_block_delta" => {
                if idx.is_none() || idx != open {
                    p.add(format!(
                        "messages event {n}: delta for {idx:?}, open block {open:?}"
                    ));
                    continue;
                }
                let Some(b) = open.and_then(|i| blocks.get_mut(i)) else {
                    continue;
                };
                let d = ev.get("delta");
                let dt = s(&d["type"]).unwrap_or_default();
                let ok = match (b.0.as_str(), dt) {
                    ("text", "text_delta") => d["text"].is_string(),
                    ("tool_use", "input_json_delta") => match s(&d["partial_json"]) {
                        Some(j) => {
                            b.1.push_str(j);
                            true
                        }
                        None => false,
                    },
                    ("thinking", "thinking_delta") => d["thinking"].is_string(),
                    ("thinking", "signature_delta") => {
                        b.2 = true;
                        nonempty(&d["signature"])
                    }
                    _ => false,
                };
                if !ok {
                    p.add(format!(
                        "messages event {n}: delta {dt:?} on a {} block",
                        b.0
                    ));
                }
            }
            "content_block_stop" => {
                if idx.is_none() || idx != open {
                    p.add(format!(
                        "messages event {n}: stop for {idx:?}, open block {open:?}"
                    ));
                }
                if let Some(b) = open.and_then(|i| blocks.get(i)) {
                    if b.0 == "tool_use" && !json_object(&b.1) {
                        bad_args.push(format!(
                            "messages event {n}: tool input is not a JSON object: {:?}",
                            b.1
                        ));
                    }
                    if b.0 == "thinking" && !b.2 {
                        p.add(format!(
                            "messages event {n}: thinking block without signature (E27)"
                        ));
                    }
                }
                open = None;
            }
            "message_delta" => {
                if let Some(o) = open {
                    p.add(format!(
                        "messages event {n}: message_delta while block {o} is open"
                    ));
                }
                if delta_seen.is_some() {
                    p.add(format!("messages event {n}: a second message_delta"));
                }
                delta_seen = Some(n);
                let r = s(&ev.get("delta")["stop_reason"]).unwrap_or_default();
                max_tokens = r == "max_tokens";
                if ![
                    "end_turn",
                    "max_tokens",
                    "stop_sequence",
                    "tool_use",
                    "pause_turn",
                    "refusal",
                ]
                .contains(&r)
                {
                    p.add(format!("messages event {n}: stop_reason {r:?}"));
                }
                let called = blocks.iter().any(|b| b.0 == "tool_use");
                if called && ["end_turn", "stop_sequence"].contains(&r) {
                    p.add(format!(
                        "messages event {n}: tool_use blocks but stop_reason {r} (E16)"
                    ));
                }
                if !ev.get("usage")["output_tokens"].is_u64() {
                    p.add(format!(
                        "messages event {n}: message_delta without usage.output_tokens"
                    ));
                }
            }
            "message_stop" => {
                if delta_seen.is_none() {
                    p.add(format!(
                        "messages event {n}: message_stop without message_delta"
                    ));
                }
                stop_seen = Some(n);
            }
            other => p.add(format!("messages event {n}: unknown event {other:?}")),
        }
    }
    // Tool input must be whole JSON unless the turn was cut (max_tokens) or failed.
    if e.strict && e.end == End::Clean && !max_tokens {
        for m in bad_args {
            p.add(m);
        }
    }
    match e.end {
        End::Clean if stop_seen.is_none() => {
            p.add("messages: clean stream without message_stop".into())
        }
        End::Clean if error_seen.is_some() => p.add("messages: clean stream with an error".into()),
        End::Failed if error_seen.is_none() => {
            p.add("messages: failed stream without event: error".into())
        }
        _ => {}
    }
}
