//! The guardrail settings of the file format: the `bitrouter-guardrails` plugin's `rules`, each
//! a regular expression, a built-in detector or a webhook that blocks, redacts or logs content
//! in requests and answers. Only shapes here; meaning is checked by `validate`.

use serde::Deserialize;

#[cfg(feature = "schema")]
use schemars::JsonSchema;

use super::{Duration, Field, List, Spanned};

/// One guardrail rule (`plugins.bitrouter-guardrails.rules[]`). Exactly one of `pattern`,
/// `detector` and `webhook`.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct GuardRule {
    /// The rule's name (required, unique): what a refusal, a redaction and the metrics name.
    pub name: Field<String>,
    /// A regular expression (Rust `regex` syntax), e.g. `ACME-[0-9]{6}`.
    pub pattern: Field<String>,
    /// A built-in detector: `email`, `phone`, `credit_card` (Luhn-checked), `iban` (checksum),
    /// `us_ssn`, `ip_address` or `secrets` (API keys, tokens, private keys).
    // A string here, so an unknown name is a located E0080 with a suggestion; the schema still
    // lists the names for editors (`guardrails::Detector::ALL`, checked by a test).
    #[cfg_attr(
        feature = "schema",
        schemars(extend("enum" = ["email", "phone", "credit_card", "iban", "us_ssn", "ip_address", "secrets"]))
    )]
    pub detector: Field<String>,
    /// An HTTP service that judges each request (requests only; `block` or `log`).
    pub webhook: Field<GuardWebhook>,
    /// Where the rule looks: `request`, `response` or `both` (default `both`; `request` for a
    /// webhook, the only value it takes).
    pub on: Field<RuleSource>,
    /// What a match does: `block` (default), `redact` or `log`.
    pub action: Field<RuleAction>,
    /// What a `redact` rule writes instead of the match (default `[REDACTED:<name>]`).
    pub replacement: Field<String>,
    /// Model patterns (`*` any run, `?` one character) matched against the model the caller
    /// asked for; default: every model.
    pub models: Field<List<Spanned<String>>>,
    /// Key ids (a token's `jti` or its saved name) the rule applies to; default: every caller.
    pub keys: Field<List<Spanned<String>>>,
}

/// A webhook rule's service.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct GuardWebhook {
    /// The URL each request is posted to (required), e.g. `http://127.0.0.1:9000/check`.
    pub url: Field<String>,
    /// How long to wait for its verdict (default `2s`, at most `30s`).
    pub timeout: Field<Duration>,
    /// When the service fails or times out: `fail_closed` (default: refuse the request) or
    /// `fail_open` (let it through).
    pub on_error: Field<OnError>,
    /// Allow a private or loopback `url` (a local sidecar). Cloud-metadata and link-local
    /// addresses are refused regardless.
    pub allow_private: Field<bool>,
}

/// Which side of a call a rule checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RuleSource {
    /// The caller's request.
    Request,
    /// The answer (streamed or whole).
    Response,
    /// Both.
    Both,
}

impl RuleSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleSource::Request => "request",
            RuleSource::Response => "response",
            RuleSource::Both => "both",
        }
    }
}

/// What a rule's match does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    /// Refuse the request (or end the answer), naming the rule.
    Block,
    /// Replace the match with `replacement`.
    Redact,
    /// Only record it.
    Log,
}

impl RuleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleAction::Block => "block",
            RuleAction::Redact => "redact",
            RuleAction::Log => "log",
        }
    }
}

/// What a webhook rule does when its service cannot answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Refuse the request.
    FailClosed,
    /// Let the request through.
    FailOpen,
}

impl OnError {
    pub fn as_str(self) -> &'static str {
        match self {
            OnError::FailClosed => "fail_closed",
            OnError::FailOpen => "fail_open",
        }
    }
}
