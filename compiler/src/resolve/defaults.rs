//! Every default of the file format, applied here and nowhere else (the `ast` doc comments,
//! and so the JSON Schema, state the same values).

use std::time::Duration;

use crate::ast::{self, Field, LogFormat, OnError, OtlpProtocol, RuleAction, RuleSource, Sampler};
use crate::resolved::{self, Setting, Strategy, TranslationMode};

pub const INHERIT_DEFAULTS: bool = true;
/// Loopback only, so a fresh install is not reachable from the network.
pub const LISTEN: &str = "127.0.0.1:4356";
pub const LOG_LEVEL: &str = "info";
pub const SKIP_AUTH: bool = false;
/// Translation drops (and names) what a target cannot express rather than refusing it.
pub const TRANSLATION: TranslationMode = TranslationMode::Lenient;
pub const MAX_BODY_SIZE: u64 = 32 << 20;
pub const MAX_HEADER_SIZE: u64 = 64 << 10;
pub const MAX_HEADERS: u32 = 100;
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const MAX_IN_FLIGHT: u32 = 4096;
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
pub const DRAIN_ACCEPT: Duration = Duration::from_secs(5);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(120);
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(600);
pub const MAX_ATTEMPTS: u32 = 3;
pub const BREAKER_FAILURES: u32 = 5;
pub const BREAKER_COOLDOWN: Duration = Duration::from_secs(30);
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 86_400);
/// `server.auth.budgets.*.window`: as for a token's `budget` claim without `budget_window`.
pub const BUDGET_WINDOW: auth::BudgetWindow = auth::BudgetWindow::Total;
pub const ALLOW_PRIVATE: bool = false;
pub const STRATEGY: Strategy = Strategy::Priority;
pub const WEIGHT: u32 = 1;
pub const MCP_ENABLED: bool = false;
pub const PLUGIN_ENABLED: bool = true;
pub const LOG_FORMAT: LogFormat = LogFormat::Text;
/// The plugin whose `otel` block configures OTLP export.
pub const OBSERVE_PLUGIN: &str = "bitrouter-observe";
pub const OTLP_PROTOCOL: OtlpProtocol = OtlpProtocol::Http;
pub const OTEL_SERVICE_NAME: &str = "bitrouter";
pub const OTEL_SAMPLER: Sampler = Sampler::ParentbasedAlwaysOn;
pub const OTEL_SAMPLER_ARG: f64 = 1.0;
/// The plugin whose `rules` are the guardrails.
pub const GUARDRAILS_PLUGIN: &str = "bitrouter-guardrails";
pub const RULE_ON: RuleSource = RuleSource::Both;
/// A webhook judges requests only.
pub const WEBHOOK_RULE_ON: RuleSource = RuleSource::Request;
pub const RULE_ACTION: RuleAction = RuleAction::Block;
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest `webhook.timeout`: every request waits for the verdict.
pub const MAX_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(30);
pub const WEBHOOK_ON_ERROR: OnError = OnError::FailClosed;
/// One call to `server.limits.store`: a loopback or same-zone round trip is well under 1 ms,
/// so this bounds only a store that is away.
pub const STORE_TIMEOUT: Duration = Duration::from_millis(100);
/// The longest `server.limits.store_timeout`: every limited request waits for the store.
pub const MAX_STORE_TIMEOUT: Duration = Duration::from_secs(5);

/// `field` as a setting: its value and span when set, else `default`.
pub(super) fn setting<T, U>(field: &Field<T>, default: U, f: impl FnOnce(&T) -> U) -> Setting<U> {
    match field.spanned() {
        Some(s) => Setting {
            value: f(&s.value),
            span: Some(s.span),
        },
        None => Setting::defaulted(default),
    }
}

pub(super) fn server(s: &ast::Server) -> resolved::Server {
    let l = &s.limits;
    let f = &s.failover;
    let defaults = resolved::Timeouts {
        connect: Setting::defaulted(CONNECT_TIMEOUT),
        first_byte: Setting::defaulted(FIRST_BYTE_TIMEOUT),
        idle: Setting::defaulted(IDLE_TIMEOUT),
        total: Setting::defaulted(TOTAL_TIMEOUT),
    };
    resolved::Server {
        listen: setting(&s.listen, LISTEN.to_owned(), Clone::clone),
        log_level: setting(&s.log_level, LOG_LEVEL.to_owned(), Clone::clone),
        skip_auth: s.skip_auth.get().copied().unwrap_or(SKIP_AUTH),
        control_socket: s.control_socket.get().cloned(),
        metrics_listen: s.metrics_listen.spanned().cloned(),
        log_format: s.log_format.get().copied().unwrap_or(LOG_FORMAT),
        limits: resolved::Limits {
            max_body_size: setting(&l.max_body_size, MAX_BODY_SIZE, |b| b.0),
            max_header_size: setting(&l.max_header_size, MAX_HEADER_SIZE, |b| b.0),
            max_headers: setting(&l.max_headers, MAX_HEADERS, |&n| n),
            header_read_timeout: setting(&l.header_read_timeout, HEADER_READ_TIMEOUT, |d| d.0),
            max_in_flight: setting(&l.max_in_flight, MAX_IN_FLIGHT, |&n| n),
            store: l.store.spanned().cloned(),
            on_store_error: l.on_store_error.spanned().cloned(),
            store_timeout: setting(&l.store_timeout, STORE_TIMEOUT, |d| d.0),
        },
        drain: resolved::Drain {
            timeout: setting(&s.drain.timeout, DRAIN_TIMEOUT, |d| d.0),
            accept: setting(&s.drain.accept, DRAIN_ACCEPT, |d| d.0),
        },
        timeouts: timeouts(&s.timeouts, &defaults, true),
        failover: resolved::Failover {
            max_attempts: setting(&f.max_attempts, MAX_ATTEMPTS, |&n| n),
            breaker_failures: setting(&f.breaker_failures, BREAKER_FAILURES, |&n| n),
            breaker_cooldown: setting(&f.breaker_cooldown, BREAKER_COOLDOWN, |d| d.0),
        },
        auth: resolved::Auth {
            trusted_keys: s
                .auth
                .trusted_keys
                .get()
                .map(|l| l.0.clone())
                .unwrap_or_default(),
            revoked_jti: s
                .auth
                .revoked_jti
                .get()
                .map(|l| l.0.clone())
                .unwrap_or_default(),
            max_token_lifetime: setting(&s.auth.max_token_lifetime, MAX_TOKEN_LIFETIME, |d| d.0),
            budgets: s
                .auth
                .budgets
                .iter()
                .map(|(key, b)| resolved::KeyBudget {
                    key: key.clone(),
                    usd: b.usd.clone(),
                    window: setting(&b.window, BUDGET_WINDOW, |w| match w {
                        ast::BudgetWindow::Day => auth::BudgetWindow::Day,
                        ast::BudgetWindow::Month => auth::BudgetWindow::Month,
                        ast::BudgetWindow::Total => auth::BudgetWindow::Total,
                    }),
                })
                .collect(),
        },
        translation: s.translation.get().copied().unwrap_or(TRANSLATION),
        // Neither list has a default entry: no origin and no extra host is allowed.
        cors_allowed_origins: s.cors.allowed_origins.clone().into_items(),
        allowed_hosts: s.allowed_hosts.clone().into_items(),
    }
}

/// The timeouts `t` writes over `under`, key by key. `in_file`: `t` is the user's file, so its
/// spans are kept (the registry's are not positions in that file).
pub(super) fn timeouts(
    t: &ast::Timeouts,
    under: &resolved::Timeouts,
    in_file: bool,
) -> resolved::Timeouts {
    let over = |f: &Field<ast::Duration>, under: Setting<Duration>| match f.spanned() {
        Some(s) => Setting {
            value: s.value.0,
            span: in_file.then_some(s.span),
        },
        None => Setting::defaulted(under.value),
    };
    resolved::Timeouts {
        connect: over(&t.connect, under.connect),
        first_byte: over(&t.first_byte, under.first_byte),
        idle: over(&t.idle, under.idle),
        total: over(&t.total, under.total),
    }
}
