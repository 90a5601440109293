//! Minting and verifying tokens: `base64url(header).base64url(claims).base64url(signature)`,
//! signed with Ed25519.
//!
//! Verification follows RFC 8725 (JWT best practices) strictly, and is written by hand rather
//! than with a JWT library so that every rule is explicit and each refusal has its own reason:
//! only `EdDSA`; `typ` must be `JWT`; a header may carry `alg`, `typ` and a `kid` naming the
//! issuer, nothing else — a `jku`, `x5u`, `jwk` or `x5c` pointing at a key elsewhere is
//! refused, never fetched; the signature is checked (strictly: no malleable signatures, no
//! small-order keys) against the key of the issuer the claims name, and only if that issuer is
//! trusted; then `exp` (required, in the future, within the lifetime limit), `nbf`, revocation
//! and the claims' shapes. A token over 16 KiB is refused before anything is decoded.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer as _};
use serde::Deserialize;

use crate::claims::{BudgetWindow, Claims, Scope};
use crate::key::{AccountKey, PublicKey};
use crate::pattern;

/// Longest token accepted.
pub const MAX_TOKEN: usize = 16 * 1024;

/// How far in the future `nbf` may be (clock skew between replicas), in seconds.
const NBF_LEEWAY: u64 = 30;

/// Who a data plane believes, and what it has revoked.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    keys: HashMap<String, PublicKey>,
    revoked: HashSet<String>,
    /// Longest remaining lifetime a token may have, in seconds.
    max_lifetime: u64,
}

impl Trust {
    pub fn new(max_lifetime_secs: u64) -> Trust {
        Trust {
            max_lifetime: max_lifetime_secs,
            ..Trust::default()
        }
    }

    /// Trusts tokens signed by `key` (issuer id `key.id()`).
    pub fn trust(&mut self, key: PublicKey) {
        self.keys.insert(key.id(), key);
    }

    /// Adds `other`'s issuers and revocations (its lifetime limit is not taken).
    pub fn merge(&mut self, other: &Trust) {
        for (id, k) in &other.keys {
            self.keys.insert(id.clone(), k.clone());
        }
        self.revoked.extend(other.revoked.iter().cloned());
    }

    pub fn revoke(&mut self, jti: impl Into<String>) {
        self.revoked.insert(jti.into());
    }

    pub fn is_trusted(&self, issuer: &str) -> bool {
        self.keys.contains_key(issuer)
    }

    pub fn is_revoked(&self, jti: &str) -> bool {
        self.revoked.contains(jti)
    }

    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    pub fn max_lifetime(&self) -> u64 {
        self.max_lifetime
    }
}

/// Why a token is refused. [`Reject::reason`] is a short stable label (for metrics);
/// [`std::fmt::Display`] says what is wrong without ever quoting the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reject {
    /// No credential was sent.
    Missing,
    TooLarge,
    /// Not a well-formed token; says which part.
    Malformed(String),
    /// `alg` is not `EdDSA` (the value, if printable and short).
    Algorithm(String),
    /// `typ` is not `JWT`.
    Type,
    /// The header points at a key: `jku`, `x5u`, `jwk`, `x5c`, or a `kid` that is not the issuer.
    KeySource,
    UntrustedIssuer,
    BadSignature,
    MissingExpiry,
    Expired,
    NotYetValid,
    LifetimeTooLong,
    Revoked,
    /// The token's scope does not cover this use (the scope needed).
    Scope(Scope),
    /// The token may not call this model.
    Model(String),
}

impl Reject {
    /// A stable label for counting refusals.
    pub fn reason(&self) -> &'static str {
        match self {
            Reject::Missing => "missing",
            Reject::TooLarge => "too_large",
            Reject::Malformed(_) => "malformed",
            Reject::Algorithm(_) => "algorithm",
            Reject::Type => "type",
            Reject::KeySource => "key_source",
            Reject::UntrustedIssuer => "untrusted_issuer",
            Reject::BadSignature => "bad_signature",
            Reject::MissingExpiry => "missing_exp",
            Reject::Expired => "expired",
            Reject::NotYetValid => "not_yet_valid",
            Reject::LifetimeTooLong => "lifetime",
            Reject::Revoked => "revoked",
            Reject::Scope(_) => "scope",
            Reject::Model(_) => "model",
        }
    }

    /// Whether the token is fine but not allowed this (403), rather than not a credential (401).
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Reject::Scope(_) | Reject::Model(_))
    }
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reject::Missing => f.write_str(
                "missing API key: send `Authorization: Bearer <key>`, `x-api-key` or `x-goog-api-key`",
            ),
            Reject::TooLarge => write!(f, "invalid API key: longer than {MAX_TOKEN} bytes"),
            Reject::Malformed(what) => write!(f, "invalid API key: malformed token ({what})"),
            Reject::Algorithm(alg) => {
                write!(f, "invalid API key: algorithm `{alg}` is not accepted (only EdDSA)")
            }
            Reject::Type => f.write_str("invalid API key: the token's `typ` is not `JWT`"),
            Reject::KeySource => f.write_str(
                "invalid API key: the token's header points at a signing key elsewhere (`kid`, `jku`, `x5u`, `jwk` or `x5c`)",
            ),
            Reject::UntrustedIssuer => {
                f.write_str("invalid API key: the token's issuer is not trusted by this router")
            }
            Reject::BadSignature => f.write_str("invalid API key: bad signature"),
            Reject::MissingExpiry => f.write_str("invalid API key: the token has no `exp`"),
            Reject::Expired => f.write_str("invalid API key: the token has expired"),
            Reject::NotYetValid => f.write_str("invalid API key: the token is not valid yet (`nbf`)"),
            Reject::LifetimeTooLong => f.write_str(
                "invalid API key: the token lives longer than `server.auth.max_token_lifetime` allows",
            ),
            Reject::Revoked => f.write_str("invalid API key: the token has been revoked"),
            Reject::Scope(need) => write!(
                f,
                "this API key's scope does not allow this; it needs scope `{}`",
                need.as_str()
            ),
            Reject::Model(m) => write!(f, "this API key may not use model `{m}`"),
        }
    }
}

/// A verified token: what the data plane acts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    pub issuer: String,
    pub jti: String,
    pub name: Option<String>,
    pub scope: Scope,
    pub models: Option<Vec<String>>,
    pub budget: Option<f64>,
    pub budget_window: Option<BudgetWindow>,
    pub rpm: Option<u32>,
    /// Tokens (input + output) per minute.
    pub tpm: Option<u32>,
    /// Requests in flight at once.
    pub concurrency: Option<u32>,
    pub exp: u64,
}

impl Verified {
    /// Whether this token may be used with `need` for `model` (as the caller named it).
    pub fn authorize(&self, need: Scope, model: Option<&str>) -> Result<(), Reject> {
        if self.scope != need {
            return Err(Reject::Scope(need));
        }
        if let (Some(patterns), Some(m)) = (&self.models, model)
            && !patterns.iter().any(|p| pattern::matches(p, m))
        {
            return Err(Reject::Model(printable(m)));
        }
        Ok(())
    }

    /// The key id logs, metrics and the ledger show: the token's name, else its `jti`.
    pub fn key_id(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.jti)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

/// Signs `claims` with `key`. The header names the issuer as its `kid`.
pub fn mint(key: &AccountKey, claims: &Claims) -> String {
    let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": key.public().id()});
    let mut out = String::with_capacity(512);
    URL_SAFE_NO_PAD.encode_string(header.to_string(), &mut out);
    out.push('.');
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    URL_SAFE_NO_PAD.encode_string(payload, &mut out);
    let sig = key.signing().sign(out.as_bytes());
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(sig.to_bytes(), &mut out);
    out
}

/// A new token id: 128 random bits, base64url.
pub fn new_jti() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

/// A token's claims, read without checking anything (for listing saved tokens; never for
/// admitting a caller).
pub fn peek(token: &str) -> Result<Claims, Reject> {
    let p = token
        .split('.')
        .nth(1)
        .ok_or_else(|| Reject::Malformed("a token has three dot-separated parts".into()))?;
    let payload = URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| Reject::Malformed("the claims are not base64url".into()))?;
    serde_json::from_slice(&payload)
        .map_err(|e| Reject::Malformed(format!("claims: {}", first_clause(&e.to_string()))))
}

/// Checks `token` against `trust` at Unix time `now`.
pub fn verify(token: &[u8], trust: &Trust, now: u64) -> Result<Verified, Reject> {
    if token.is_empty() {
        return Err(Reject::Missing);
    }
    if token.len() > MAX_TOKEN {
        return Err(Reject::TooLarge);
    }
    let malformed = |m: &str| Reject::Malformed(m.to_owned());
    let mut parts = token.split(|&b| b == b'.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("a token has three dot-separated parts"));
    };
    if h.is_empty() || p.is_empty() || s.is_empty() {
        return Err(malformed("a part is empty"));
    }
    let header = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| malformed("the header is not base64url"))?;
    let header: Header = serde_json::from_slice(&header).map_err(|e| {
        let m = e.to_string();
        if ["`jku`", "`x5u`", "`jwk`", "`x5c`", "`x5t`", "`x5t#S256`"]
            .iter()
            .any(|k| m.contains(&format!("unknown field {k}")))
        {
            Reject::KeySource
        } else {
            Reject::Malformed(format!("header: {}", first_clause(&m)))
        }
    })?;
    if header.alg != "EdDSA" {
        return Err(Reject::Algorithm(printable(&header.alg)));
    }
    if header.typ.as_deref() != Some("JWT") {
        return Err(Reject::Type);
    }
    let payload = URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| malformed("the claims are not base64url"))?;
    let claims: Claims = serde_json::from_slice(&payload)
        .map_err(|e| Reject::Malformed(format!("claims: {}", first_clause(&e.to_string()))))?;
    let key = trust.keys.get(&claims.iss).ok_or(Reject::UntrustedIssuer)?;
    if header.kid.as_deref().is_some_and(|k| k != claims.iss) {
        return Err(Reject::KeySource);
    }
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| malformed("the signature is not base64url"))?;
    let sig: [u8; 64] = sig
        .try_into()
        .map_err(|_| malformed("an Ed25519 signature is 64 bytes"))?;
    let signed = &token[..h.len() + 1 + p.len()];
    key.0
        .verify_strict(signed, &Signature::from_bytes(&sig))
        .map_err(|_| Reject::BadSignature)?;
    let exp = claims.exp.ok_or(Reject::MissingExpiry)?;
    if exp <= now {
        return Err(Reject::Expired);
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(NBF_LEEWAY))
    {
        return Err(Reject::NotYetValid);
    }
    if exp - now > trust.max_lifetime {
        return Err(Reject::LifetimeTooLong);
    }
    if trust.revoked.contains(&claims.jti) {
        return Err(Reject::Revoked);
    }
    let scope = claims
        .scope
        .ok_or_else(|| malformed("the token has no `scope`"))?;
    if claims.jti.is_empty() || claims.jti.len() > 128 {
        return Err(malformed("`jti` must be 1 to 128 characters"));
    }
    if let Some(models) = &claims.models
        && (models.is_empty() || models.len() > 256 || !models.iter().all(|m| pattern::valid(m)))
    {
        return Err(malformed("`models` must list 1 to 256 patterns"));
    }
    if claims.budget.is_some_and(|b| !b.is_finite() || b < 0.0) {
        return Err(malformed("`budget` must be a non-negative number of USD"));
    }
    Ok(Verified {
        issuer: claims.iss,
        jti: claims.jti,
        name: claims.name,
        scope,
        models: claims.models,
        budget: claims.budget,
        budget_window: claims.budget_window,
        rpm: claims.rpm,
        tpm: claims.tpm,
        concurrency: claims.concurrency,
        exp,
    })
}

/// serde_json's message up to its position suffix (`… at line 1 column 9`).
fn first_clause(m: &str) -> &str {
    m.split(" at line ").next().unwrap_or(m)
}

/// `s` for an error message: at most 64 printable ASCII characters.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests;
