//! Realistic upstream streams for the translation benchmarks, one per protocol: the shapes of
//! the reference vectors ([`crate::vectors`]) stretched to `n_text` text deltas of 20 bytes and
//! one `get_weather` call whose arguments arrive in `n_args` fragments, then the protocol's end.
//!
//! Used by `translate/benches/stream.rs` (criterion) and by the allocation counts in `benches`
//! (`benches::alloc_per_event`).

use std::fmt::Write as _;
use std::ops::Range;

use translate::Protocol;
use translate::stream::Ctx;

/// The four protocols, in the order of the report tables.
pub const PROTOCOLS: [Protocol; 4] = [
    Protocol::ChatCompletions,
    Protocol::Responses,
    Protocol::Messages,
    Protocol::GenerateContent,
];

/// The 12 cross (upstream, caller) pairs.
pub fn pairs() -> impl Iterator<Item = (Protocol, Protocol)> {
    PROTOCOLS.into_iter().flat_map(|up| {
        PROTOCOLS
            .into_iter()
            .filter(move |&caller| caller != up)
            .map(move |caller| (up, caller))
    })
}

/// A short name for tables and benchmark ids.
pub fn short(p: Protocol) -> &'static str {
    match p {
        Protocol::ChatCompletions => "chat",
        Protocol::Responses => "responses",
        Protocol::Messages => "messages",
        Protocol::GenerateContent => "gemini",
    }
}

/// The call's context as the data plane builds it for a streaming caller.
pub fn ctx() -> Ctx<'static> {
    Ctx {
        model: "bench-model",
        include_usage: true,
        json_array: false,
        created: 1_767_225_600,
        seed: 7,
    }
}

/// One upstream stream: its SSE events back to back, and where the interesting ones are.
#[derive(Debug)]
pub struct Stream {
    pub protocol: Protocol,
    body: Vec<u8>,
    ends: Vec<usize>,
    /// The text-delta events (the first one commits the stream).
    pub text: Range<usize>,
    /// The events between the last text delta and the first argument fragment (closing the
    /// text block, starting the tool call, an empty first fragment).
    pub tool_start: Range<usize>,
    /// The argument-fragment events (empty for Gemini, whose calls arrive whole inside
    /// `tool_start`).
    pub args: Range<usize>,
    /// Whether the translator needs `eof()` to finish (Gemini ends with the body).
    pub ends_at_eof: bool,
}

impl Stream {
    /// The whole upstream body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Event `i`, raw (terminating blank line included).
    pub fn event(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.body[start..self.ends[i]]
    }

    pub fn events(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(|i| self.event(i))
    }

    /// Total bytes of the events in `r`.
    pub fn bytes(&self, r: Range<usize>) -> usize {
        r.map(|i| self.event(i).len()).sum()
    }

    fn push(&mut self, name: Option<&str>, data: &str) {
        if let Some(name) = name {
            self.body.extend_from_slice(b"event: ");
            self.body.extend_from_slice(name.as_bytes());
            self.body.push(b'\n');
        }
        self.body.extend_from_slice(b"data: ");
        self.body.extend_from_slice(data.as_bytes());
        self.body.extend_from_slice(b"\n\n");
        self.ends.push(self.body.len());
    }
}

/// Text delta `i`: 20 bytes, every eighth ending in a newline (escaped on the wire).
pub fn text_delta(i: usize) -> String {
    if i % 8 == 7 {
        format!("tok{i:05} lorem ips\n")
    } else {
        format!("tok{i:05} lorem ipsum")
    }
}

/// The call's arguments: a JSON object of about `10 * n_args` bytes (at least one field).
pub fn arguments(n_args: usize) -> String {
    let mut s = String::from(r#"{"location":"Paris","unit":"celsius","days":["#);
    let mut d = 0;
    while s.len() + 2 < 10 * n_args.max(1) || d == 0 {
        if d > 0 {
            s.push(',');
        }
        let _ = write!(s, r#""day {d:03}""#);
        d += 1;
    }
    s.push_str("]}");
    s
}

/// `args` cut into `n` fragments of nearly equal length (ASCII, so any cut is a char boundary).
pub fn fragments(args: &str, n: usize) -> Vec<&str> {
    let n = n.max(1);
    let len = args.len();
    (0..n)
        .map(|k| &args[k * len / n..(k + 1) * len / n])
        .filter(|f| !f.is_empty())
        .collect()
}

/// A JSON string literal.
fn q(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len() + 2);
    translate::json::push_json_str(&mut out, s);
    String::from_utf8(out).unwrap_or_default()
}

/// The upstream stream of `protocol` with `n_text` text deltas and `n_args` argument fragments.
pub fn stream(protocol: Protocol, n_text: usize, n_args: usize) -> Stream {
    let mut s = Stream {
        protocol,
        body: Vec::with_capacity(n_text * 300 + n_args * 300 + 8192),
        ends: Vec::new(),
        text: 0..0,
        tool_start: 0..0,
        args: 0..0,
        ends_at_eof: protocol == Protocol::GenerateContent,
    };
    let args = arguments(n_args);
    let frags = fragments(&args, n_args);
    let texts: Vec<String> = (0..n_text).map(text_delta).collect();
    match protocol {
        Protocol::ChatCompletions => chat(&mut s, &texts, &frags),
        Protocol::Responses => responses(&mut s, &texts, &args, &frags),
        Protocol::Messages => messages(&mut s, &texts, &frags),
        Protocol::GenerateContent => gemini(&mut s, &texts, &args),
    }
    s
}

/// Chat Completions as the data plane asks for it (`include_usage`, so `"usage":null` on every
/// chunk).
fn chat(s: &mut Stream, texts: &[String], frags: &[&str]) {
    let head = r#"{"id":"chatcmpl-bench1","object":"chat.completion.chunk","created":1767225600,"model":"gpt-4.1","system_fingerprint":"fp_test","choices":[{"index":0,"delta":"#;
    let tail = r#","logprobs":null,"finish_reason":null}],"usage":null}"#;
    s.push(
        None,
        &format!(r#"{head}{{"role":"assistant","content":"","refusal":null}}{tail}"#),
    );
    let t0 = s.len();
    for t in texts {
        s.push(None, &format!(r#"{head}{{"content":{}}}{tail}"#, q(t)));
    }
    s.text = t0..s.len();
    s.push(
        None,
        &format!(
            r#"{head}{{"tool_calls":[{{"index":0,"id":"call_bench1","type":"function","function":{{"name":"get_weather","arguments":""}}}}]}}{tail}"#
        ),
    );
    s.tool_start = s.text.end..s.len();
    for f in frags {
        s.push(
            None,
            &format!(
                r#"{head}{{"tool_calls":[{{"index":0,"function":{{"arguments":{}}}}}]}}{tail}"#,
                q(f)
            ),
        );
    }
    s.args = s.tool_start.end..s.len();
    s.push(
        None,
        r#"{"id":"chatcmpl-bench1","object":"chat.completion.chunk","created":1767225600,"model":"gpt-4.1","system_fingerprint":"fp_test","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}"#,
    );
    s.push(
        None,
        r#"{"id":"chatcmpl-bench1","object":"chat.completion.chunk","created":1767225600,"model":"gpt-4.1","system_fingerprint":"fp_test","choices":[],"usage":{"prompt_tokens":61,"completion_tokens":1016,"total_tokens":1077,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}"#,
    );
    s.push(None, "[DONE]");
}

const RESPONSES_SETTINGS: &str = r#""parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[{"type":"function","name":"get_weather","description":"Get the current weather for a city.","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"],"additionalProperties":false},"strict":true}],"top_p":1.0,"truncation":"disabled""#;

fn response(status: &str, output: &str, usage: &str) -> String {
    format!(
        r#"{{"id":"resp_bench1","object":"response","created_at":1767225600,"status":"{status}","error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"gpt-4.1","output":{output},{RESPONSES_SETTINGS},"usage":{usage},"user":null,"metadata":{{}}}}"#
    )
}

fn responses(s: &mut Stream, texts: &[String], args: &str, frags: &[&str]) {
    let mut seq = 0u64;
    let mut ev = |s: &mut Stream, kind: &str, rest: &str| {
        s.push(
            Some(kind),
            &format!(r#"{{"type":"{kind}","sequence_number":{seq},{rest}}}"#),
        );
        seq += 1;
    };
    let empty = response("in_progress", "[]", "null");
    ev(s, "response.created", &format!(r#""response":{empty}"#));
    ev(s, "response.in_progress", &format!(r#""response":{empty}"#));
    ev(
        s,
        "response.output_item.added",
        r#""output_index":0,"item":{"id":"msg_bench1","type":"message","status":"in_progress","role":"assistant","content":[]}"#,
    );
    ev(
        s,
        "response.content_part.added",
        r#""item_id":"msg_bench1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[],"logprobs":[]}"#,
    );
    let t0 = s.len();
    for t in texts {
        ev(
            s,
            "response.output_text.delta",
            &format!(
                r#""item_id":"msg_bench1","output_index":0,"content_index":0,"delta":{},"logprobs":[]"#,
                q(t)
            ),
        );
    }
    s.text = t0..s.len();
    let full = q(&texts.concat());
    let part = format!(r#"{{"type":"output_text","text":{full},"annotations":[],"logprobs":[]}}"#);
    let message = format!(
        r#"{{"id":"msg_bench1","type":"message","status":"completed","role":"assistant","content":[{part}]}}"#
    );
    ev(
        s,
        "response.output_text.done",
        &format!(
            r#""item_id":"msg_bench1","output_index":0,"content_index":0,"text":{full},"logprobs":[]"#
        ),
    );
    ev(
        s,
        "response.content_part.done",
        &format!(r#""item_id":"msg_bench1","output_index":0,"content_index":0,"part":{part}"#),
    );
    ev(
        s,
        "response.output_item.done",
        &format!(r#""output_index":0,"item":{message}"#),
    );
    ev(
        s,
        "response.output_item.added",
        r#""output_index":1,"item":{"id":"fc_bench1","type":"function_call","status":"in_progress","call_id":"call_bench1","name":"get_weather","arguments":""}"#,
    );
    s.tool_start = s.text.end..s.len();
    for f in frags {
        ev(
            s,
            "response.function_call_arguments.delta",
            &format!(r#""item_id":"fc_bench1","output_index":1,"delta":{}"#, q(f)),
        );
    }
    s.args = s.tool_start.end..s.len();
    let qa = q(args);
    let call = format!(
        r#"{{"id":"fc_bench1","type":"function_call","status":"completed","call_id":"call_bench1","name":"get_weather","arguments":{qa}}}"#
    );
    ev(
        s,
        "response.function_call_arguments.done",
        &format!(r#""item_id":"fc_bench1","output_index":1,"name":"get_weather","arguments":{qa}"#),
    );
    ev(
        s,
        "response.output_item.done",
        &format!(r#""output_index":1,"item":{call}"#),
    );
    let done = response(
        "completed",
        &format!("[{message},{call}]"),
        r#"{"input_tokens":61,"input_tokens_details":{"cached_tokens":0},"output_tokens":1016,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":1077}"#,
    );
    ev(s, "response.completed", &format!(r#""response":{done}"#));
}

fn messages(s: &mut Stream, texts: &[String], frags: &[&str]) {
    s.push(
        Some("message_start"),
        r#"{"type":"message_start","message":{"id":"msg_01Bench","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":380,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,"service_tier":"standard"}}}"#,
    );
    s.push(
        Some("content_block_start"),
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    );
    s.push(Some("ping"), r#"{"type":"ping"}"#);
    let t0 = s.len();
    for t in texts {
        s.push(
            Some("content_block_delta"),
            &format!(
                r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":{}}}}}"#,
                q(t)
            ),
        );
    }
    s.text = t0..s.len();
    s.push(
        Some("content_block_stop"),
        r#"{"type":"content_block_stop","index":0}"#,
    );
    s.push(
        Some("content_block_start"),
        r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01Bench","name":"get_weather","input":{}}}"#,
    );
    s.push(
        Some("content_block_delta"),
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#,
    );
    s.tool_start = s.text.end..s.len();
    for f in frags {
        s.push(
            Some("content_block_delta"),
            &format!(
                r#"{{"type":"content_block_delta","index":1,"delta":{{"type":"input_json_delta","partial_json":{}}}}}"#,
                q(f)
            ),
        );
    }
    s.args = s.tool_start.end..s.len();
    s.push(
        Some("content_block_stop"),
        r#"{"type":"content_block_stop","index":1}"#,
    );
    s.push(
        Some("message_delta"),
        r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":1016}}"#,
    );
    s.push(Some("message_stop"), r#"{"type":"message_stop"}"#);
}

/// Gemini with `alt=sse`: every chunk a whole response, running usage on each, the call whole.
fn gemini(s: &mut Stream, texts: &[String], args: &str) {
    let tail = |candidates: u64| {
        format!(
            r#""usageMetadata":{{"promptTokenCount":41,"candidatesTokenCount":{candidates},"totalTokenCount":{},"promptTokensDetails":[{{"modality":"TEXT","tokenCount":41}}]}},"modelVersion":"gemini-2.5-flash","responseId":"bench-response-id-1"}}"#,
            41 + candidates
        )
    };
    let t0 = s.len();
    for (i, t) in texts.iter().enumerate() {
        s.push(
            None,
            &format!(
                r#"{{"candidates":[{{"content":{{"parts":[{{"text":{}}}],"role":"model"}},"index":0}}],{}"#,
                q(t),
                tail(5 * (i as u64 + 1))
            ),
        );
    }
    s.text = t0..s.len();
    s.push(
        None,
        &format!(
            r#"{{"candidates":[{{"content":{{"parts":[{{"functionCall":{{"name":"get_weather","args":{args}}}}}],"role":"model"}},"finishReason":"STOP","index":0}}],{}"#,
            tail(5 * texts.len() as u64 + 16)
        ),
    );
    s.tool_start = s.text.end..s.len();
    s.args = s.len()..s.len();
}
