//! The `translate` fuzz property: any upstream event sequence, for any (upstream, caller)
//! pair, translates without a panic into a stream its caller's SDK accepts.
//!
//! The input bytes are decoded "arbitrary-style" by [`Input`]: a header byte picks the pair and
//! the context, then each op byte picks a realistic event template of the upstream protocol
//! (with fuzzed strings, numbers and choices), a raw event, a relay `fail()`, or a chunk cut.
//! The events go through `sse::Splitter` + `Translator` as the relay drives them
//! ([`crate::drive`]), and the caller's bytes are held to [`crate::wellformed`].
//!
//! Used by `fuzz/fuzz_targets/translate.rs` and, over the seed corpus, by translate's
//! integration tests (`translate/tests/it/wellformed.rs`).

use bytes::Bytes;
use serde_json::{Value, json};
use translate::Protocol;

use crate::drive::{self, Driver, Outcome, PROTOCOLS};
use crate::wellformed::{self, End, Expect};

/// Op codes (the low nibble of an op byte; templates take the rest).
pub const OP_RAW: u8 = 12;
pub const OP_RAW_DATA: u8 = 13;
pub const OP_FAIL: u8 = 14;
pub const OP_CUT: u8 = 15;

/// Checks one fuzz input; returns what is wrong (empty when fine). Panics propagate.
pub fn check(data: &[u8]) -> Vec<String> {
    let mut r = Input { d: data, i: 0 };
    let h = r.byte();
    let upstream = PROTOCOLS[(h & 3) as usize].0;
    let caller = PROTOCOLS[((h >> 2) & 3) as usize].0;
    let include_usage = h & 16 != 0;
    let json_array = h & 32 != 0;
    let crlf = h & 64 != 0;
    let ctx = drive::ctx(include_usage, json_array);
    let mut d = Driver::new(upstream, caller, &ctx);
    let mut pending: Vec<u8> = Vec::new();
    let mut events = 0;
    while !r.done() && events < 200 {
        events += 1;
        let op = r.byte();
        match op & 15 {
            OP_RAW => {
                let n = r.u16() as usize;
                pending.extend_from_slice(r.take(n));
            }
            OP_RAW_DATA => {
                let n = r.byte() as usize;
                pending.extend_from_slice(b"data: ");
                pending.extend_from_slice(r.take(n));
                pending.extend_from_slice(b"\n\n");
            }
            OP_FAIL => {
                flush(&mut d, &mut pending);
                d.fail("the fuzzer cut the stream");
            }
            OP_CUT => {
                let keep = (r.byte() as usize).min(pending.len());
                let rest = pending.split_off(keep);
                flush(&mut d, &mut pending);
                pending = rest;
            }
            t => {
                let ev = template(upstream, t ^ (op >> 4), &mut r);
                let mut text = ev.into_bytes();
                if crlf {
                    text = text
                        .iter()
                        .flat_map(|&b| {
                            if b == b'\n' {
                                vec![b'\r', b'\n']
                            } else {
                                vec![b]
                            }
                        })
                        .collect();
                }
                pending.extend_from_slice(&text);
            }
        }
    }
    flush(&mut d, &mut pending);
    let run = d.finish();
    let mut problems = run.problems.clone();
    let end = match &run.outcome {
        Outcome::Done { failed } => Some(if *failed { End::Failed } else { End::Clean }),
        Outcome::ErrorBeforeCommit(_) | Outcome::MalformedBeforeCommit | Outcome::TooLarge => {
            if run.committed && run.outcome != Outcome::TooLarge {
                problems.push(format!("{:?} though committed", run.outcome));
            }
            None
        }
        Outcome::Unfinished => {
            problems.push("the translator did not finish at end of input".into());
            None
        }
    };
    if let Some(end) = end {
        problems.extend(wellformed::check(
            &Expect {
                caller,
                end,
                model: ctx.model,
                include_usage,
                json_array,
                strict: false,
            },
            &run.out,
        ));
    }
    if !problems.is_empty() {
        problems.insert(
            0,
            format!(
                "{} → {} (include_usage {include_usage}, json_array {json_array}), outcome {:?}, output:\n{}",
                drive::name(upstream),
                drive::name(caller),
                run.outcome,
                String::from_utf8_lossy(&run.out)
            ),
        );
    }
    problems
}

fn flush(d: &mut Driver, pending: &mut Vec<u8>) {
    if !pending.is_empty() {
        d.push(Bytes::from(std::mem::take(pending)));
    }
}

/// Reads fuzz bytes; past the end everything is zero.
#[derive(Debug)]
pub struct Input<'a> {
    d: &'a [u8],
    i: usize,
}

impl Input<'_> {
    fn done(&self) -> bool {
        self.i >= self.d.len()
    }
    fn byte(&mut self) -> u8 {
        let b = self.d.get(self.i).copied().unwrap_or(0);
        self.i += 1;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let start = self.i.min(self.d.len());
        let end = (self.i + n).min(self.d.len());
        self.i += n;
        &self.d[start..end]
    }
    fn pick<'s>(&mut self, from: &[&'s str]) -> &'s str {
        from[self.byte() as usize % from.len()]
    }
    fn num(&mut self) -> u64 {
        match self.byte() {
            0..=199 => u64::from(self.byte()),
            200..=229 => u64::from(self.u16()),
            230..=249 => u64::MAX - u64::from(self.byte()),
            _ => u64::from(u32::MAX) + u64::from(self.byte()),
        }
    }
    /// A string: often from a small pool (so ids match up), else fuzzed text.
    fn s(&mut self) -> String {
        const POOL: &[&str] = &[
            "",
            "a",
            "Hel",
            "lo!",
            "msg_1",
            "fc_1",
            "call_1",
            "toolu_1",
            "rs_1",
            "get_weather",
            "{\"location\":",
            "\"Paris\"}",
            "{}",
            "{\"a\":1}",
            "[",
            "\"",
            "\\",
            "\n",
            "\r\n",
            "\u{0}",
            "é",
            "😀",
            "\u{2028}",
            "functions.Bash:0",
            "data: [DONE]",
            "\n\nevent: x",
        ];
        let b = self.byte();
        if b < 160 {
            return POOL[b as usize % POOL.len()].to_owned();
        }
        let n = (b - 160) as usize;
        String::from_utf8_lossy(self.take(n)).into_owned()
    }
}

fn data(v: Value) -> String {
    format!("data: {v}\n\n")
}

fn named(v: Value, r: &mut Input<'_>) -> String {
    let ty = v["type"].as_str().unwrap_or_default().to_owned();
    match r.byte() % 16 {
        0 => data(v),
        1 => format!("event: {}\ndata: {v}\n\n", r.s()),
        _ => format!("event: {ty}\ndata: {v}\n\n"),
    }
}

/// One upstream event from template `t`.
fn template(upstream: Protocol, t: u8, r: &mut Input<'_>) -> String {
    match upstream {
        Protocol::ChatCompletions => chat(t, r),
        Protocol::Responses => responses(t, r),
        Protocol::Messages => messages(t, r),
        Protocol::GenerateContent => gemini(t, r),
    }
}

fn chat(t: u8, r: &mut Input<'_>) -> String {
    let chunk = |r: &mut Input<'_>, delta: Value, finish: Value| {
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
            "usage": if r.byte() % 4 == 0 { json!({"prompt_tokens": r.num(), "completion_tokens": r.num()}) } else { Value::Null }})
    };
    let v = match t % 12 {
        0 => chunk(r, json!({"role": "assistant", "content": ""}), Value::Null),
        1 => {
            let d = json!({"content": r.s()});
            chunk(r, d, Value::Null)
        }
        2 => {
            let d = json!({"reasoning_content": r.s()});
            chunk(r, d, Value::Null)
        }
        3 => {
            let call = json!({"index": r.byte() % 3, "id": r.s(), "type": "function",
                "function": {"name": r.s(), "arguments": r.s()}});
            chunk(r, json!({"tool_calls": [call]}), Value::Null)
        }
        4 => {
            let call = json!({"index": r.byte() % 3, "function": {"arguments": r.s()}});
            chunk(r, json!({"tool_calls": [call]}), Value::Null)
        }
        5 => {
            // No index (Gemini compat), empty name (Kimi), or an empty list (vLLM).
            let calls = match r.byte() % 3 {
                0 => json!([{"id": r.s(), "function": {"name": r.s(), "arguments": r.s()}}]),
                1 => json!([{"index": 0, "function": {"name": "", "arguments": r.s()}}]),
                _ => json!([]),
            };
            let d = json!({"tool_calls": calls, "content": r.s()});
            chunk(r, d, Value::Null)
        }
        6 => {
            let f = r.pick(&[
                "stop",
                "length",
                "tool_calls",
                "content_filter",
                "function_call",
                "x",
            ]);
            let delta = if r.byte() % 2 == 0 {
                json!({})
            } else {
                json!({"content": r.s()})
            };
            chunk(r, delta, json!(f))
        }
        7 => {
            json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": if r.byte() % 3 == 0 { Value::Null } else { json!([]) },
            "usage": {"prompt_tokens": r.num(), "completion_tokens": r.num(), "total_tokens": r.num(),
                "prompt_tokens_details": {"cached_tokens": r.num()},
                "completion_tokens_details": {"reasoning_tokens": r.num()}}})
        }
        8 => return "data: [DONE]\n\n".to_owned(),
        9 => {
            json!({"error": {"message": r.s(), "type": r.pick(&["server_error", "rate_limit_error", "x"]), "code": null}})
        }
        10 => {
            let d = json!({"refusal": r.s()});
            chunk(r, d, Value::Null)
        }
        _ => return format!(": {}\n\n", r.s().replace(['\n', '\r'], " ")),
    };
    data(v)
}

fn snapshot(r: &mut Input<'_>, status: &str, output: Value) -> Value {
    json!({"id": "resp_1", "object": "response", "created_at": 1, "status": status, "model": "m",
        "output": output, "incomplete_details": if status == "incomplete" {
            json!({"reason": r.pick(&["max_output_tokens", "content_filter", "x"])}) } else { Value::Null },
        "error": if status == "failed" { json!({"code": "server_error", "message": r.s()}) } else { Value::Null },
        "usage": {"input_tokens": r.num(), "output_tokens": r.num(), "total_tokens": r.num(),
            "input_tokens_details": {"cached_tokens": r.num()}, "output_tokens_details": {"reasoning_tokens": r.num()}}})
}

fn responses(t: u8, r: &mut Input<'_>) -> String {
    let seq = u64::from(r.byte());
    let v = match t % 12 {
        0 => {
            let ty = r.pick(&["response.created", "response.in_progress"]);
            json!({"type": ty, "sequence_number": seq, "response": snapshot(r, "in_progress", json!([]))})
        }
        1 => {
            let item = match r.byte() % 3 {
                0 => {
                    json!({"id": r.s(), "type": "message", "status": "in_progress", "role": "assistant", "content": []})
                }
                1 => {
                    json!({"id": r.s(), "type": "function_call", "status": "in_progress", "call_id": r.s(), "name": r.s(), "arguments": ""})
                }
                _ => json!({"id": r.s(), "type": "reasoning", "summary": []}),
            };
            json!({"type": "response.output_item.added", "sequence_number": seq, "output_index": r.byte() % 3, "item": item})
        }
        2 => {
            json!({"type": "response.content_part.added", "sequence_number": seq, "item_id": r.s(), "output_index": 0, "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []}})
        }
        3 => {
            let ty = r.pick(&[
                "response.output_text.delta",
                "response.refusal.delta",
                "response.reasoning_summary_text.delta",
                "response.reasoning_text.delta",
            ]);
            json!({"type": ty, "sequence_number": seq, "item_id": r.s(), "output_index": 0, "content_index": 0, "summary_index": 0, "delta": r.s()})
        }
        4 => {
            json!({"type": "response.function_call_arguments.delta", "sequence_number": seq, "item_id": r.s(), "output_index": r.byte() % 3, "delta": r.s()})
        }
        5 => {
            json!({"type": "response.function_call_arguments.done", "sequence_number": seq, "item_id": r.s(), "output_index": 0, "arguments": r.s()})
        }
        6 => {
            let item = match r.byte() % 2 {
                0 => {
                    json!({"id": r.s(), "type": "message", "status": "completed", "role": "assistant", "content": [{"type": "output_text", "text": r.s()}]})
                }
                _ => {
                    json!({"id": r.s(), "type": "function_call", "status": "completed", "call_id": r.s(), "name": r.s(), "arguments": r.s()})
                }
            };
            json!({"type": "response.output_item.done", "sequence_number": seq, "output_index": r.byte() % 3, "item": item})
        }
        7 => {
            let ty = r.pick(&[
                "response.output_text.done",
                "response.content_part.done",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.done",
            ]);
            json!({"type": ty, "sequence_number": seq, "item_id": r.s(), "output_index": 0, "content_index": 0, "text": r.s()})
        }
        8 => {
            let (ty, st) = match r.byte() % 3 {
                0 => ("response.completed", "completed"),
                1 => ("response.incomplete", "incomplete"),
                _ => ("response.failed", "failed"),
            };
            let output = if r.byte() % 2 == 0 {
                json!([])
            } else {
                json!([{"id": r.s(), "type": "function_call", "call_id": r.s(), "name": r.s(), "arguments": r.s()}])
            };
            json!({"type": ty, "sequence_number": seq, "response": snapshot(r, st, output)})
        }
        9 => {
            json!({"type": "error", "sequence_number": seq, "code": r.pick(&["server_error", "rate_limit_exceeded", "x"]), "message": r.s(), "param": null})
        }
        10 => json!({"type": r.s(), "sequence_number": seq}),
        _ => return format!(": {}\n\n", r.s().replace(['\n', '\r'], " ")),
    };
    named(v, r)
}

fn messages(t: u8, r: &mut Input<'_>) -> String {
    let v = match t % 12 {
        0 => {
            json!({"type": "message_start", "message": {"id": r.s(), "type": "message", "role": "assistant", "model": "m", "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": r.num(), "cache_creation_input_tokens": r.num(),
            "cache_read_input_tokens": r.num(), "output_tokens": r.num()}}})
        }
        1 => {
            let block = match r.byte() % 4 {
                0 => json!({"type": "text", "text": ""}),
                1 => json!({"type": "tool_use", "id": r.s(), "name": r.s(), "input": {}}),
                2 => json!({"type": "thinking", "thinking": ""}),
                _ => json!({"type": "redacted_thinking", "data": r.s()}),
            };
            json!({"type": "content_block_start", "index": r.byte() % 4, "content_block": block})
        }
        2 | 3 => {
            let delta = match r.byte() % 4 {
                0 => json!({"type": "text_delta", "text": r.s()}),
                1 => json!({"type": "input_json_delta", "partial_json": r.s()}),
                2 => json!({"type": "thinking_delta", "thinking": r.s()}),
                _ => json!({"type": "signature_delta", "signature": r.s()}),
            };
            json!({"type": "content_block_delta", "index": r.byte() % 4, "delta": delta})
        }
        4 => json!({"type": "content_block_stop", "index": r.byte() % 4}),
        5 => {
            let reason = r.pick(&[
                "end_turn",
                "max_tokens",
                "tool_use",
                "stop_sequence",
                "refusal",
                "pause_turn",
                "model_context_window_exceeded",
                "x",
            ]);
            json!({"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": null},
                "usage": {"output_tokens": r.num(), "input_tokens": r.num(), "cache_read_input_tokens": r.num()}})
        }
        6 => json!({"type": "message_stop"}),
        7 => json!({"type": "ping"}),
        8 => {
            json!({"type": "error", "error": {"type": r.pick(&["overloaded_error", "api_error", "x"]), "message": r.s()}})
        }
        9 => json!({"type": r.s()}),
        10 => {
            json!({"type": "content_block_start", "index": r.byte() % 4, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}})
        }
        _ => return format!(": {}\n\n", r.s().replace(['\n', '\r'], " ")),
    };
    named(v, r)
}

fn gemini(t: u8, r: &mut Input<'_>) -> String {
    let part = |r: &mut Input<'_>| match r.byte() % 5 {
        0 | 1 => json!({"text": r.s()}),
        2 => json!({"text": r.s(), "thought": true}),
        3 => json!({"functionCall": {"name": r.s(), "args": {"location": r.s()}}}),
        _ => {
            json!({"functionCall": {"id": r.s(), "name": r.s(), "args": {}}, "thoughtSignature": r.s()})
        }
    };
    let v = match t % 6 {
        0..=2 => {
            let n = r.byte() % 3;
            let parts: Vec<Value> = (0..n).map(|_| part(r)).collect();
            let mut cand = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
            if r.byte() % 3 == 0 {
                cand["finishReason"] = json!(r.pick(&[
                    "STOP",
                    "MAX_TOKENS",
                    "SAFETY",
                    "OTHER",
                    "MALFORMED_FUNCTION_CALL",
                    "x"
                ]));
            }
            json!({"candidates": [cand], "usageMetadata": {"promptTokenCount": r.num(), "candidatesTokenCount": r.num(),
                "thoughtsTokenCount": r.num(), "cachedContentTokenCount": r.num(), "totalTokenCount": r.num()},
                "modelVersion": "m", "responseId": r.s()})
        }
        3 => {
            json!({"promptFeedback": {"blockReason": r.pick(&["SAFETY", "OTHER"])}, "usageMetadata": {"promptTokenCount": r.num()}})
        }
        4 => {
            json!({"error": {"code": r.num(), "message": r.s(), "status": r.pick(&["INTERNAL", "RESOURCE_EXHAUSTED", "x"])}})
        }
        _ => json!({"candidates": r.s()}),
    };
    data(v)
}
