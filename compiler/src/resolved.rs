//! The configuration after `resolve`: registry merged, `derives` expanded, environment expanded,
//! defaults filled in. Its own types, one per section: nothing here is an `ast` section.
//!
//! A field with a default holds a concrete value; where a diagnostic may need to point at a
//! written value it is a [`Setting`] (the value and the span the file wrote it at, if it did) or
//! a [`Val`] (the value and its [`Origin`]). A required field with no default is an
//! `Option<Spanned<_>>`: `None` when it is not written, or written but invalid (already reported,
//! its path poisoned); `validate` reports a missing one, and `lower` never sees one missing.
//! The leaf value enums (`Strategy`, `ProtocolName`, ...) are shared with `ast` and `table`.

mod guardrails;
mod observe;
mod sections;

pub use sections::{
    Agent, Database, Endpoint, Mcp, McpServer, McpServers, Plugin, Preset, ServerTool, Variant,
    VirtualModel,
};

pub use guardrails::{GuardRule, GuardWebhook, Guardrails};
pub use observe::{BadEnv, From, Otel, Sourced};

pub use crate::ast::{
    Capability, LogFormat, McpTransport, OnError, OtlpProtocol, ProtocolName, RuleAction,
    RuleSource, Sampler, SecretText, Spanned, Strategy, TranslationMode,
};

use std::time::Duration;

use crate::source::Span;

/// Where a resolved value came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// Written in the file, here.
    File(Span),
    /// Inherited through `derives` from this provider.
    Parent(String),
    /// From the built-in registry entry of the same id.
    Builtin,
}

impl Origin {
    pub fn span(&self) -> Option<Span> {
        match self {
            Origin::File(s) => Some(*s),
            _ => None,
        }
    }

    /// For `bitrouter route`: "config", "derives openai", "built-in registry".
    pub fn describe(&self) -> String {
        match self {
            Origin::File(_) => "config".to_owned(),
            Origin::Parent(p) => format!("derived from `{p}`"),
            Origin::Builtin => "built-in registry".to_owned(),
        }
    }
}

/// A value and its origin.
#[derive(Clone, Debug, PartialEq)]
pub struct Val<T> {
    pub value: T,
    pub origin: Origin,
}

/// A setting with its default applied: the value, and where this file's own key wrote it
/// (`None` when it is the default, inherited, or from the registry), so range checks blame
/// only what was written here.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Setting<T> {
    pub value: T,
    pub span: Option<Span>,
}

impl<T> Setting<T> {
    pub fn defaulted(value: T) -> Setting<T> {
        Setting { value, span: None }
    }

    /// The value when this file wrote it, with its span.
    pub fn written(&self) -> Option<(&T, Span)> {
        self.span.map(|s| (&self.value, s))
    }
}

#[derive(Debug)]
pub struct Config {
    pub server: Server,
    pub providers: Vec<Provider>,
    pub models: Vec<VirtualModel>,
    pub presets: Vec<Preset>,
    pub variants: Vec<Variant>,
    pub inherit_defaults: bool,
    pub mcp: Mcp,
    pub mcp_servers: Vec<McpServer>,
    pub agents: Vec<Agent>,
    pub server_tools: Vec<ServerTool>,
    pub database: Database,
    pub plugins: Vec<Plugin>,
    /// OTLP export: the `bitrouter-observe` plugin's `otel` block and `OTEL_*`.
    pub otel: Otel,
    /// The `bitrouter-guardrails` plugin's rules.
    pub guardrails: Guardrails,
}

/// `server`, every default filled in.
#[derive(Clone, Debug)]
pub struct Server {
    pub listen: Setting<String>,
    pub log_level: Setting<String>,
    pub skip_auth: bool,
    /// `None`: the command line puts it in its run directory.
    pub control_socket: Option<String>,
    pub metrics_listen: Option<Spanned<String>>,
    pub log_format: LogFormat,
    pub limits: Limits,
    pub drain: Drain,
    pub timeouts: Timeouts,
    pub failover: Failover,
    pub translation: TranslationMode,
    pub cors_allowed_origins: Vec<Spanned<String>>,
    pub allowed_hosts: Vec<Spanned<String>>,
    pub auth: Auth,
}

/// `server.auth`.
#[derive(Clone, Debug)]
pub struct Auth {
    pub trusted_keys: Vec<Spanned<String>>,
    pub revoked_jti: Vec<Spanned<String>>,
    pub max_token_lifetime: Setting<Duration>,
    pub budgets: Vec<KeyBudget>,
}

/// `server.auth.budgets.<key>`: `usd` as written (checked in validate), the window defaulted.
#[derive(Clone, Debug)]
pub struct KeyBudget {
    pub key: Spanned<String>,
    pub usd: crate::ast::Field<f64>,
    pub window: Setting<auth::BudgetWindow>,
}

#[derive(Clone, Debug)]
pub struct Limits {
    /// Bytes.
    pub max_body_size: Setting<u64>,
    /// Bytes.
    pub max_header_size: Setting<u64>,
    pub max_headers: Setting<u32>,
    pub header_read_timeout: Setting<Duration>,
    pub max_in_flight: Setting<u32>,
    /// `store` as written (after `${VAR}` expansion); checked in validate.
    pub store: Option<Spanned<crate::ast::SecretText>>,
    /// No default: required with `store`.
    pub on_store_error: Option<Spanned<OnError>>,
    pub store_timeout: Setting<Duration>,
}

/// `server.drain`.
#[derive(Clone, Copy, Debug)]
pub struct Drain {
    pub timeout: Setting<Duration>,
    pub accept: Setting<Duration>,
}

/// Upstream timeouts: `server.timeouts` with its defaults, or a provider's own over those.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Setting<Duration>,
    pub first_byte: Setting<Duration>,
    pub idle: Setting<Duration>,
    pub total: Setting<Duration>,
}

#[derive(Clone, Debug)]
pub struct Failover {
    pub max_attempts: Setting<u32>,
    pub breaker_failures: Setting<u32>,
    pub breaker_cooldown: Setting<Duration>,
}

/// The credential of a provider after expansion.
#[derive(Clone, PartialEq)]
pub enum Credential {
    /// The provider needs none (local models).
    None,
    Set(String),
    /// It needs `var`, which is not set (the provider is unusable until it is).
    Missing {
        var: String,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::None => f.write_str("None"),
            Credential::Set(_) => f.write_str("Set(***)"),
            Credential::Missing { var } => write!(f, "Missing({var})"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Provider {
    pub name: String,
    /// The key span in the file, when the file declares this provider.
    pub span: Option<Span>,
    /// A built-in of the same id exists and was merged.
    pub builtin: bool,
    pub api_base: Option<Val<String>>,
    pub credential: Credential,
    /// `None`: inferred from the `api_base` host when the table is built.
    pub api_protocol: Option<Val<ApiProtocol>>,
    pub models: Vec<Model>,
    pub models_origin: Option<Origin>,
    pub derives: Option<Spanned<String>>,
    /// `self -> parent -> grandparent`, for `route` explanations.
    pub derives_chain: Vec<String>,
    /// The union over the file, the `derives` parent and the registry, nearest first; values
    /// are secrets as far as printing goes.
    pub headers: Vec<(String, SecretText)>,
    /// The provider's own, else the registry's, else `server.timeouts`.
    pub timeouts: Timeouts,
    pub allow_private: bool,
}

impl Provider {
    pub fn path(&self) -> String {
        format!("providers.{}", self.name)
    }
}

/// A provider's `api_protocol`.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiProtocol {
    /// One protocol or an ordered list (the head preferred), for every model.
    Protocols(Vec<ProtocolName>),
    /// Ordered `pattern: protocols` rules.
    Patterns(Vec<PatternRule>),
}

/// `pattern: protocols`; the span is where the pattern is written (in the file only when the
/// `api_protocol` it belongs to has `Origin::File`).
#[derive(Clone, Debug, PartialEq)]
pub struct PatternRule {
    pub pattern: Spanned<String>,
    pub protocols: Vec<ProtocolName>,
}

#[derive(Clone, Debug)]
pub struct Model {
    pub id: String,
    pub span: Option<Span>,
    pub upstream_id: Option<String>,
    /// Beats every `api_protocol` rule of the provider.
    pub api_protocol: Option<Vec<ProtocolName>>,
    pub pricing: Pricing,
    pub context_window: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub capabilities: Vec<Capability>,
}

/// USD per million tokens; `None` where the price is not known.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pricing {
    pub input: Option<f64>,
    pub output: Option<f64>,
    pub cache_read: Option<f64>,
    pub cache_write: Option<f64>,
}
