//! Caller authentication: a token's first verification (base64url, JSON, an Ed25519 signature
//! check) against a cached hit (one hash, one read lock, one comparison), through the data
//! plane's gate exactly as a request meets it.
//!
//! `cargo bench -p benches --bench auth`

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark's set-up fails by panicking"
)]

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use auth::{AccountKey, Claims, Scope, Trust};
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue};

fn claims(key: &AccountKey, jti: &str) -> Claims {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Claims {
        iss: key.public().id(),
        jti: jti.into(),
        iat: now,
        exp: Some(now + 3600),
        nbf: None,
        scope: Some(Scope::Api),
        name: Some("bench".into()),
        models: Some(vec!["gpt-*".into(), "smart".into()]),
        budget: Some(10.0),
        budget_window: None,
        rpm: None,
        tpm: None,
        concurrency: None,
    }
}

fn bench(c: &mut Criterion) {
    let key = AccountKey::generate().unwrap();
    let mut trust = Trust::new(365 * 86_400);
    trust.trust(key.public());
    let token = auth::mint(&key, &claims(&key, "j"));
    let mut g = c.benchmark_group("auth");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(auth::verify(token.as_bytes(), &trust, now).is_ok());
    g.bench_function("verify (no cache)", |b| {
        b.iter(|| auth::verify(black_box(token.as_bytes()), &trust, now).is_ok())
    });
    let gate = dataplane::bench::Gate::new(&trust);
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    assert!(gate.admit(&headers));
    g.bench_function("gate, cached hit", |b| {
        b.iter(|| gate.admit(black_box(&headers)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
