//! Responses caller streams: named events with increasing sequence numbers, the
//! output-item and content-part lifecycles, and the completed / failed terminal events.

use super::{End, Ev, Expect, Problems, json_object, nonempty, s, text};

#[derive(Default)]
struct Item {
    id: String,
    ty: String,
    /// The text (or refusal) of each content part, from its deltas.
    parts: Vec<String>,
    args: String,
    part_open: bool,
}

pub(super) fn responses(e: &Expect<'_>, evs: &[Ev<'_>], p: &mut Problems) {
    if evs.is_empty() {
        p.add("responses: empty stream".into());
        return;
    }
    let mut resp_id: Option<String> = None;
    let mut items: Vec<Item> = Vec::new();
    let mut open: Option<usize> = None;
    let mut terminal: Option<(usize, String)> = None;
    let mut bad_args: Vec<String> = Vec::new();
    for ev in evs {
        let n = ev.n;
        let ty = ev.ty().to_owned();
        if ev.data.is_none() {
            p.add(format!(
                "responses event {n}: [DONE] on the Responses wire (E34)"
            ));
            continue;
        }
        if let Some((t, name)) = &terminal {
            p.add(format!(
                "responses event {n}: {ty} after the terminal {name} ({t})"
            ));
        }
        match ev.get("sequence_number").as_u64() {
            Some(sn) if sn == n as u64 => {}
            other => p.add(format!(
                "responses event {n}: sequence_number {other:?}, expected {n}"
            )),
        }
        let response = ev.get("response");
        if response.is_object() {
            match (&resp_id, s(&response["id"])) {
                (_, None) => p.add(format!("responses event {n}: response without id")),
                (None, Some(v)) => resp_id = Some(v.to_owned()),
                (Some(a), Some(b)) if a != b => p.add(format!(
                    "responses event {n}: response id changed {a} → {b}"
                )),
                _ => {}
            }
            if !e.model.is_empty() && s(&response["model"]) != Some(e.model) {
                p.add(format!(
                    "responses event {n}: model {} is not {:?}",
                    response["model"], e.model
                ));
            }
            if response["object"] != "response" {
                p.add(format!(
                    "responses event {n}: response.object is not \"response\""
                ));
            }
            for k in ["output", "tools"] {
                if !response[k].is_array() {
                    p.add(format!("responses event {n}: response.{k} is not an array"));
                }
            }
            for k in ["created_at"] {
                if !response[k].is_u64() {
                    p.add(format!("responses event {n}: response.{k} is not a number"));
                }
            }
            for k in ["parallel_tool_calls", "tool_choice"] {
                if response.get(k).is_none() {
                    p.add(format!("responses event {n}: response.{k} missing"));
                }
            }
        }
        match (n, ty.as_str()) {
            (0, "response.created") | (1, "response.in_progress") => {
                if response["status"] != "in_progress" {
                    p.add(format!("responses event {n}: status is not in_progress"));
                }
                continue;
            }
            (0, _) => p.add(format!("responses event 0 is {ty}, not response.created")),
            (1, _) => p.add(format!(
                "responses event 1 is {ty}, not response.in_progress"
            )),
            _ => {}
        }
        let oi = ev.get("output_index").as_u64();
        let item_id = s(ev.get("item_id"));
        let cur = open.and_then(|i| items.get(i));
        // Every item event refers to the open item.
        if ty != "response.output_item.added" && (oi.is_some() || item_id.is_some()) {
            match cur {
                None => p.add(format!("responses event {n}: {ty} with no item open (E14)")),
                Some(it) => {
                    if oi.is_some() && oi != open.map(|i| i as u64) {
                        p.add(format!(
                            "responses event {n}: output_index {oi:?} is not the open item {open:?}"
                        ));
                    }
                    if item_id.is_some() && item_id != Some(it.id.as_str()) {
                        p.add(format!(
                            "responses event {n}: item_id {item_id:?} is not {:?}",
                            it.id
                        ));
                    }
                }
            }
        }
        match ty.as_str() {
            "response.output_item.added" => {
                if let Some(i) = open {
                    p.add(format!(
                        "responses event {n}: item added while item {i} is open"
                    ));
                }
                if oi != Some(items.len() as u64) {
                    p.add(format!(
                        "responses event {n}: output_index {oi:?}, expected {}",
                        items.len()
                    ));
                }
                let item = ev.get("item");
                let it = Item {
                    id: s(&item["id"]).unwrap_or_default().to_owned(),
                    ty: s(&item["type"]).unwrap_or_default().to_owned(),
                    ..Item::default()
                };
                if it.id.is_empty() {
                    p.add(format!("responses event {n}: item without id"));
                }
                match it.ty.as_str() {
                    "message" => {
                        if item["role"] != "assistant" || item["content"] != serde_json::json!([]) {
                            p.add(format!(
                                "responses event {n}: message item not assistant/empty"
                            ));
                        }
                    }
                    "function_call" => {
                        if !nonempty(&item["call_id"]) || !text(e, &item["name"]) {
                            p.add(format!(
                                "responses event {n}: function_call without call_id/name"
                            ));
                        }
                        if item["arguments"] != "" {
                            p.add(format!(
                                "responses event {n}: function_call added with arguments"
                            ));
                        }
                        if s(&item["call_id"]).is_some_and(|c| c.len() > 64) {
                            p.add(format!("responses event {n}: call_id longer than 64 (E19)"));
                        }
                    }
                    "reasoning" => {}
                    other => p.add(format!("responses event {n}: item type {other:?}")),
                }
                if item["status"] != "in_progress" && it.ty != "reasoning" {
                    p.add(format!(
                        "responses event {n}: item added with status {}",
                        item["status"]
                    ));
                }
                items.push(it);
                open = Some(items.len() - 1);
            }
            "response.content_part.added" => {
                if let Some(it) = open.and_then(|i| items.get_mut(i)) {
                    if it.ty != "message" || it.part_open {
                        p.add(format!(
                            "responses event {n}: content_part.added out of place"
                        ));
                    }
                    it.part_open = true;
                    it.parts.push(String::new());
                }
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                if !ev.get("logprobs").is_array() && ty == "response.output_text.delta" {
                    p.add(format!(
                        "responses event {n}: text delta without logprobs (E14)"
                    ));
                }
                match (open.and_then(|i| items.get_mut(i)), s(ev.get("delta"))) {
                    (Some(it), Some(d)) if it.part_open => {
                        if let Some(t) = it.parts.last_mut() {
                            t.push_str(d);
                        }
                    }
                    _ => p.add(format!("responses event {n}: text delta with no open part")),
                }
            }
            "response.output_text.done" | "response.refusal.done" => {
                if let Some(it) = open.and_then(|i| items.get(i)) {
                    let key = if ty == "response.output_text.done" {
                        "text"
                    } else {
                        "refusal"
                    };
                    if s(ev.get(key)) != it.parts.last().map(String::as_str) {
                        p.add(format!(
                            "responses event {n}: {key} is not the deltas joined"
                        ));
                    }
                }
            }
            "response.content_part.done" => {
                if let Some(it) = open.and_then(|i| items.get_mut(i)) {
                    if !it.part_open {
                        p.add(format!(
                            "responses event {n}: content_part.done with no part open"
                        ));
                    }
                    it.part_open = false;
                }
            }
            "response.function_call_arguments.delta" => {
                match (open.and_then(|i| items.get_mut(i)), s(ev.get("delta"))) {
                    (Some(it), Some(d)) if it.ty == "function_call" => it.args.push_str(d),
                    _ => p.add(format!("responses event {n}: arguments delta out of place")),
                }
            }
            "response.function_call_arguments.done" => {
                if let Some(it) = open.and_then(|i| items.get(i)) {
                    if s(ev.get("arguments")) != Some(it.args.as_str()) {
                        p.add(format!(
                            "responses event {n}: arguments are not the deltas joined"
                        ));
                    }
                    if !json_object(&it.args) {
                        bad_args.push(format!(
                            "responses event {n}: arguments are not a JSON object: {:?}",
                            it.args
                        ));
                    }
                }
            }
            "response.output_item.done" => {
                let item = ev.get("item");
                if let Some(it) = open.and_then(|i| items.get(i)) {
                    if s(&item["id"]) != Some(it.id.as_str()) || oi != open.map(|i| i as u64) {
                        p.add(format!(
                            "responses event {n}: output_item.done for another item"
                        ));
                    }
                    if it.part_open {
                        p.add(format!(
                            "responses event {n}: item done with its content part open"
                        ));
                    }
                    if it.ty == "function_call" && s(&item["arguments"]) != Some(it.args.as_str()) {
                        p.add(format!(
                            "responses event {n}: done item's arguments differ from the deltas"
                        ));
                    }
                    if it.ty == "message" {
                        let content = item["content"]
                            .as_array()
                            .map(Vec::as_slice)
                            .unwrap_or_default();
                        let done: Vec<&str> = content
                            .iter()
                            .map(|c| s(&c["text"]).or(s(&c["refusal"])).unwrap_or_default())
                            .collect();
                        if done != it.parts.iter().map(String::as_str).collect::<Vec<_>>() {
                            p.add(format!(
                                "responses event {n}: done message text differs from the deltas"
                            ));
                        }
                    }
                    if item["status"] != "completed" && it.ty != "reasoning" {
                        p.add(format!(
                            "responses event {n}: item done with status {}",
                            item["status"]
                        ));
                    }
                }
                open = None;
            }
            "response.reasoning_summary_part.added"
            | "response.reasoning_summary_part.done"
            | "response.reasoning_summary_text.delta"
            | "response.reasoning_summary_text.done"
            | "response.reasoning_text.delta"
            | "response.reasoning_text.done" => {
                if cur.is_some_and(|it| it.ty != "reasoning") {
                    p.add(format!("responses event {n}: {ty} on a non-reasoning item"));
                }
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                terminal = Some((n, ty.clone()));
                if let Some(i) = open {
                    if ty != "response.failed" {
                        p.add(format!("responses event {n}: {ty} while item {i} is open"));
                    }
                }
                let want = &ty["response.".len()..];
                if response["status"] != want {
                    p.add(format!(
                        "responses event {n}: status {} for {ty}",
                        response["status"]
                    ));
                }
                if ty == "response.failed" {
                    if !text(e, &response["error"]["message"]) {
                        p.add(format!(
                            "responses event {n}: response.failed without error.message"
                        ));
                    }
                    continue;
                }
                if ty == "response.incomplete"
                    && !nonempty(&response["incomplete_details"]["reason"])
                {
                    p.add(format!(
                        "responses event {n}: incomplete without incomplete_details.reason"
                    ));
                }
                let out = response["output"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let ids: Vec<&str> = out.iter().filter_map(|o| s(&o["id"])).collect();
                let want_ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
                if ids != want_ids {
                    p.add(format!(
                        "responses event {n}: output ids {ids:?}, items streamed {want_ids:?}"
                    ));
                }
                let u = &response["usage"];
                for k in ["input_tokens", "output_tokens", "total_tokens"] {
                    if !u[k].is_u64() {
                        p.add(format!("responses event {n}: usage.{k} missing"));
                    }
                }
                if !u["input_tokens_details"]["cached_tokens"].is_u64()
                    || !u["output_tokens_details"]["reasoning_tokens"].is_u64()
                {
                    p.add(format!("responses event {n}: usage details missing"));
                }
            }
            "error" => {
                terminal = Some((n, ty.clone()));
                if !text(e, ev.get("message")) {
                    p.add(format!("responses event {n}: error event without message"));
                }
            }
            other => p.add(format!("responses event {n}: unknown event type {other:?}")),
        }
    }
    // Arguments must be whole JSON unless the turn was cut (incomplete) or failed.
    let cut = terminal
        .as_ref()
        .is_some_and(|t| t.1 == "response.incomplete");
    if e.strict && e.end == End::Clean && !cut {
        for m in bad_args {
            p.add(m);
        }
    }
    match (e.end, terminal.as_ref().map(|t| t.1.as_str())) {
        (End::Clean, Some("response.completed" | "response.incomplete")) => {
            let called = items.iter().any(|i| i.ty == "function_call");
            let _ = called;
        }
        (End::Failed, Some("response.failed" | "error")) => {}
        (end, t) => p.add(format!("responses: {end:?} stream ends with {t:?}")),
    }
}
