//! Guardrail rules: the `bitrouter-guardrails` plugin's `rules` read into their resolved form,
//! defaults applied (`on`, `action`, the webhook's `timeout` and `on_error`). Values are only
//! read here; `validate` reports the bad ones and compiles the rest.

use crate::ast::{self, NameMap};
use crate::resolved::{self, Setting, Spanned};

use super::defaults::{
    self, ALLOW_PRIVATE, GUARDRAILS_PLUGIN, PLUGIN_ENABLED, RULE_ACTION, RULE_ON, WEBHOOK_ON_ERROR,
    WEBHOOK_RULE_ON, WEBHOOK_TIMEOUT,
};

pub(super) fn guardrails(plugins: &NameMap<ast::Plugin>) -> resolved::Guardrails {
    let Some(plugin) = plugins.get(GUARDRAILS_PLUGIN) else {
        return resolved::Guardrails::default();
    };
    let enabled = plugin.enabled.get().copied().unwrap_or(PLUGIN_ENABLED);
    resolved::Guardrails {
        disabled: !enabled,
        rules: plugin.rules.items().iter().map(rule).collect(),
        guard: None,
    }
}

fn rule(r: &Spanned<ast::GuardRule>) -> resolved::GuardRule {
    let span = r.span;
    let r = &r.value;
    let webhook = r.webhook.spanned().map(|w| Spanned {
        value: webhook(&w.value),
        span: w.span,
    });
    let on_default = if webhook.is_some() {
        WEBHOOK_RULE_ON
    } else {
        RULE_ON
    };
    resolved::GuardRule {
        span,
        name: r.name.spanned().cloned(),
        pattern: r.pattern.spanned().cloned(),
        detector: r.detector.spanned().cloned(),
        webhook,
        source_invalid: r.pattern.is_invalid() || r.detector.is_invalid() || r.webhook.is_invalid(),
        on: defaults::setting(&r.on, on_default, |v| *v),
        action: defaults::setting(&r.action, RULE_ACTION, |v| *v),
        replacement: r.replacement.spanned().cloned(),
        models: r.models.items().to_vec(),
        keys: r.keys.items().to_vec(),
    }
}

fn webhook(w: &ast::GuardWebhook) -> resolved::GuardWebhook {
    resolved::GuardWebhook {
        url: w.url.spanned().cloned(),
        timeout: match w.timeout.spanned() {
            Some(s) => Setting {
                value: s.value.0,
                span: Some(s.span),
            },
            None => Setting::defaulted(WEBHOOK_TIMEOUT),
        },
        on_error: w.on_error.get().copied().unwrap_or(WEBHOOK_ON_ERROR),
        allow_private: w.allow_private.get().copied().unwrap_or(ALLOW_PRIVATE),
    }
}
