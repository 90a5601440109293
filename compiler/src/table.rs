//! The routing table: the compiler's output and the data plane's only view of the configuration.
//!
//! Immutable once built, `Send + Sync`, shared through an `Arc`. Names are stored once and
//! referred to by dense ids; every virtual model's fallback chain, every endpoint's URLs, protocol
//! set, auth scheme, headers and timeouts are precomputed, so [`RoutingTable::route`] is a few
//! hash probes and allocates nothing.

mod dump;
mod guardrails;
mod lookup;
mod observe;
pub mod protocol;
mod secret;

use std::borrow::Cow;
use std::ops::Range;
use std::time::Duration;

use rustc_hash::FxHashMap;

pub use crate::ast::{Capability, Strategy, TranslationMode};
/// The SSRF rule for resolved addresses (the data plane re-checks after DNS).
pub use crate::upstream_url::{UrlProblem, classify as classify_upstream_ip};
pub use guardrails::{Guardrails, Webhook};
pub use lookup::{HopRef, LookupError, Route, RouteKind};
pub use observe::{LogFormat, Otel, OtlpProtocol, Sampler};
pub use protocol::{
    Choice, Protocol, ProtocolRules, ProtocolSet, ProtocolSource, ProtocolSourceRef,
};
pub use secret::Secret;

macro_rules! id {
    ($($name:ident),*) => {$(
        /// A dense index into the table.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub(crate) u32);
        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}
id!(
    ProviderId, TargetId, ModelId, DeclaredId, PresetId, VariantId
);

/// The compiled configuration.
#[derive(Debug)]
pub struct RoutingTable {
    pub(crate) server: ServerSettings,
    pub(crate) providers: Box<[Provider]>,
    pub(crate) targets: Box<[Target]>,
    pub(crate) models: Box<[VirtualModel]>,
    pub(crate) declared: Box<[DeclaredModel]>,
    pub(crate) hops: Box<[Hop]>,
    pub(crate) presets: Box<[Preset]>,
    pub(crate) variants: Box<[Variant]>,
    /// Virtual model names and bare declared ids (a virtual model wins a clash).
    pub(crate) by_name: FxHashMap<Box<str>, NameRef>,
    pub(crate) providers_by_name: FxHashMap<Box<str>, ProviderId>,
    pub(crate) presets_by_name: FxHashMap<Box<str>, PresetId>,
    pub(crate) variants_by_name: FxHashMap<Box<str>, VariantId>,
    pub(crate) declared_sections: DeclaredSections,
    /// `None`: no guardrail rules (or the plugin is disabled).
    pub(crate) guardrails: Option<Guardrails>,
    pub(crate) hash: String,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RoutingTable>();
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NameRef {
    Virtual(ModelId),
    Declared(DeclaredId),
}

/// Server settings with every default filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerSettings {
    pub listen: String,
    pub log_level: String,
    pub skip_auth: bool,
    pub control_socket: Option<String>,
    /// A second listener for `GET /metrics` only.
    pub metrics_listen: Option<String>,
    pub log_format: LogFormat,
    /// `None`: no OTLP export.
    pub otel: Option<Otel>,
    pub max_body_size: u64,
    pub max_header_size: u64,
    pub max_headers: u32,
    pub header_read_timeout: Duration,
    pub max_in_flight: u32,
    /// `server.drain.timeout`: how long open requests get after SIGTERM.
    pub drain_timeout: Duration,
    /// `server.drain.accept`: how long new connections are still accepted after SIGTERM.
    pub drain_accept: Duration,
    pub max_attempts: u32,
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
    pub database_url: Option<String>,
    /// `server.limits.store`: where limits and budgets are shared between replicas.
    pub limit_store: Option<LimitStore>,
    pub translation: TranslationMode,
    /// Exact browser origins (`scheme://host[:port]`) allowed to call the router.
    pub cors_allowed_origins: Box<[String]>,
    /// Extra host names callers may use in `Host`, lower-cased, without a port.
    pub allowed_hosts: Box<[String]>,
    pub auth: AuthSettings,
}

/// The shared store of per-key limits and budgets (`server.limits.store`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitStore {
    /// `redis://` or `rediss://` (checked), possibly with a password.
    pub url: Secret,
    /// `on_store_error: fail_open`: a request the store cannot check is admitted.
    pub fail_open: bool,
    /// The longest wait for one call.
    pub timeout: Duration,
}

/// `server.auth`: token issuers trusted besides the home's accounts, revoked token ids, the
/// longest token lifetime and per-key budgets. The keys have been checked
/// (`auth::PublicKey::parse`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthSettings {
    pub trusted_keys: Box<[String]>,
    pub revoked_jti: Box<[String]>,
    pub max_token_lifetime: Duration,
    /// `server.auth.budgets`, in file order.
    pub budgets: Box<[KeyBudget]>,
}

/// A spend budget for one key id (a token's name, else its `jti`), enforced besides any
/// `budget` claim the token carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyBudget {
    pub key: Box<str>,
    /// Micro-USD per window.
    pub micro_usd: u64,
    pub window: auth::BudgetWindow,
}

impl AuthSettings {
    /// The configured budget of `key`, if any.
    pub fn budget(&self, key: &str) -> Option<&KeyBudget> {
        self.budgets.iter().find(|b| &*b.key == key)
    }
}

/// Upstream timeouts for one provider, defaults filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timeouts {
    pub connect: Duration,
    pub first_byte: Duration,
    pub idle: Duration,
    pub total: Duration,
}

/// How the data plane authenticates to an upstream for a protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthScheme {
    /// `Authorization: Bearer <key>` (chat_completions, responses).
    Bearer,
    /// `x-api-key: <key>` and `anthropic-version` (messages).
    AnthropicKey { version: &'static str },
    /// `x-goog-api-key: <key>` (generate_content).
    GoogApiKey,
}

impl AuthScheme {
    pub fn for_protocol(p: Protocol) -> AuthScheme {
        match p {
            Protocol::ChatCompletions | Protocol::Responses => AuthScheme::Bearer,
            Protocol::Messages => AuthScheme::AnthropicKey {
                version: "2023-06-01",
            },
            Protocol::GenerateContent => AuthScheme::GoogApiKey,
        }
    }
}

/// A provider's credential.
#[derive(Clone, Debug, PartialEq)]
pub enum Credential {
    /// The provider takes none (local models).
    None,
    Key(Secret),
    /// Needed but the variable is unset: requests to this provider fail with this name.
    Missing(Box<str>),
}

/// An upstream provider, resolved.
#[derive(Debug)]
pub struct Provider {
    pub name: Box<str>,
    pub api_base: Box<str>,
    pub credential: Credential,
    pub headers: Box<[(Box<str>, Secret)]>,
    pub timeouts: Timeouts,
    pub allow_private: bool,
    /// `self -> parent -> ...` through `derives`.
    pub derives_chain: Box<[Box<str>]>,
    /// Merged with a built-in registry entry.
    pub builtin: bool,
    /// Declared in the user's file (not only in the registry).
    pub in_file: bool,
    /// Where the `api_protocol` rules came from ("config", "built-in registry", ...).
    pub protocol_origin: Box<str>,
    pub rules: ProtocolRules,
    /// Full request URL per protocol; for `generate_content`, the prefix `.../models/`.
    pub(crate) urls: [Box<str>; 4],
    pub(crate) models: FxHashMap<Box<str>, TargetId>,
}

impl Provider {
    pub fn auth(&self, p: Protocol) -> AuthScheme {
        AuthScheme::for_protocol(p)
    }

    /// The request URL for `protocol` and an upstream model id. Borrowed except for
    /// `generate_content` on a model not declared in the table (the model is in the path).
    pub fn url<'a>(
        &'a self,
        protocol: Protocol,
        upstream_model: &str,
        stream: bool,
    ) -> Cow<'a, str> {
        let base = &self.urls[protocol.index()];
        match protocol {
            Protocol::GenerateContent => Cow::Owned(gemini_url(base, upstream_model, stream)),
            _ => Cow::Borrowed(base),
        }
    }

    /// Targets for the models this provider declares.
    pub fn declared_models(&self) -> impl Iterator<Item = (&str, TargetId)> {
        self.models.iter().map(|(k, v)| (&**k, *v))
    }
}

pub(crate) fn gemini_url(prefix: &str, model: &str, stream: bool) -> String {
    if stream {
        format!("{prefix}{model}:streamGenerateContent?alt=sse")
    } else {
        format!("{prefix}{model}:generateContent")
    }
}

/// A provider plus an upstream model: one place a request can be sent.
#[derive(Debug)]
pub struct Target {
    pub provider: ProviderId,
    /// The id as declared (what callers and endpoints name).
    pub id: Box<str>,
    /// The id sent upstream.
    pub upstream: Box<str>,
    /// Declared in the provider's `models` (false: named by an endpoint or preset only).
    pub declared: bool,
    pub protocols: ProtocolSet,
    pub protocol_source: ProtocolSource,
    /// `generate_content` URLs (request, stream) when the set contains it.
    pub(crate) gemini: Option<(Box<str>, Box<str>)>,
    pub pricing: Pricing,
    pub context_window: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub capabilities: Box<[Capability]>,
}

/// USD per million tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pricing {
    pub input: Option<f64>,
    pub output: Option<f64>,
    pub cache_read: Option<f64>,
    pub cache_write: Option<f64>,
}

/// A virtual model.
#[derive(Debug)]
pub struct VirtualModel {
    pub name: Box<str>,
    pub strategy: Strategy,
    pub description: Option<Box<str>>,
    pub(crate) hops: Range<u32>,
}

/// A bare model id declared by one or more providers; its chain is those providers in order.
#[derive(Debug)]
pub struct DeclaredModel {
    pub id: Box<str>,
    pub(crate) hops: Range<u32>,
}

/// One step of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hop {
    pub target: TargetId,
    pub weight: u32,
}

/// A preset (`@name`).
#[derive(Debug)]
pub struct Preset {
    pub name: Box<str>,
    /// The model as written in the preset.
    pub model: Box<str>,
    pub(crate) route: PresetRoute,
    pub system_prompt: Option<Box<str>>,
    /// Default request parameters, as a JSON object.
    pub params_json: Box<str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PresetRoute {
    Name(NameRef),
    Target(TargetId),
}

/// A variant (`:name`).
#[derive(Debug)]
pub struct Variant {
    pub name: Box<str>,
    /// Only these providers (empty: all).
    pub(crate) only: Box<[ProviderId]>,
    pub(crate) exclude: Box<[ProviderId]>,
    pub strategy: Option<Strategy>,
}

impl Variant {
    pub fn allows(&self, p: ProviderId) -> bool {
        (self.only.is_empty() || self.only.contains(&p)) && !self.exclude.contains(&p)
    }
}

/// Sections that are parsed and checked but not yet served, for `bitrouter status`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeclaredSections {
    pub mcp_enabled: bool,
    pub mcp_servers: Vec<String>,
    pub agents: Vec<String>,
    pub server_tools: Vec<String>,
    pub plugins: Vec<String>,
}

impl RoutingTable {
    pub fn server(&self) -> &ServerSettings {
        &self.server
    }

    /// SHA-256 of the table's canonical dump, lower-case hex. Secrets enter it only through
    /// their own SHA-256, so a rotated key changes the hash without the hash revealing it.
    pub fn content_hash(&self) -> &str {
        &self.hash
    }

    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    pub fn provider(&self, id: ProviderId) -> &Provider {
        &self.providers[id.index()]
    }

    pub fn provider_by_name(&self, name: &str) -> Option<(ProviderId, &Provider)> {
        self.providers_by_name
            .get(name)
            .map(|&id| (id, self.provider(id)))
    }

    /// Every target, indexed by [`TargetId::index`].
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    pub fn target(&self, id: TargetId) -> &Target {
        &self.targets[id.index()]
    }

    pub fn virtual_models(&self) -> &[VirtualModel] {
        &self.models
    }

    pub fn declared_models(&self) -> &[DeclaredModel] {
        &self.declared
    }

    pub fn presets(&self) -> &[Preset] {
        &self.presets
    }

    pub fn variants(&self) -> &[Variant] {
        &self.variants
    }

    pub fn declared_sections(&self) -> &DeclaredSections {
        &self.declared_sections
    }

    /// Names `GET /v1/models` lists: virtual models, then bare declared ids.
    pub fn model_names(&self) -> impl Iterator<Item = &str> {
        self.models.iter().map(|m| &*m.name).chain(
            self.declared
                .iter()
                .filter(|d| matches!(self.by_name.get(&*d.id), Some(NameRef::Declared(_))))
                .map(|d| &*d.id),
        )
    }

    /// Number of names a caller can route to without a provider prefix.
    pub fn routable_model_count(&self) -> usize {
        self.by_name.len()
    }
}

impl Target {
    /// The URL for `protocol` (which must be in [`Target::protocols`] for a precomputed one).
    pub fn url<'a>(
        &'a self,
        provider: &'a Provider,
        protocol: Protocol,
        stream: bool,
    ) -> Cow<'a, str> {
        match (protocol, &self.gemini) {
            (Protocol::GenerateContent, Some((req, st))) => {
                Cow::Borrowed(if stream { st } else { req })
            }
            _ => provider.url(protocol, &self.upstream, stream),
        }
    }
}
