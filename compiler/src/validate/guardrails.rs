//! Checks on the guardrail rules of the `bitrouter-guardrails` plugin: names (present, unique),
//! exactly one source per rule, detectors, webhooks (URL with the upstream SSRF guard, timeout,
//! requests only, no redaction), keys that have no effect; then the pattern and detector rules
//! are compiled with `guardrails::Guard::compile` and its errors are located at the rule's
//! `pattern`. The compiled guard is kept for `lower`, which cannot fail.

use std::sync::Arc;

use guardrails::{Detector, Guard, RuleSpec};

use crate::diagnostic::{Code, Diagnostic, Diagnostics, suggest};
use crate::resolve::defaults::{GUARDRAILS_PLUGIN, MAX_WEBHOOK_TIMEOUT};
use crate::resolved::{self, RuleAction, RuleSource, Spanned};
use crate::source::Span;
use crate::upstream_url::{self, UrlProblem};

const RULES: &str = "plugins.bitrouter-guardrails.rules";

pub(super) fn check(acc: &mut Diagnostics, cfg: &mut resolved::Config) {
    for p in &cfg.plugins {
        if let Some(span) = p.rules_span.filter(|_| p.name.value != GUARDRAILS_PLUGIN) {
            acc.push(
                Diagnostic::error(
                    Code::UnknownKey,
                    format!("plugins.{}.rules", p.name.value),
                    format!("plugin `{}` takes no `rules` list", p.name.value),
                )
                .at(span)
                .help(format!(
                    "guardrail rules are configured under `plugins.{GUARDRAILS_PLUGIN}.rules`"
                )),
            );
        }
    }
    let g = &cfg.guardrails;
    if g.disabled || g.rules.is_empty() {
        return;
    }
    cfg.guardrails.guard = rules(acc, &cfg.guardrails.rules).map(Arc::new);
}

/// Checks every rule and compiles the pattern and detector ones; `None` when any rule is bad.
fn rules(acc: &mut Diagnostics, rules: &[resolved::GuardRule]) -> Option<Guard> {
    let mut ok = true;
    let mut names: Vec<&Spanned<String>> = Vec::new();
    // The rules the guard compiles, and for each the rule it came from.
    let mut specs: Vec<RuleSpec> = Vec::new();
    let mut origin: Vec<usize> = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let path = format!("{RULES}[{i}]");
        ok &= name(acc, &path, r, &mut names);
        let what = match &r.name {
            Some(n) => format!("rule `{}`", n.value),
            None => "this rule".to_owned(),
        };
        ok &= list(acc, &format!("{path}.models"), &r.models, "model pattern");
        ok &= list(acc, &format!("{path}.keys"), &r.keys, "key id");
        if let Some(rep) = &r.replacement
            && r.action.value != RuleAction::Redact
        {
            acc.push(
                Diagnostic::warning(
                    Code::RuleKeyIgnored,
                    format!("{path}.replacement"),
                    format!("`replacement` has no effect: {what} does not redact"),
                )
                .at(rep.span)
                .help("remove it, or set `action: redact`"),
            );
        }

        let written: Vec<(&str, Span)> = [
            ("pattern", r.pattern.as_ref().map(|p| p.span)),
            ("detector", r.detector.as_ref().map(|d| d.span)),
            ("webhook", r.webhook.as_ref().map(|w| w.span)),
        ]
        .into_iter()
        .filter_map(|(k, s)| s.map(|s| (k, s)))
        .collect();
        match written[..] {
            [] => {
                ok = false;
                if !r.source_invalid {
                    acc.push(
                        Diagnostic::error(
                            Code::InvalidRule,
                            path,
                            format!("{what} has none of `pattern`, `detector` and `webhook`"),
                        )
                        .at(r.name.as_ref().map_or(r.span, |n| n.span))
                        .help("add one, e.g. `detector: email`, `pattern: \"ACME-[0-9]{6}\"` or `webhook: { url: ... }`"),
                    );
                }
                continue;
            }
            [_] => {}
            [(first, first_span), (second, span), ..] => {
                ok = false;
                acc.push(
                    Diagnostic::error(
                        Code::InvalidRule,
                        format!("{path}.{second}"),
                        format!("{what} has both `{first}` and `{second}`"),
                    )
                    .at(span)
                    .note(first_span, format!("`{first}` here"))
                    .help("a rule has exactly one of `pattern`, `detector` and `webhook`; split it into two rules"),
                );
                continue;
            }
        }

        if let Some(w) = &r.webhook {
            ok &= webhook(acc, &path, &what, r, w);
            continue;
        }
        let detector = match &r.detector {
            None => None,
            Some(d) => match Detector::parse(d.value.trim()) {
                Some(det) => Some(det),
                None => {
                    ok = false;
                    let known: Vec<&str> = Detector::ALL.iter().map(|d| d.name()).collect();
                    acc.push(
                        Diagnostic::error(
                            Code::InvalidRule,
                            format!("{path}.detector"),
                            format!("unknown detector `{}`", d.value),
                        )
                        .at(d.span)
                        .help_opt(suggest(&d.value, &known)),
                    );
                    continue;
                }
            },
        };
        specs.push(RuleSpec {
            name: r.name.as_ref().map(|n| n.value.clone()).unwrap_or_default(),
            pattern: r.pattern.as_ref().map(|p| p.value.clone()),
            detector,
            on: match r.on.value {
                RuleSource::Request => guardrails::Source::Request,
                RuleSource::Response => guardrails::Source::Response,
                RuleSource::Both => guardrails::Source::Both,
            },
            action: match r.action.value {
                RuleAction::Block => guardrails::Action::Block,
                RuleAction::Redact => guardrails::Action::Redact,
                RuleAction::Log => guardrails::Action::Log,
            },
            replacement: r.replacement.as_ref().map(|p| p.value.clone()),
            models: r.models.iter().map(|m| m.value.clone()).collect(),
            keys: r.keys.iter().map(|k| k.value.clone()).collect(),
        });
        origin.push(i);
    }

    // Compiled even when other rules are bad, so every bad pattern is reported in one run.
    match Guard::compile(&specs) {
        Ok(guard) => ok.then_some(guard),
        Err(errors) => {
            for e in errors {
                let r = origin.get(e.rule).map(|&i| (i, &rules[i]));
                let (path, span) = match r {
                    Some((i, r)) => match (&r.pattern, &r.detector) {
                        (Some(p), _) => (format!("{RULES}[{i}].pattern"), p.span),
                        (None, Some(d)) => (format!("{RULES}[{i}].detector"), d.span),
                        (None, None) => (format!("{RULES}[{i}]"), r.span),
                    },
                    None => (RULES.to_owned(), rules[0].span),
                };
                acc.push(Diagnostic::error(Code::InvalidRule, path, one_line(&e.message)).at(span));
            }
            None
        }
    }
}

/// The rule's name: present, not empty, not taken.
fn name<'a>(
    acc: &mut Diagnostics,
    path: &str,
    r: &'a resolved::GuardRule,
    seen: &mut Vec<&'a Spanned<String>>,
) -> bool {
    let Some(n) = &r.name else {
        acc.push(
            Diagnostic::error(
                Code::MissingKey,
                format!("{path}.name"),
                "guardrail rule has no `name`",
            )
            .at(r.span)
            .help("add `name: <a unique name>`; refusals and metrics name the rule"),
        );
        return false;
    };
    if n.value.trim().is_empty() {
        acc.push(
            Diagnostic::error(
                Code::InvalidRule,
                format!("{path}.name"),
                "a rule name cannot be empty",
            )
            .at(n.span),
        );
        return false;
    }
    if let Some(first) = seen.iter().find(|s| s.value == n.value) {
        acc.push(
            Diagnostic::error(
                Code::DuplicateRule,
                format!("{path}.name"),
                format!("guardrail rule `{}` is defined twice", n.value),
            )
            .at(n.span)
            .note(first.span, "first defined here")
            .help("rule names are unique; rename or remove one"),
        );
        return false;
    }
    seen.push(n);
    true
}

/// `models` and `keys`: no empty entry (it would match nothing).
fn list(acc: &mut Diagnostics, path: &str, items: &[Spanned<String>], what: &str) -> bool {
    let mut ok = true;
    for (i, it) in items.iter().enumerate() {
        if it.value.trim().is_empty() {
            ok = false;
            acc.push(
                Diagnostic::error(
                    Code::InvalidRule,
                    format!("{path}[{i}]"),
                    format!("an empty {what} matches nothing"),
                )
                .at(it.span),
            );
        }
    }
    ok
}

fn webhook(
    acc: &mut Diagnostics,
    path: &str,
    what: &str,
    r: &resolved::GuardRule,
    w: &Spanned<resolved::GuardWebhook>,
) -> bool {
    let mut ok = true;
    if let Some((on, span)) = r.on.written().filter(|(on, _)| **on != RuleSource::Request) {
        ok = false;
        acc.push(
            Diagnostic::error(
                Code::InvalidRule,
                format!("{path}.on"),
                format!(
                    "{what} is a webhook, which checks requests only, not `{}`",
                    on.as_str()
                ),
            )
            .at(span)
            .help("remove `on` (or write `on: request`); check answers with a `pattern` or `detector` rule"),
        );
    }
    if let Some((RuleAction::Redact, span)) = r.action.written().map(|(a, s)| (*a, s)) {
        ok = false;
        acc.push(
            Diagnostic::error(
                Code::InvalidRule,
                format!("{path}.action"),
                format!("{what} is a webhook, which cannot redact"),
            )
            .at(span)
            .help("use `action: block` or `action: log`"),
        );
    }
    let wpath = format!("{path}.webhook");
    let w_span = w.span;
    let w = &w.value;
    match &w.url {
        None => {
            ok = false;
            acc.push(
                Diagnostic::error(
                    Code::MissingKey,
                    format!("{wpath}.url"),
                    "the webhook has no `url`",
                )
                .at(w_span)
                .help("add `url: http://127.0.0.1:9000/check` (the service's address)"),
            );
        }
        Some(url) => {
            let upath = format!("{wpath}.url");
            let problem = match upstream_url::check(&url.value, w.allow_private) {
                Ok(_) => None,
                Err(UrlProblem::Invalid(m)) => Some((Code::InvalidUrl, m, None)),
                Err(UrlProblem::Forbidden(m)) => Some((
                    Code::ForbiddenHost,
                    format!("refusing webhook address: {m}"),
                    Some("cloud-metadata and link-local addresses are always refused (SSRF guard)"),
                )),
                Err(UrlProblem::Private(m)) => Some((
                    Code::PrivateHost,
                    format!("refusing webhook address: {m}"),
                    Some("if the service is local, set `allow_private: true` in the webhook"),
                )),
            };
            if let Some((code, msg, help)) = problem {
                ok = false;
                acc.push(
                    Diagnostic::error(code, upath, msg)
                        .at(url.span)
                        .help_opt(help.map(str::to_owned)),
                );
            }
        }
    }
    if let Some((t, span)) = w.timeout.written()
        && (t.is_zero() || *t > MAX_WEBHOOK_TIMEOUT)
    {
        ok = false;
        acc.push(
            Diagnostic::error(
                Code::InvalidValue,
                format!("{wpath}.timeout"),
                format!(
                    "a webhook timeout must be more than 0 and at most {}s",
                    MAX_WEBHOOK_TIMEOUT.as_secs()
                ),
            )
            .at(span)
            .help("every request waits for the verdict; write e.g. `2s`"),
        );
    }
    ok
}

/// The first line of a compile error (the regex engine may add a caret diagram).
fn one_line(m: &str) -> String {
    m.lines().next().unwrap_or(m).trim().to_owned()
}
