//! The reference payloads of the four wire protocols (docs/protocols.md#test-vectors), one
//! file each under `testkit/vectors/<protocol>/`, as `&'static str` constants.
//!
//! This is their only copy: the mock upstream answers from them (`protocols.rs`), and the
//! workspace's tests, benchmarks and fuzz seeds read them from here. Everything here is plain
//! text, so `translate`'s own unit tests may use it too.
//!
//! Per protocol: requests (`REQUEST_TEXT`, `REQUEST_TOOL` — streaming where the wire says so
//! in the body —, `REQUEST_FOLLOWUP` with the tool result, `REQUEST_IMAGE`), answers
//! (`RESPONSE_TEXT`, `RESPONSE_TOOL`), streams (`STREAM_TEXT`, `STREAM_TOOL`, `STREAM_ERROR`:
//! an in-stream error after the 200) and an HTTP error body. JSON bodies are pretty-printed
//! ([`compact`] gives the bytes the mock sends); streams are byte-exact wire text. The
//! `*_PARALLEL` vectors are the mock's own two-call scenario, not part of the reference set,
//! with the reference model names.

/// Declares one protocol's module: `NAME = "file"` for each vector, and `ALL` listing them.
macro_rules! vectors {
    ($(#[$doc:meta])* $module:ident: $($(#[$vdoc:meta])* $name:ident = $file:literal,)*) => {
        $(#[$doc])*
        pub mod $module {
            $(
                $(#[$vdoc])*
                pub const $name: &str =
                    include_str!(concat!("../vectors/", stringify!($module), "/", $file));
            )*

            /// Every vector of this protocol: (file name, text).
            pub const ALL: &[(&str, &str)] = &[$(($file, $name)),*];
        }
    };
}

vectors! {
    /// OpenAI Chat Completions. The answering model is `gpt-4.1-2025-04-14`; the streams were
    /// asked for with `stream_options.include_usage`.
    chat:
    REQUEST_TEXT = "request_text.json",
    /// Tools, `stream: true` with `include_usage`.
    REQUEST_TOOL = "request_tool.json",
    REQUEST_FOLLOWUP = "request_followup.json",
    REQUEST_IMAGE = "request_image.json",
    RESPONSE_TEXT = "response_text.json",
    RESPONSE_TOOL = "response_tool.json",
    STREAM_TEXT = "stream_text.sse",
    STREAM_TOOL = "stream_tool.sse",
    /// `data: {"error":…}` after the 200.
    STREAM_ERROR = "stream_error.sse",
    /// HTTP 401 `invalid_api_key`.
    ERROR_401 = "error_401.json",
    RESPONSE_PARALLEL = "response_parallel.json",
    STREAM_PARALLEL = "stream_parallel.sse",
}

vectors! {
    /// OpenAI Responses. The answering model is `gpt-4.1-2025-04-14`.
    responses:
    /// Sets `instructions` and `max_output_tokens`, which `RESPONSE_TEXT` echoes.
    REQUEST_TEXT = "request_text.json",
    /// Tools (with `strict` stated), `stream: true`.
    REQUEST_TOOL = "request_tool.json",
    REQUEST_FOLLOWUP = "request_followup.json",
    REQUEST_IMAGE = "request_image.json",
    RESPONSE_TEXT = "response_text.json",
    RESPONSE_TOOL = "response_tool.json",
    STREAM_TEXT = "stream_text.sse",
    STREAM_TOOL = "stream_tool.sse",
    /// An `error` event.
    STREAM_ERROR = "stream_error.sse",
    RESPONSE_PARALLEL = "response_parallel.json",
    STREAM_PARALLEL = "stream_parallel.sse",
}

vectors! {
    /// Anthropic Messages. The answering model is `claude-sonnet-4-5-20250929`.
    messages:
    REQUEST_TEXT = "request_text.json",
    /// Tools, `stream: true`.
    REQUEST_TOOL = "request_tool.json",
    REQUEST_FOLLOWUP = "request_followup.json",
    REQUEST_IMAGE = "request_image.json",
    RESPONSE_TEXT = "response_text.json",
    RESPONSE_TOOL = "response_tool.json",
    STREAM_TEXT = "stream_text.sse",
    /// A text block, then the `tool_use` block (its first `input_json_delta` is empty).
    STREAM_TOOL = "stream_tool.sse",
    /// `event: error` with `overloaded_error`.
    STREAM_ERROR = "stream_error.sse",
    /// HTTP 529 `overloaded_error`.
    ERROR_529 = "error_529.json",
    RESPONSE_PARALLEL = "response_parallel.json",
    STREAM_PARALLEL = "stream_parallel.sse",
}

vectors! {
    /// Gemini `generateContent`. `modelVersion` is `gemini-2.5-flash`; streams are `alt=sse`.
    gemini:
    REQUEST_TEXT = "request_text.json",
    /// Tools (streaming is chosen by the path, not the body).
    REQUEST_TOOL = "request_tool.json",
    REQUEST_FOLLOWUP = "request_followup.json",
    REQUEST_IMAGE = "request_image.json",
    RESPONSE_TEXT = "response_text.json",
    RESPONSE_TOOL = "response_tool.json",
    STREAM_TEXT = "stream_text.sse",
    /// One chunk: the whole call and `STOP`.
    STREAM_TOOL = "stream_tool.sse",
    /// Gemini 3: the call has an `id`, its part a `thoughtSignature`, and `STOP` comes in a
    /// trailing chunk of its own.
    STREAM_GEMINI3 = "stream_gemini3.sse",
    /// `data: {"error":…}` after the 200.
    STREAM_ERROR = "stream_error.sse",
    /// HTTP 429 `RESOURCE_EXHAUSTED`.
    ERROR_429 = "error_429.json",
    RESPONSE_PARALLEL = "response_parallel.json",
    STREAM_PARALLEL = "stream_parallel.sse",
}

/// Every vector: (protocol directory, file name, text).
pub fn all() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    [
        ("chat", chat::ALL),
        ("responses", responses::ALL),
        ("messages", messages::ALL),
        ("gemini", gemini::ALL),
    ]
    .into_iter()
    .flat_map(|(dir, all)| all.iter().map(move |&(file, text)| (dir, file, text)))
}

/// A pretty-printed JSON body as compact bytes: whitespace outside strings removed, nothing
/// else changed (key order and number spelling are kept).
pub fn compact(pretty: &str) -> String {
    let mut out = String::with_capacity(pretty.len());
    let (mut in_str, mut esc) = (false, false);
    for c in pretty.chars() {
        if in_str {
            out.push(c);
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if !c.is_whitespace() {
            out.push(c);
            in_str = c == '"';
        }
    }
    out
}

/// A stream's events, each with its terminating blank line.
pub fn events(sse: &str) -> impl Iterator<Item = &str> {
    sse.split_inclusive("\n\n")
}

/// A stream's `data:` payloads, one per event (the `event:` lines dropped).
pub fn payloads(sse: &str) -> impl Iterator<Item = &str> {
    events(sse).filter_map(|e| {
        e.lines()
            .find_map(|l| l.strip_prefix("data: "))
            .map(str::trim_end)
    })
}
