//! The gate: which credential counts, the cache, and the rolling-minute limit.

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
fn rpm_admits_that_many_in_any_rolling_minute() {
    let l = Limiter::new(3);
    let t0 = Instant::now();
    for i in 0..3 {
        assert!(l.admit(t0 + Duration::from_secs(i)).is_ok());
    }
    let wait = l.admit(t0 + Duration::from_secs(10)).unwrap_err();
    assert_eq!(
        wait,
        Duration::from_secs(50),
        "until the oldest leaves the window"
    );
    assert!(l.admit(t0 + Duration::from_secs(59)).is_err());
    assert!(
        l.admit(t0 + Duration::from_secs(60)).is_ok(),
        "the first one left"
    );
    assert!(l.admit(t0 + Duration::from_secs(60)).is_err());
}

#[test]
fn limits_survive_a_new_gate_for_the_same_token_id() {
    let limits = RateLimits::default();
    let a = limits.get("j", 5);
    let b = limits.get("j", 5);
    assert!(Arc::ptr_eq(&a, &b));
    assert!(
        !Arc::ptr_eq(&a, &limits.get("j", 6)),
        "a new rate is a new limit"
    );
}
