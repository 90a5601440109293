//! The file format, mirrored one to one: what `bitrouter.yaml` may contain, with spans.
//!
//! Every key is a [`Field`] (absent / invalid / set, with its span) and every struct defaults
//! to empty, so reading never fails as a whole. The doc comments here are the JSON Schema's
//! descriptions. Nothing in this module checks meaning; that is `resolve` and `validate`.

mod field;
mod guardrails;
mod observe;
mod value;

pub use field::{Field, List, NameMap, Spanned};
pub use guardrails::{GuardRule, GuardWebhook, OnError, RuleAction, RuleSource};
pub use observe::{LogFormat, Otel, OtlpProtocol, Sampler};
pub use value::{
    ApiProtocol, ByteSize, Duration, PatternEntry, ProtocolList, ProtocolName, SecretText,
};

use serde::Deserialize;

#[cfg(feature = "schema")]
use schemars::JsonSchema;

/// A BitRouter configuration file (`bitrouter.yaml`). Every section is optional; an empty file is
/// a valid configuration that routes to the built-in providers whose keys are in the environment.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "BitRouter configuration"))]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The HTTP server: listen address, logging, auth, limits and default timeouts.
    pub server: Server,
    /// Upstream providers, keyed by provider id. An id that matches a built-in provider is
    /// merged on top of it field by field (unless `inherit_defaults: false`).
    pub providers: NameMap<Provider>,
    /// Virtual models: a name callers use, and an ordered list of endpoints to try.
    pub models: NameMap<VirtualModel>,
    /// Presets, selected with an `@name` model: a model plus default request parameters.
    pub presets: NameMap<Preset>,
    /// Variants, selected with a `:name` suffix: routing preferences applied to any model.
    pub variants: NameMap<Variant>,
    /// The router's own MCP endpoint: which `mcp_servers` it exposes.
    pub mcp: Mcp,
    /// MCP servers the router can connect to, keyed by name.
    pub mcp_servers: NameMap<McpServer>,
    /// Agents: a model, a system prompt and the tools they may use, keyed by name.
    pub agents: NameMap<Agent>,
    /// Tools executed by the router on behalf of models, keyed by name.
    pub server_tools: NameMap<ServerTool>,
    /// Where usage and spend are recorded.
    pub database: Database,
    /// Plugins, keyed by name.
    pub plugins: NameMap<Plugin>,
    /// Merge providers with the built-in registry (default `true`). With `false`, providers are
    /// used exactly as written and no built-in provider exists (`derives` may still name one).
    pub inherit_defaults: Field<bool>,
}

/// The HTTP server.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// `host:port` to listen on (default `127.0.0.1:4356`, loopback only).
    pub listen: Field<String>,
    /// A tracing filter such as `info` or `bitrouter=debug,info` (default `info`; `RUST_LOG` wins).
    pub log_level: Field<String>,
    /// Admit requests without a token (default `false`). Refused on a non-loopback address unless
    /// the operator passes `--allow-insecure-public`.
    pub skip_auth: Field<bool>,
    /// Path of the control socket (default `<run-dir>/bitrouter.sock`).
    pub control_socket: Field<String>,
    /// Also serve `GET /metrics` (Prometheus) on this `host:port`, without a token, e.g.
    /// `127.0.0.1:9464` (default: none; `/metrics` on `listen` needs an admin token unless
    /// `skip_auth` is on).
    pub metrics_listen: Field<String>,
    /// `text` (default) or `json`: the shape of log lines.
    pub log_format: Field<LogFormat>,
    /// Limits on what callers may send.
    pub limits: Limits,
    /// How a replica stops (SIGTERM, as an orchestrator's rolling restart sends it).
    pub drain: Drain,
    /// Default upstream timeouts; a provider's own `timeouts` override them key by key.
    pub timeouts: Timeouts,
    /// Failover behaviour.
    pub failover: Failover,
    /// What a translated request does with a field its upstream's protocol cannot express
    /// (default `lenient`): `lenient` drops sampling hints (`top_k`, penalties, `seed`, …) and
    /// hosted tools (`web_search`, …) and names each in the `x-bitrouter-dropped` response
    /// header; `strict` refuses the request with a 400 naming the field instead.
    pub translation: Field<TranslationMode>,
    /// Cross-origin (browser) callers.
    pub cors: Cors,
    /// Host names callers may address the router by, besides its listen address and the
    /// loopback names (`localhost`, `127.0.0.1`, `::1`). Any other `Host` is refused (DNS
    /// rebinding). Written without a port: `router.internal`, `10.0.0.5`.
    pub allowed_hosts: Field<List<Spanned<String>>>,
    /// Caller authentication (tokens minted by `bitrouter keygen`).
    pub auth: Auth,
}

/// How translation treats fields the target protocol cannot express.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TranslationMode {
    /// Drop sampling hints and hosted tools the target cannot express, naming them in the
    /// `x-bitrouter-dropped` response header.
    #[default]
    Lenient,
    /// Refuse with a 400 naming the field.
    Strict,
}

/// Browser origins allowed to call the router. A request with an `Origin` header that is not
/// listed is refused with 403 (a web page could otherwise spend the operator's keys).
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Cors {
    /// Exact origins, `scheme://host[:port]` (e.g. `http://localhost:3000`); default none.
    pub allowed_origins: Field<List<Spanned<String>>>,
}

/// Caller authentication: which token issuers this router trusts, besides the accounts in
/// `<home>/.keys`, and which tokens it refuses.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Auth {
    /// Public keys (base64url Ed25519, as `bitrouter account --export-public` prints them) whose
    /// tokens are accepted, so replicas trust tokens minted elsewhere without holding a secret.
    pub trusted_keys: Field<List<Spanned<String>>>,
    /// Token ids (`jti`) refused from the next reload on (also `bitrouter keys --revoke`).
    pub revoked_jti: Field<List<Spanned<String>>>,
    /// Longest lifetime a token may have (default `365d`), at minting and when verified.
    pub max_token_lifetime: Field<Duration>,
    /// Spend budgets by key id (the name a token was minted under, else its `jti`), e.g.
    /// `{ ci: { usd: 20, window: month } }`. Enforced besides a token's own `budget` claim:
    /// when both apply, both hold. Over budget, a request is refused with 429.
    pub budgets: NameMap<KeyBudget>,
}

/// One key's spend budget.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct KeyBudget {
    /// USD the key may spend per `window` (required; priced at the models' `pricing`).
    pub usd: Field<f64>,
    /// `day` or `month` (UTC), or `total` (never resets; the default, as for a token's claim).
    pub window: Field<BudgetWindow>,
}

/// The period a budget covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BudgetWindow {
    /// A UTC day.
    Day,
    /// A UTC calendar month.
    Month,
    /// For ever.
    Total,
}

/// Limits on inbound requests.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest request body (default `32MiB`); larger bodies get 413.
    pub max_body_size: Field<ByteSize>,
    /// Largest header block (default `64KiB`); larger gets 431.
    pub max_header_size: Field<ByteSize>,
    /// Most headers in one request (default 100); more gets 431.
    pub max_headers: Field<u32>,
    /// Time allowed from accept to the end of the request headers (default `10s`).
    pub header_read_timeout: Field<Duration>,
    /// Most requests in flight at once (default 4096); more get 503 with `Retry-After`.
    pub max_in_flight: Field<u32>,
    /// A Redis or Valkey server that keeps the per-key `rpm` limits and the spend budgets for
    /// every replica: `redis://[:PASSWORD@]HOST[:PORT][/DB]`, or `rediss://` for TLS. Write the
    /// password as `${VAR}`. Default: none (each replica counts alone). Requires
    /// `on_store_error`.
    pub store: Field<SecretText>,
    /// What a request does when `store` does not answer in time: `fail_closed` refuses it with
    /// 503, `fail_open` admits it unchecked. Either way the error is counted
    /// (`bitrouter_limit_store_errors_total`) and logged. Required when `store` is set.
    pub on_store_error: Field<OnError>,
    /// Longest wait for one call to `store` (default `100ms`, at most `5s`).
    pub store_timeout: Field<Duration>,
}

/// Graceful shutdown. On SIGTERM `/ready` answers 503 at once (`/health` stays 200), new
/// connections are still accepted for `accept` so a load balancer has time to notice, every
/// response then carries `Connection: close`, and open requests and streams get up to
/// `timeout` (counted from the signal) to finish. `bitrouter stop` and Ctrl-C stop accepting
/// at once.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Drain {
    /// Longest a draining replica keeps serving open requests, from the signal (default
    /// `30s`). Set the orchestrator's grace period above it (Kubernetes
    /// `terminationGracePeriodSeconds`).
    pub timeout: Field<Duration>,
    /// How long after SIGTERM new connections are still accepted (default `5s`, at most
    /// `timeout`): at least the load balancer's health-check interval times its fall count.
    pub accept: Field<Duration>,
}

/// Upstream timeouts. Durations are written `500ms`, `10s`, `2m` or `1h`; a bare number is seconds.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Timeouts {
    /// TCP + TLS connect (default `10s`).
    pub connect: Field<Duration>,
    /// From sending the request to the first byte of the response (default `120s`).
    pub first_byte: Field<Duration>,
    /// Longest silence between two chunks of a streamed response (default `120s`).
    pub idle: Field<Duration>,
    /// Whole non-streaming request (default `10m`); streams are bounded by `first_byte` + `idle`.
    pub total: Field<Duration>,
}

/// Failover between the endpoints of a chain.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Failover {
    /// Most upstream attempts for one request (default 3).
    pub max_attempts: Field<u32>,
    /// Consecutive failures that open an endpoint's circuit breaker (default 5).
    pub breaker_failures: Field<u32>,
    /// How long an open breaker waits before one probe request (default `30s`).
    pub breaker_cooldown: Field<Duration>,
}

/// An upstream provider.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Provider {
    /// Base URL, following the protocol's SDK convention: `https://api.openai.com/v1`,
    /// `https://api.anthropic.com` (or `.../v1`), `https://generativelanguage.googleapis.com`
    /// (or `.../v1beta`).
    pub api_base: Field<String>,
    /// The credential, normally `${VAR}`. Never printed.
    pub api_key: Field<SecretText>,
    /// Outbound wire protocol: one protocol, a list (head preferred), or an ordered list of
    /// `pattern: protocol-or-list` entries where a pattern is `*`, `prefix*` or an exact model.
    pub api_protocol: Field<ApiProtocol>,
    /// Models this provider serves.
    pub models: Field<List<Spanned<ProviderModel>>>,
    /// Inherit protocol handling, headers and (when none are declared) models from another
    /// provider in this file or the built-in registry. Never inherits `api_key` or `api_base`.
    pub derives: Field<String>,
    /// Extra headers sent with every upstream request.
    pub headers: NameMap<Field<SecretText>>,
    /// Timeouts for this provider; unset keys come from `server.timeouts`.
    pub timeouts: Timeouts,
    /// Allow a private or loopback `api_base` (local Ollama, vLLM). Cloud-metadata and link-local
    /// addresses are refused regardless.
    pub allow_private: Field<bool>,
}

/// A model a provider serves.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ProviderModel {
    /// The model id callers and endpoints use (required).
    pub id: Field<String>,
    /// The id sent upstream, when it differs from `id`.
    pub upstream_id: Field<String>,
    /// Protocol for this model, beating every `api_protocol` pattern of the provider.
    pub api_protocol: Field<ProtocolList>,
    /// Prices in USD per million tokens.
    pub pricing: Pricing,
    /// Context window in tokens.
    pub context_window: Field<u64>,
    /// Largest completion in tokens.
    pub max_output_tokens: Field<u64>,
    /// What the model can do.
    pub capabilities: Field<List<Spanned<Capability>>>,
}

/// Prices in USD per million tokens.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Pricing {
    /// Prompt tokens.
    pub input: Field<f64>,
    /// Completion tokens (reasoning included).
    pub output: Field<f64>,
    /// Prompt tokens read from the provider's cache.
    pub cache_read: Field<f64>,
    /// Prompt tokens written to the provider's cache.
    pub cache_write: Field<f64>,
}

/// What a model can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    Tools,
    Vision,
    Reasoning,
    StructuredOutput,
    PromptCaching,
    Audio,
}

/// A virtual model.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct VirtualModel {
    /// How the first endpoint is chosen (default `priority`); the rest fail over in order.
    pub strategy: Field<Strategy>,
    /// The endpoints, in failover order.
    pub endpoints: Field<List<Spanned<Endpoint>>>,
    /// Free text for people and `GET /v1/models`.
    pub description: Field<String>,
}

/// How a virtual model picks its first endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Always start at the first endpoint.
    Priority,
    /// Rotate the starting endpoint request by request.
    RoundRobin,
    /// Pick the starting endpoint at random, in proportion to `weight`.
    Weighted,
}

/// One endpoint of a virtual model.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Endpoint {
    /// A provider id (from this file or the built-in registry).
    pub provider: Field<String>,
    /// The provider's model id. Exactly one of `service_id` and `model_id`.
    pub service_id: Field<String>,
    /// Same as `service_id`.
    pub model_id: Field<String>,
    /// Relative weight for the `weighted` strategy (default 1).
    pub weight: Field<u32>,
}

/// A preset (`@name`): a model plus default request parameters.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Preset {
    /// The model to use: a virtual model, `provider:model`, `provider/model` or a declared id.
    pub model: Field<String>,
    /// A system prompt put before the caller's own.
    pub system_prompt: Field<String>,
    /// Request parameters used when the caller does not set them (`temperature`, `max_tokens`...).
    pub params: Field<serde_json::Map<String, serde_json::Value>>,
}

/// A variant (`model:name`): routing preferences applied to whatever model is asked for.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Variant {
    /// Use only endpoints of these providers.
    pub providers: Field<List<Spanned<String>>>,
    /// Never use endpoints of these providers.
    pub exclude_providers: Field<List<Spanned<String>>>,
    /// Use this strategy instead of the model's own.
    pub strategy: Field<Strategy>,
}

/// The router's MCP endpoint.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Mcp {
    /// Serve MCP (default `false`).
    pub enabled: Field<bool>,
    /// The `mcp_servers` to expose (default: all).
    pub servers: Field<List<Spanned<String>>>,
}

/// An MCP server.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct McpServer {
    /// `stdio` (run `command`), `http` or `sse` (connect to `url`).
    pub transport: Field<McpTransport>,
    /// Program to run, for `stdio`.
    pub command: Field<String>,
    /// Its arguments.
    pub args: Field<List<String>>,
    /// Its environment.
    pub env: NameMap<Field<SecretText>>,
    /// Server URL, for `http` and `sse`.
    pub url: Field<String>,
    /// Headers sent to `url`.
    pub headers: NameMap<Field<SecretText>>,
}

/// How to reach an MCP server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum McpTransport {
    Stdio,
    Http,
    Sse,
}

/// An agent.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Agent {
    /// The model it uses (required): any name a caller could send.
    pub model: Field<String>,
    /// Its system prompt.
    pub system_prompt: Field<String>,
    /// `mcp_servers` it may use.
    pub mcp_servers: Field<List<Spanned<String>>>,
    /// `server_tools` it may use.
    pub server_tools: Field<List<Spanned<String>>>,
    /// Free text.
    pub description: Field<String>,
}

/// A tool the router runs for models.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ServerTool {
    /// What it is, e.g. `web_search` or `web_fetch` (required).
    pub kind: Field<String>,
    /// A provider that backs it, if any.
    pub provider: Field<String>,
    /// Tool-specific settings.
    pub options: Field<serde_json::Map<String, serde_json::Value>>,
}

/// The usage and spend database.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Database {
    /// `sqlite://PATH` (default: `bitrouter.db` in the home) or `postgres://...`.
    /// `--db` and `DATABASE_URL` override it.
    pub url: Field<String>,
}

/// A plugin.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Plugin {
    /// Load it (default `true`).
    pub enabled: Field<bool>,
    /// Where it is, when it is not built in.
    pub path: Field<String>,
    /// Plugin-specific settings.
    pub config: Field<serde_json::Map<String, serde_json::Value>>,
    /// `bitrouter-observe` only: OTLP export of traces and metrics.
    pub otel: Field<Otel>,
    /// `bitrouter-guardrails` only: content rules, checked in order.
    pub rules: Field<List<Spanned<GuardRule>>>,
}
