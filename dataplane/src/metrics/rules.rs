//! Guardrail counters: `bitrouter_guardrail_checks_total{rule,phase,action}` (each match of a
//! content rule, and each webhook verdict) and `bitrouter_guardrail_webhook_failures_total
//! {rule,on_error}` (a webhook that did not answer usably). Rule names get label ids at
//! publish, like model names, so counting is one atomic add. A matched value is never a label.

use std::fmt;
use std::sync::atomic::Ordering;

use guardrails::{Action, Phase};
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;

use super::names::{Id, Names};
use super::series::{Counters, Series, field, pack};

/// Most rule names with series of their own (8 bits in a key).
const MAX_RULES: usize = 1 << 8;
const CHECK: [u32; 3] = [8, 1, 2]; // rule, phase, action
const FAILURE: [u32; 2] = [8, 1]; // rule, fail_open

#[derive(Debug)]
pub(crate) struct Rules {
    names: Names,
    checks: Counters,
    webhook_failures: Counters,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            names: Names::new(MAX_RULES),
            checks: Series::new(256, &[]),
            webhook_failures: Series::new(32, &[]),
        }
    }
}

fn action_id(a: Action) -> u64 {
    match a {
        Action::Block => 0,
        Action::Redact => 1,
        Action::Log => 2,
    }
}

const ACTIONS: [&str; 3] = ["block", "redact", "log"];

impl Rules {
    /// Label ids for a table's rule names, in order (at publish).
    pub(crate) fn labels<'a>(&self, names: impl Iterator<Item = &'a str>) -> Box<[Id]> {
        names.map(|n| self.names.intern(n)).collect()
    }

    /// One match (or webhook verdict) of `rule` in `phase` with its `action`.
    pub(crate) fn check(&self, rule: Id, phase: Phase, action: Action) {
        let phase = u64::from(phase == Phase::Response);
        self.checks.add(
            pack(&[
                (rule.into(), CHECK[0]),
                (phase, CHECK[1]),
                (action_id(action), CHECK[2]),
            ]),
            1,
        );
    }

    /// A webhook rule's service failed (error, timeout, an answer it could not read).
    pub(crate) fn webhook_failure(&self, rule: Id, fail_open: bool) {
        self.webhook_failures.add(
            pack(&[
                (rule.into(), FAILURE[0]),
                (u64::from(fail_open), FAILURE[1]),
            ]),
            1,
        );
    }

    pub(crate) fn encode(&self, enc: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let names = self.names.snapshot();
        let name = |id: u64| names.get(id as usize).map_or("other", |n| &**n);
        let mut e = enc.encode_descriptor(
            "bitrouter_guardrail_checks",
            "Content-rule matches and webhook verdicts, by rule, phase and action",
            None,
            MetricType::Counter,
        )?;
        let mut err = Ok(());
        self.checks.each(|k, v| {
            let v = v.load(Ordering::Relaxed);
            if err.is_err() || v == 0 {
                return;
            }
            let (rule, phase, action) = k.map_or(("other", "other", "other"), |k| {
                (
                    name(field(k, &CHECK, 0)),
                    ["request", "response"][field(k, &CHECK, 1) as usize],
                    ACTIONS
                        .get(field(k, &CHECK, 2) as usize)
                        .map_or("other", |a| a),
                )
            });
            err = super::encode::counter(
                &mut e,
                &[("rule", rule), ("phase", phase), ("action", action)],
                v,
            );
        });
        err?;
        let mut e = enc.encode_descriptor(
            "bitrouter_guardrail_webhook_failures",
            "Webhook rules whose service failed, by rule and what the failure did",
            None,
            MetricType::Counter,
        )?;
        let mut err = Ok(());
        self.webhook_failures.each(|k, v| {
            let v = v.load(Ordering::Relaxed);
            if err.is_err() || v == 0 {
                return;
            }
            let (rule, on_error) = k.map_or(("other", "other"), |k| {
                (
                    name(field(k, &FAILURE, 0)),
                    ["fail_closed", "fail_open"][field(k, &FAILURE, 1) as usize],
                )
            });
            err = super::encode::counter(&mut e, &[("rule", rule), ("on_error", on_error)], v);
        });
        err
    }
}
