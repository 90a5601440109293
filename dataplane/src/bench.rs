//! Entry points for the benchmarks and allocation tests in `benches/` (hidden API): the gate a
//! table builds, to measure a first verification against a cached one.

use std::time::Duration;

use compiler::table::AuthSettings;
use http::HeaderMap;

use crate::gate;

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
}
