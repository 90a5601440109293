//! The internal representation every protocol decodes into and encodes from: requests,
//! whole responses, usage, finish reasons and errors (stream events are in `stream`).
//!
//! Conventions (docs/protocols.md#the-ir):
//! - Usage is normalised to inclusive totals: `input` includes cache reads and writes,
//!   `output` includes reasoning tokens. Each wire converts back on encode.
//! - Parallel tool calls live in one assistant [`Message`]; their results in one user
//!   [`Message`] of [`Part::ToolResult`]s, so Anthropic and Gemini keep them grouped and
//!   Chat/Responses split them.
//! - Tool-call arguments are JSON text exactly as the source gave them.
//! - System text is kept apart from the turns (every wire but Chat wants it there).

use serde_json::Value;

/// A request, with everything that is portable between the four protocols.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Request {
    /// System/developer instructions, in order (joined with a blank line where a wire has one
    /// slot).
    pub system: Vec<String>,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    pub params: Params,
    pub stream: bool,
    /// The caller (Chat) asked for a usage chunk at the end of its stream.
    pub include_usage: bool,
    /// Hosted tools the caller offered (`web_search`, Anthropic `web_search_20250305`, Gemini
    /// `googleSearch`, …): only its own protocol's provider runs them, so a translated request
    /// drops them (or, with `server.translation: strict`, is refused).
    pub hosted_tools: Vec<String>,
    /// Function tools the caller grouped in a Responses `namespace`, flattened into `tools`
    /// under [`Namespaced::flat`]; the answer gives their calls back under the group.
    pub namespaced: Vec<Namespaced>,
}

/// A function tool of a Responses `namespace` group, flattened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespaced {
    /// The name the upstream sees: `<namespace>__<name>`.
    pub flat: String,
    pub namespace: String,
    pub name: String,
}

impl Namespaced {
    /// The flattened name of `name` in `namespace`.
    pub fn flatten(namespace: &str, name: &str) -> String {
        format!("{namespace}__{name}")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub role: Role,
    pub parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    /// Never empty after decoding (empty text parts are dropped: Anthropic rejects them).
    Text(String),
    Media(Media),
    ToolCall(ToolCall),
    ToolResult(ToolResult),
    Reasoning(Reasoning),
    /// Assistant refusal text (OpenAI `refusal`).
    Refusal(String),
}

/// An image or document.
#[derive(Clone, Debug, PartialEq)]
pub struct Media {
    /// `image/png`, `application/pdf`, … (required for base64; may be unknown for URLs).
    pub media_type: Option<String>,
    pub source: MediaSource,
    /// OpenAI `detail` (`low`/`high`/`auto`), kept for the OpenAI wires.
    pub detail: Option<String>,
    pub filename: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MediaSource {
    Base64(String),
    Url(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// JSON text of the arguments object (`{}` when the source had none).
    pub arguments: String,
    /// Gemini `thoughtSignature` on the call part, when the source was Gemini.
    pub signature: Option<String>,
    /// Responses callers: the `namespace` tool group the called function belongs to.
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ToolResult {
    /// The id of the call it answers.
    pub id: String,
    /// The function's name when the source carried it (Gemini); renderers that need it
    /// (Gemini) look it up from the call otherwise.
    pub name: Option<String>,
    /// Text and media parts.
    pub content: Vec<Part>,
    pub is_error: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reasoning {
    pub text: String,
    /// Anthropic `signature` (only Anthropic can verify it).
    pub signature: Option<String>,
    /// Anthropic `redacted_thinking.data`.
    pub redacted: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments (an object schema; `{"type":"object"}` when absent).
    pub parameters: Value,
    pub strict: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolChoice {
    Auto,
    Required,
    None,
    Named(String),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u64>,
    pub stop: Vec<String>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub response_format: Option<ResponseFormat>,
    /// `none|minimal|low|medium|high|xhigh|max`.
    pub reasoning_effort: Option<String>,
    /// A thinking budget in tokens (Anthropic `budget_tokens`, Gemini `thinkingBudget`).
    pub reasoning_budget: Option<u64>,
    pub parallel_tool_calls: Option<bool>,
    pub user: Option<String>,
    /// OpenAI's answer-length hint (`low|medium|high`): Chat `verbosity`, Responses
    /// `text.verbosity`.
    pub verbosity: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        description: Option<String>,
        schema: Value,
        strict: Option<bool>,
    },
}

/// A whole (non-streaming) answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Response {
    pub id: String,
    pub model: String,
    /// Unix seconds (0 when the source had none; encoders then use the current time).
    pub created: u64,
    /// Text, reasoning, refusal and tool-call parts in order.
    pub parts: Vec<Part>,
    pub finish: Finish,
    /// The stop sequence that matched, when the source said.
    pub stop_sequence: Option<String>,
    pub usage: Usage,
}

impl Response {
    /// Applies the tool-call latch: a turn that produced a call ends with `ToolCalls` unless it
    /// was cut by length or a filter (docs/translation-cases.md#e15, #e16).
    pub fn settle(&mut self) {
        let called = self.parts.iter().any(|p| matches!(p, Part::ToolCall(_)));
        self.finish = self.finish.settle(called);
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Finish {
    #[default]
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
    /// Anything else (Gemini `OTHER`, Anthropic `pause_turn`, …).
    Other,
}

impl Finish {
    /// The finish reason once the whole turn is known: `Stop` (or `Other`) after a tool call
    /// means `ToolCalls`.
    pub fn settle(self, called: bool) -> Finish {
        match self {
            Finish::Stop | Finish::Other if called => Finish::ToolCalls,
            f => f,
        }
    }
}

/// Token counts, normalised to inclusive totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens including cache reads and writes.
    pub input: u64,
    /// Completion tokens including reasoning.
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub reasoning: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input.saturating_add(self.output)
    }
    /// Anthropic's `input_tokens` (exclusive of cache reads and writes).
    pub fn uncached_input(&self) -> u64 {
        self.input
            .saturating_sub(self.cache_read)
            .saturating_sub(self.cache_write)
    }
}

/// What went wrong, independent of how a protocol spells it: an upstream's error read from
/// any envelope, or the router's own refusal. Each protocol's home names the kinds its own way
/// (`openai::error_type`, `messages::wire::error_type`, `gemini::wire::error_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    Authentication,
    Permission,
    NotFound,
    /// The router's endpoints take POST (405).
    MethodNotAllowed,
    /// The caller's request body stopped arriving (408).
    RequestTimeout,
    PayloadTooLarge,
    UriTooLong,
    /// The request body is not JSON (415).
    UnsupportedMediaType,
    HeadersTooLarge,
    RateLimited,
    /// The upstream is overloaded, or the router is at capacity / every endpoint cools down.
    Overloaded,
    /// No usable answer from the upstream: refused connections, a cut or malformed stream.
    BadGateway,
    /// No answer in time.
    Timeout,
    Server,
}

impl ErrorKind {
    /// The kind an HTTP status means.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            401 => ErrorKind::Authentication,
            403 => ErrorKind::Permission,
            404 => ErrorKind::NotFound,
            405 => ErrorKind::MethodNotAllowed,
            408 | 504 => ErrorKind::Timeout,
            413 => ErrorKind::PayloadTooLarge,
            414 => ErrorKind::UriTooLong,
            415 => ErrorKind::UnsupportedMediaType,
            431 => ErrorKind::HeadersTooLarge,
            429 => ErrorKind::RateLimited,
            502 => ErrorKind::BadGateway,
            503 | 529 => ErrorKind::Overloaded,
            400..500 => ErrorKind::InvalidRequest,
            _ => ErrorKind::Server,
        }
    }

    /// The HTTP status for this kind.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidRequest => 400,
            ErrorKind::Authentication => 401,
            ErrorKind::Permission => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::RequestTimeout => 408,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::UriTooLong => 414,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::HeadersTooLarge => 431,
            ErrorKind::RateLimited => 429,
            ErrorKind::Server => 500,
            ErrorKind::BadGateway => 502,
            ErrorKind::Overloaded => 503,
            ErrorKind::Timeout => 504,
        }
    }

    /// The kind an OpenAI `error.type`/`code`, an Anthropic `error.type` or a Gemini
    /// `error.status` names, if recognised.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        crate::openai::kind_from_name(name)
            .or_else(|| crate::messages::wire::kind_from_name(name))
            .or_else(|| crate::gemini::wire::kind_from_name(name))
    }
}

/// An upstream error, read from any protocol's envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorInfo {
    pub kind: ErrorKind,
    pub message: String,
}
