//! Guardrails of the table: the pattern and detector rules compiled into one
//! `guardrails::Guard`, and the webhook rules, checked and with their defaults, ready for the
//! data plane. Absent (`RoutingTable::guardrails` is `None`) when there are no rules or the
//! plugin is disabled, so a router without guardrails pays nothing for them.

use std::sync::Arc;
use std::time::Duration;

use super::RoutingTable;

/// `plugins.bitrouter-guardrails`, compiled.
#[derive(Debug)]
pub struct Guardrails {
    /// The pattern and detector rules, in config order (`Guard::rule_name` gives a rule's
    /// name). Empty when every rule is a webhook.
    pub guard: Arc<guardrails::Guard>,
    /// The webhook rules, in config order.
    pub webhooks: Vec<Webhook>,
    /// Every rule as the table dump shows it (one line each, config order).
    pub(crate) lines: Box<[String]>,
}

/// A webhook rule: each request it selects is posted to `url`, which decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub name: String,
    /// Checked as upstream base URLs are (absolute `http(s)`, no credentials, query or
    /// fragment, the SSRF guard); private and loopback hosts only with `allow_private`.
    pub url: String,
    /// How long to wait for the verdict: more than 0, at most 30s.
    pub timeout: Duration,
    /// When the service fails or times out, let the request through (else refuse it).
    pub fail_open: bool,
    /// A refusing verdict blocks the request (`action: block`); else it is only logged.
    pub block: bool,
    /// Model patterns (`*`, `?`) matched against the model the caller asked for; empty: all.
    pub models: Vec<String>,
    /// Key ids (`jti` or saved name); empty: every caller.
    pub keys: Vec<String>,
    /// The operator allowed a private or loopback `url`: the data plane's check of the
    /// resolved address (`classify_upstream_ip`) takes the same flag.
    pub allow_private: bool,
}

impl RoutingTable {
    /// `None` when there are no rules or `bitrouter-guardrails` is disabled.
    pub fn guardrails(&self) -> Option<&Guardrails> {
        self.guardrails.as_ref()
    }
}
