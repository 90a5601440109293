//! Entry points for the benchmarks and allocation tests in `benches/` (hidden API; nothing
//! else uses them): the request hygiene rules (`benches/benches/hygiene.rs`, what
//! `request::shape` adds to reading a body) and the gate a table builds (`benches/benches/auth.rs`,
//! `benches/tests/alloc.rs`: a first verification against a cached one, and a token's own
//! limits on this replica).

use crate::gate;
use crate::json::PooledScratch;
use crate::limits;
use crate::request::{inspect, shape};
use compiler::table::AuthSettings;
use compiler::table::Protocol;
use http::HeaderMap;
use std::time::Duration;

/// simd-json's parse alone: what reading a body cost before the hygiene rules.
pub fn parse(body: &[u8]) -> bool {
    let mut s = PooledScratch::take();
    s.get().parse_tape(body, |t| t.0.len()).is_ok_and(|n| n > 0)
}

/// Parse, then the hygiene rules: the difference from [`parse`] is their cost.
pub fn parse_and_check(protocol: Protocol, body: &[u8]) -> bool {
    let mut s = PooledScratch::take();
    s.get()
        .parse_tape(body, |t| shape::check(&t.0, protocol).is_ok())
        .unwrap_or(false)
}

/// Parses `body` once and hands `f` the hygiene check of that tape, to time it alone.
pub fn with_parsed<R>(
    protocol: Protocol,
    body: &[u8],
    f: impl FnOnce(&dyn Fn() -> bool) -> R,
) -> Option<R> {
    let mut s = PooledScratch::take();
    s.get()
        .parse_tape(body, |t| f(&|| shape::check(&t.0, protocol).is_ok()))
        .ok()
}

/// The whole of `request::inspect` (parse, hygiene, `model` / `stream`, byte positions).
pub fn inspect_body(protocol: Protocol, body: &[u8]) -> bool {
    let mut s = PooledScratch::take();
    let path_model = (protocol == Protocol::GenerateContent).then(|| "m".into());
    inspect(s.get(), protocol, body, path_model, false).is_ok()
}

/// A table's gate with its own rate-limit logs.
#[derive(Debug)]
pub struct Gate {
    gate: gate::Gate,
    limits: gate::RateLimits,
}

impl Gate {
    /// A gate trusting `trust`'s issuers (lifetime limit a year).
    pub fn new(trust: &auth::Trust) -> Gate {
        let settings = AuthSettings {
            trusted_keys: Box::new([]),
            revoked_jti: Box::new([]),
            max_token_lifetime: Duration::from_secs(365 * 86_400),
            budgets: Box::new([]),
        };
        Gate {
            gate: gate::Gate::new(&settings, trust),
            limits: gate::RateLimits::default(),
        }
    }

    /// Admits the credential in `headers` for a model call: the hot path's authentication.
    pub fn admit(&self, headers: &HeaderMap) -> bool {
        self.gate
            .admit(&self.limits, headers, None, auth::Scope::Api)
            .is_ok()
    }

    /// As [`Gate::admit`], then the token's own limits as `limits::Local` takes them for a
    /// model call (`rpm`, a `concurrency` slot, `tokens` under `tpm`), and the request's end
    /// (`limits::Admission::end`: the slot given back, the tokens settled to none used).
    pub fn admit_limited(&self, headers: &HeaderMap, tokens: u64) -> bool {
        let Ok(c) = self
            .gate
            .admit(&self.limits, headers, None, auth::Scope::Api)
        else {
            return false;
        };
        let Ok(slot) = c.admit_local() else {
            return false;
        };
        let Ok(taken) = c.take_tokens_local(tokens) else {
            return false;
        };
        let a = limits::Admission::new(
            slot.map(limits::Held::Local),
            taken.map(|(limits, second)| limits::Tokens::Local {
                limits,
                second,
                amount: tokens,
            }),
        );
        a.end(Some(0));
        true
    }
}
