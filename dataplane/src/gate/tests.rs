//! The gate: which credential counts, the cache, and a token's limits as the caller holds them.

use super::*;
use auth::{AccountKey, Claims, mint};
use http::HeaderValue;

fn settings() -> AuthSettings {
    AuthSettings {
        trusted_keys: Box::new([]),
        revoked_jti: Box::new(["gone".to_owned()]),
        max_token_lifetime: Duration::from_secs(365 * 86_400),
        budgets: Box::new([]),
    }
}

fn token(key: &AccountKey, jti: &str, rpm: Option<u32>) -> String {
    mint(
        key,
        &Claims {
            iss: key.public().id(),
            jti: jti.into(),
            iat: unix_now(),
            exp: Some(unix_now() + 3600),
            nbf: None,
            scope: Some(Scope::Api),
            name: None,
            models: Some(vec!["m*".into()]),
            budget: None,
            budget_window: None,
            rpm,
            tpm: None,
            concurrency: None,
        },
    )
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

#[test]
fn the_credential_comes_from_any_one_place() {
    for (h, q) in [
        (headers(&[("authorization", "Bearer abc")]), None),
        (headers(&[("authorization", "bearer abc")]), None),
        (headers(&[("x-api-key", "abc")]), None),
        (headers(&[("x-goog-api-key", " abc ")]), None),
        (headers(&[]), Some("alt=sse&key=abc")),
        (
            headers(&[("authorization", "Bearer abc"), ("x-api-key", "abc")]),
            None,
        ),
    ] {
        assert_eq!(credential(&h, q), Ok(&b"abc"[..]), "{h:?} {q:?}");
    }
    assert_eq!(credential(&headers(&[]), None), Err(Reject::Missing));
    assert_eq!(
        credential(&headers(&[("x-api-key", "")]), None),
        Err(Reject::Missing)
    );
    for (h, q) in [
        (headers(&[("authorization", "Basic YWxhZGRpbg==")]), None),
        (
            headers(&[("authorization", "Bearer a"), ("x-api-key", "b")]),
            None,
        ),
        (headers(&[("x-api-key", "a")]), Some("key=b")),
    ] {
        assert_eq!(
            credential(&h, q).map_err(|r| r.reason()),
            Err("malformed"),
            "{h:?}"
        );
    }
}

#[test]
fn a_verified_token_is_cached_and_a_new_gate_starts_empty() {
    let key = AccountKey::generate().unwrap();
    let mut trust = Trust::default();
    trust.trust(key.public());
    let gate = Gate::new(&settings(), &trust);
    let limits = RateLimits::default();
    let t = token(&key, "j", None);
    let h = headers(&[("authorization", &format!("Bearer {t}"))]);
    let a = gate.admit(&limits, &h, None, Scope::Api).unwrap();
    let b = gate.admit(&limits, &h, None, Scope::Api).unwrap();
    assert!(Arc::ptr_eq(&a, &b), "the second is a cache hit");
    let fresh = Gate::new(&settings(), &trust);
    let c = fresh.admit(&limits, &h, None, Scope::Api).unwrap();
    assert!(!Arc::ptr_eq(&a, &c));
    // Admin scope, another model, a revoked id, an untrusted gate.
    let e = gate.admit(&limits, &h, None, Scope::Admin).unwrap_err();
    assert_eq!((e.kind, e.reason), (ErrorKind::Permission, Some("scope")));
    let e = a.authorize_call("other").unwrap_err();
    assert_eq!((e.kind, e.reason), (ErrorKind::Permission, Some("model")));
    a.authorize_call("m1").unwrap();
    let r = token(&key, "gone", None);
    let e = gate
        .admit(&limits, &headers(&[("x-api-key", &r)]), None, Scope::Api)
        .unwrap_err();
    assert_eq!(e.reason, Some("revoked"));
    let stranger = Gate::new(&settings(), &Trust::default());
    let e = stranger.admit(&limits, &h, None, Scope::Api).unwrap_err();
    assert_eq!(
        (e.kind, e.reason),
        (ErrorKind::Authentication, Some("untrusted_issuer"))
    );
    // A token that only shares the hash slot is not a hit: the whole token is compared.
    assert!(
        gate.admit(
            &limits,
            &headers(&[("x-api-key", &format!("{t}x"))]),
            None,
            Scope::Api
        )
        .is_err()
    );
}

#[test]
fn a_callers_slots_and_tokens_are_its_token_ids() {
    let key = AccountKey::generate().unwrap();
    let mut trust = Trust::default();
    trust.trust(key.public());
    let gate = Gate::new(&settings(), &trust);
    let limits = RateLimits::default();
    let t = mint(
        &key,
        &Claims {
            iss: key.public().id(),
            jti: "c".into(),
            iat: unix_now(),
            exp: Some(unix_now() + 3600),
            nbf: None,
            scope: Some(Scope::Api),
            name: None,
            models: None,
            budget: None,
            budget_window: None,
            rpm: Some(100),
            tpm: Some(1000),
            concurrency: Some(2),
        },
    );
    let h = headers(&[("x-api-key", &t)]);
    let a = gate.admit(&limits, &h, None, Scope::Api).unwrap();
    let s1 = a.admit_local().unwrap();
    let s2 = a.admit_local().unwrap();
    // The same token under a new table's gate shares the counters.
    let fresh = Gate::new(&settings(), &trust);
    let b = fresh.admit(&limits, &h, None, Scope::Api).unwrap();
    let e = b.admit_local().unwrap_err();
    assert_eq!(e.status().as_u16(), 429);
    assert!(
        e.message.contains("already has 2 requests in flight"),
        "{}",
        e.message
    );
    assert_eq!(e.retry_after, Some(Duration::from_secs(1)));
    drop(s1);
    let s3 = b.admit_local().unwrap();
    drop((s2, s3));
    // Tokens: 600 fit, 600 more do not, 1001 never do.
    assert!(a.take_tokens_local(600).unwrap().is_some());
    let e = b.take_tokens_local(600).unwrap_err();
    assert_eq!(e.status().as_u16(), 429);
    assert!(
        e.retry_after.is_some_and(|w| w.as_secs() >= 59),
        "{:?}",
        e.retry_after
    );
    let e = b.take_tokens_local(1001).unwrap_err();
    assert_eq!((e.retry_after, e.final_answer), (None, true));
    assert!(
        e.message.contains("send a lower `max_tokens`"),
        "{}",
        e.message
    );
}
