//! Resolved forms of the sections besides `server` and `providers`: virtual models, presets,
//! variants, and the sections the data plane does not serve yet (`mcp`, `mcp_servers`,
//! `agents`, `server_tools`, `database`, `plugins`), which are still checked and listed.

use super::{McpTransport, SecretText, Setting, Spanned, Strategy};
use crate::source::Span;

/// A virtual model.
#[derive(Clone, Debug)]
pub struct VirtualModel {
    pub name: Spanned<String>,
    pub strategy: Strategy,
    pub description: Option<String>,
    /// In failover order. A missing or empty list was reported by `resolve`.
    pub endpoints: Vec<Endpoint>,
}

/// One endpoint of a virtual model.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The whole entry, for "endpoint has no `provider`".
    pub span: Span,
    pub provider: Option<Spanned<String>>,
    /// `service_id`, or its other spelling `model_id` (both, or neither, was reported by
    /// `resolve`).
    pub model: Option<Spanned<String>>,
    pub weight: Setting<u32>,
}

/// A preset (`@name`).
#[derive(Clone, Debug)]
pub struct Preset {
    pub name: Spanned<String>,
    pub model: Option<Spanned<String>>,
    pub system_prompt: Option<String>,
    /// Default request parameters; empty when none are written.
    pub params: serde_json::Map<String, serde_json::Value>,
}

/// A variant (`model:name`).
#[derive(Clone, Debug)]
pub struct Variant {
    pub name: Spanned<String>,
    /// Only endpoints of these providers; empty: no restriction.
    pub providers: Vec<Spanned<String>>,
    pub exclude_providers: Vec<Spanned<String>>,
    /// `None`: each model keeps its own.
    pub strategy: Option<Strategy>,
}

/// `mcp`, the router's own MCP endpoint.
#[derive(Clone, Debug)]
pub struct Mcp {
    pub enabled: bool,
    pub servers: McpServers,
}

/// Which `mcp_servers` the MCP endpoint exposes.
#[derive(Clone, Debug)]
pub enum McpServers {
    All,
    Listed(Vec<Spanned<String>>),
}

/// An MCP server.
#[derive(Clone, Debug)]
pub struct McpServer {
    pub name: Spanned<String>,
    /// As written, else inferred (`stdio` from `command`, `http` from `url`; the setting then
    /// has no span). `None`: neither could decide it, which `resolve` reported.
    pub transport: Option<Setting<McpTransport>>,
    pub command: Option<Spanned<String>>,
    pub args: Vec<String>,
    pub env: Vec<(String, SecretText)>,
    pub url: Option<Spanned<String>>,
    pub headers: Vec<(String, SecretText)>,
}

/// An agent.
#[derive(Clone, Debug)]
pub struct Agent {
    pub name: Spanned<String>,
    pub model: Option<Spanned<String>>,
    pub system_prompt: Option<String>,
    pub mcp_servers: Vec<Spanned<String>>,
    pub server_tools: Vec<Spanned<String>>,
    pub description: Option<String>,
}

/// A tool the router runs for models.
#[derive(Clone, Debug)]
pub struct ServerTool {
    pub name: Spanned<String>,
    pub kind: Option<Spanned<String>>,
    pub provider: Option<Spanned<String>>,
    pub options: serde_json::Map<String, serde_json::Value>,
}

/// `database`.
#[derive(Clone, Debug)]
pub struct Database {
    /// `None`: the command line's default (`--db`, `DATABASE_URL`, or the home's SQLite file).
    pub url: Option<Spanned<String>>,
}

/// A plugin.
#[derive(Clone, Debug)]
pub struct Plugin {
    pub name: Spanned<String>,
    pub enabled: bool,
    pub path: Option<String>,
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Where an `otel` block is written (only `bitrouter-observe` takes one).
    pub otel_span: Option<crate::source::Span>,
    /// Where a `rules` list is written (only `bitrouter-guardrails` takes one).
    pub rules_span: Option<crate::source::Span>,
}
