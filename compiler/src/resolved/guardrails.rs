//! Guardrails after `resolve`: the `bitrouter-guardrails` plugin's rules with their defaults
//! applied, each value with the span it was written at, so `validate` can point at it. Nothing
//! here is compiled yet; `validate` compiles the pattern and detector rules into
//! [`Guardrails::guard`].

use std::sync::Arc;
use std::time::Duration;

use crate::ast::{OnError, RuleAction, RuleSource};
use crate::source::Span;

use super::{Setting, Spanned};

/// `plugins.bitrouter-guardrails.rules`.
#[derive(Clone, Debug, Default)]
pub struct Guardrails {
    /// The plugin has `enabled: false`: the rules have no effect and are not checked.
    pub disabled: bool,
    pub rules: Vec<GuardRule>,
    /// The pattern and detector rules compiled, in config order: set by `validate` when every
    /// rule is valid (and there is at least one rule), read by `lower`.
    pub guard: Option<Arc<guardrails::Guard>>,
}

/// One rule, defaults applied.
#[derive(Clone, Debug)]
pub struct GuardRule {
    /// The list element.
    pub span: Span,
    /// `None`: not written, or written but invalid (already reported).
    pub name: Option<Spanned<String>>,
    pub pattern: Option<Spanned<String>>,
    pub detector: Option<Spanned<String>>,
    pub webhook: Option<Spanned<GuardWebhook>>,
    /// One of `pattern`, `detector` and `webhook` is written but could not be read (already
    /// reported): no "missing source" about this rule.
    pub source_invalid: bool,
    pub on: Setting<RuleSource>,
    pub action: Setting<RuleAction>,
    pub replacement: Option<Spanned<String>>,
    pub models: Vec<Spanned<String>>,
    pub keys: Vec<Spanned<String>>,
}

/// A webhook rule's service, defaults applied.
#[derive(Clone, Debug)]
pub struct GuardWebhook {
    pub url: Option<Spanned<String>>,
    pub timeout: Setting<Duration>,
    pub on_error: OnError,
    pub allow_private: bool,
}
