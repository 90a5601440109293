//! Caller authentication on the hot path: the credential from `Authorization: Bearer`,
//! `x-api-key`, `x-goog-api-key` or Gemini's `?key=` (never forwarded, never logged), verified
//! against the table's trusted issuers (`auth::verify`), cached, then checked for scope,
//! model and rate.
//!
//! A verified token is cached per published table, keyed by a hash of the token and checked
//! against the whole token on every hit, so a steady caller costs one hash, one read lock and
//! one comparison — no signature check and no allocation (`auth/benches/verify.rs`,
//! `benches/tests/alloc.rs`). An entry is never used past the token's `exp`, and a reload starts
//! a new cache, so a revocation takes effect for the next request. A token's own limits
//! (`rpm`, `tpm`, `concurrency`) are counted per token id and kept across reloads
//! ([`limiter`]).

mod limiter;

use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth::{Reject, Scope, Trust, Verified};
use compiler::table::AuthSettings;
use http::HeaderMap;
use rustc_hash::{FxBuildHasher, FxHashMap};
use translate::ir::ErrorKind;

use crate::error::ProxyError;
use crate::spend::{self, Budget, BudgetWindow, Spend};

pub(crate) use limiter::{Claimed, KeyLimits, RateLimits, Refused, Slot};

/// Cached tokens: shards × entries per shard.
const SHARDS: usize = 16;
const PER_SHARD: usize = 512;

/// A verified caller, shared by every request that presents the same token.
#[derive(Debug)]
pub(crate) struct Caller {
    pub(crate) token: Verified,
    /// Its `rpm`, `tpm` and `concurrency` counters (none when it claims none).
    limits: Option<Arc<KeyLimits>>,
    /// The budgets it is held to, found on its first model call under this table.
    budgets: OnceLock<Box<[Budget]>>,
}

/// The per-table gate: who is trusted, and the tokens verified so far.
#[derive(Debug)]
pub(crate) struct Gate {
    trust: Trust,
    cache: [RwLock<FxHashMap<u64, Entry>>; SHARDS],
}

#[derive(Debug)]
struct Entry {
    token: Box<[u8]>,
    caller: Arc<Caller>,
}

impl Gate {
    /// The table's `server.auth` plus `extra` (the home's accounts and revocation file).
    pub(crate) fn new(settings: &AuthSettings, extra: &Trust) -> Gate {
        let mut trust = Trust::new(settings.max_token_lifetime.as_secs());
        for k in &settings.trusted_keys {
            // Checked by the compiler with the same parser.
            if let Ok(key) = auth::PublicKey::parse(k) {
                trust.trust(key);
            }
        }
        trust.merge(extra);
        for j in &settings.revoked_jti {
            trust.revoke(j.clone());
        }
        Gate {
            trust,
            cache: std::array::from_fn(|_| RwLock::new(FxHashMap::default())),
        }
    }

    /// The caller behind `headers`/`query`, allowed `need`.
    pub(crate) fn admit(
        &self,
        limits: &RateLimits,
        headers: &HeaderMap,
        query: Option<&str>,
        need: Scope,
    ) -> Result<Arc<Caller>, ProxyError> {
        let token = credential(headers, query).map_err(refused)?;
        let caller = self.verify(limits, token).map_err(refused)?;
        caller.token.authorize(need, None).map_err(refused)?;
        Ok(caller)
    }

    fn verify(&self, limits: &RateLimits, token: &[u8]) -> Result<Arc<Caller>, Reject> {
        let now = unix_now();
        let hash = {
            let mut h = FxBuildHasher.build_hasher();
            h.write(token);
            h.finish()
        };
        let shard = &self.cache[(hash as usize) % SHARDS];
        if let Some(e) = shard
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&hash)
            && *e.token == *token
            && e.caller.token.exp > now
        {
            return Ok(Arc::clone(&e.caller));
        }
        // First sight of this token under this table: a signature check (tens of µs).
        let verified = auth::verify(token, &self.trust, now)?;
        let claimed = Claimed {
            rpm: verified.rpm,
            tpm: verified.tpm,
            concurrency: verified.concurrency,
        };
        let limits = claimed.any().then(|| limits.get(&verified.jti, claimed));
        let caller = Arc::new(Caller {
            token: verified,
            limits,
            budgets: OnceLock::new(),
        });
        let mut map = shard.write().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= PER_SHARD
            && let Some(k) = map.keys().next().copied()
        {
            map.remove(&k);
        }
        map.insert(
            hash,
            Entry {
                token: token.into(),
                caller: Arc::clone(&caller),
            },
        );
        Ok(caller)
    }
}

impl Caller {
    /// The model the caller named must be one its token allows.
    pub(crate) fn authorize_call(&self, model: &str) -> Result<(), ProxyError> {
        self.token
            .authorize(Scope::Api, Some(model))
            .map_err(refused)
    }

    /// One request under the token's `rpm`, then a slot under its `concurrency`, counted on
    /// this replica (`limits::Local`). The slot is held until the request ends.
    pub(crate) fn admit_local(&self) -> Result<Option<Slot>, ProxyError> {
        let Some(l) = &self.limits else {
            return Ok(None);
        };
        l.touch();
        if let Some(w) = &l.rpm {
            w.take(Instant::now(), 1).map_err(|r| {
                let wait = match r {
                    Refused::Wait(d) => d,
                    // `rpm: 0`: nothing ever fits.
                    Refused::TooLarge => Duration::from_secs(60),
                };
                rate_limited(w.limit, wait)
            })?;
        }
        match l.acquire() {
            Some(slot) => Ok(Some(slot)),
            None => Err(too_many_in_flight(l.claimed.concurrency.unwrap_or(0))),
        }
    }

    /// `amount` tokens under the token's `tpm` on this replica: the counters and the second
    /// they were taken in (for settling), or `None` without a `tpm`.
    pub(crate) fn take_tokens_local(
        &self,
        amount: u64,
    ) -> Result<Option<(Arc<KeyLimits>, u64)>, ProxyError> {
        let Some(l) = &self.limits else {
            return Ok(None);
        };
        let Some(w) = &l.tpm else {
            return Ok(None);
        };
        let second = w
            .take(Instant::now(), amount)
            .map_err(|r| over_tpm(w.limit, amount, r))?;
        Ok(Some((Arc::clone(l), second)))
    }
}

/// The caller's 429 for a token over its `rpm`, `Retry-After` in `wait`.
pub(crate) fn rate_limited(rpm: u64, wait: Duration) -> ProxyError {
    ProxyError::client(
        ErrorKind::RateLimited,
        format!("this API key is over its limit of {rpm} requests per minute"),
    )
    .with_code("rate_limit_exceeded")
    .with_reason("rate_limited")
    .with_retry_after(wait)
}

/// The caller's 429 for a token at its `concurrency`: try again in a second.
pub(crate) fn too_many_in_flight(limit: u32) -> ProxyError {
    ProxyError::client(
        ErrorKind::RateLimited,
        format!(
            "this API key already has {limit} requests in flight (its `concurrency` limit); \
             try again when one has finished"
        ),
    )
    .with_code("rate_limit_exceeded")
    .with_reason("rate_limited")
    .with_retry_after(Duration::from_secs(1))
}

/// The caller's 429 for a request that does not fit in its token's `tpm`: `Retry-After` to
/// when enough of the minute has passed; one larger than the whole limit never fits, so it
/// is final (no `Retry-After`).
pub(crate) fn over_tpm(tpm: u64, amount: u64, why: Refused) -> ProxyError {
    match why {
        Refused::Wait(wait) => ProxyError::client(
            ErrorKind::RateLimited,
            format!(
                "this API key is over its limit of {tpm} tokens per minute: this request may \
                 use up to {amount} (its input estimate plus its maximum output tokens)"
            ),
        )
        .with_code("rate_limit_exceeded")
        .with_reason("rate_limited")
        .with_retry_after(wait),
        Refused::TooLarge => ProxyError::client(
            ErrorKind::RateLimited,
            format!(
                "this request may use up to {amount} tokens (its input estimate plus its \
                 maximum output tokens), more than this API key's limit of {tpm} tokens per \
                 minute; send a lower `max_tokens`"
            ),
        )
        .with_code("rate_limit_exceeded")
        .with_reason("rate_limited")
        .final_answer(),
    }
}

impl Caller {
    /// The budgets this caller's requests reserve against: its token's `budget` claim (per
    /// `budget_window`, `total` when absent) and `server.auth.budgets.<key id>`, both when
    /// both are set (in the same window, the stricter of the two). Looked up once per caller and table; a request then touches only atomics.
    pub(crate) fn budgets(&self, spend: &Spend, settings: &AuthSettings) -> &[Budget] {
        self.budgets.get_or_init(|| {
            let key = self.token.key_id();
            let mut out = Vec::new();
            if let Some(usd) = self.token.budget {
                let window = self.token.budget_window.unwrap_or(BudgetWindow::Total);
                // To the nearest micro-USD (the claim is a float of USD).
                let limit = (usd * 1e6).round() as u64;
                out.push(Budget::new(spend, spend::Source::Token, key, window, limit));
            }
            // The same key and window is one counter: the stricter limit holds it.
            if let Some(b) = settings.budget(key) {
                if let Some(t) = out.iter_mut().find(|t| t.window == b.window) {
                    if b.micro_usd < t.limit {
                        t.limit = b.micro_usd;
                        t.source = spend::Source::Config;
                    }
                    return out.into_boxed_slice();
                }
                out.push(Budget::new(
                    spend,
                    spend::Source::Config,
                    key,
                    b.window,
                    b.micro_usd,
                ));
            }
            out.into_boxed_slice()
        })
    }
}

/// A refused credential as the caller's error: 401 (with a challenge) or 403.
fn refused(r: Reject) -> ProxyError {
    let (kind, code) = if r.is_forbidden() {
        (ErrorKind::Permission, "permission_denied")
    } else if r == Reject::Missing {
        (ErrorKind::Authentication, "missing_api_key")
    } else {
        (ErrorKind::Authentication, "invalid_api_key")
    };
    ProxyError::client(kind, r.to_string())
        .with_code(code)
        .with_reason(r.reason())
}

/// The one credential the caller sent. Several different ones are refused rather than one
/// picked, so the router and a reader of the logs never disagree on who called.
fn credential<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Result<&'a [u8], Reject> {
    let mut found: Option<&[u8]> = None;
    let mut offer = |v: &'a [u8]| -> Result<(), Reject> {
        let v = v.trim_ascii();
        match found {
            Some(f) if f != v => Err(Reject::Malformed(
                "more than one different credential was sent".into(),
            )),
            _ => {
                found = Some(v);
                Ok(())
            }
        }
    };
    for v in headers.get_all(http::header::AUTHORIZATION) {
        let b = v.as_bytes();
        match b.get(..7) {
            Some(p) if p.eq_ignore_ascii_case(b"bearer ") => offer(&b[7..])?,
            _ => {
                return Err(Reject::Malformed(
                    "`Authorization` must be `Bearer <key>`".into(),
                ));
            }
        }
    }
    for name in ["x-api-key", "x-goog-api-key"] {
        for v in headers.get_all(name) {
            offer(v.as_bytes())?;
        }
    }
    if let Some(q) = query {
        for kv in q.split('&') {
            if let Some(k) = kv.strip_prefix("key=") {
                offer(k.as_bytes())?;
            }
        }
    }
    match found {
        None | Some([]) => Err(Reject::Missing),
        Some(t) => Ok(t),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests;
