//! Caller tokens: JSON Web Tokens signed with Ed25519 (`EdDSA`), minted by `bitrouter keygen`
//! with an account's secret key and verified by the data plane against trusted issuers only.
//!
//! - [`key`]: account keys — generation, the public key's base64url form, the account id.
//! - [`claims`]: what a token says: issuer, id, lifetime, scope, models, budget, rate.
//! - [`token`]: minting, and verification with every rejection named ([`Reject`]).
//! - [`pattern`]: the model patterns a token may be limited to.
//!
//! Pure: no I/O beyond the OS random source for new keys and token ids; no async. The data
//! plane caches verified tokens (a signature check costs tens of microseconds, a cache hit a
//! hash lookup); the runtime keeps account keys and revocations on disk.

pub mod claims;
pub mod key;
pub mod pattern;
pub mod token;

pub use claims::{BudgetWindow, Claims, Scope, civil_from_days, days_from_civil, utc_label};
pub use key::{AccountKey, PublicKey};
pub use token::{Reject, Trust, Verified, mint, new_jti, peek, verify};
