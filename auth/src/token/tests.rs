//! Every way a token can be wrong is refused with its own reason; a good one is accepted.

use super::*;

const NOW: u64 = 1_800_000_000;
const DAY: u64 = 86_400;

fn b64(b: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

/// A token over arbitrary header and payload text, signed by `key`.
fn signed(key: &AccountKey, header: &str, payload: &str) -> String {
    let mut t = format!("{}.{}", b64(header), b64(payload));
    let sig = key.signing().sign(t.as_bytes());
    t.push('.');
    t.push_str(&b64(sig.to_bytes()));
    t
}

struct Fixture {
    key: AccountKey,
    other: AccountKey,
    trust: Trust,
}

fn fixture() -> Fixture {
    let key = AccountKey::generate().unwrap();
    let other = AccountKey::generate().unwrap();
    let mut trust = Trust::new(365 * DAY);
    trust.trust(key.public());
    trust.revoke("revoked-jti");
    Fixture { key, other, trust }
}

fn claims(f: &Fixture) -> Claims {
    Claims {
        iss: f.key.public().id(),
        jti: "j1".into(),
        iat: NOW - 10,
        exp: Some(NOW + DAY),
        nbf: None,
        scope: Some(Scope::Api),
        name: Some("ci".into()),
        models: Some(vec!["gpt-*".into(), "smart".into()]),
        budget: Some(5.0),
        budget_window: Some(BudgetWindow::Month),
        rpm: Some(60),
        tpm: Some(40_000),
        concurrency: Some(4),
    }
}

fn header(f: &Fixture) -> String {
    format!(
        r#"{{"alg":"EdDSA","typ":"JWT","kid":"{}"}}"#,
        f.key.public().id()
    )
}

fn payload(c: &Claims) -> String {
    serde_json::to_string(c).unwrap()
}

#[test]
fn a_minted_token_verifies_and_authorizes() {
    let f = fixture();
    let t = mint(&f.key, &claims(&f));
    let v = verify(t.as_bytes(), &f.trust, NOW).unwrap();
    assert_eq!(v.jti, "j1");
    assert_eq!(v.key_id(), "ci");
    assert_eq!(
        (v.scope, v.rpm, v.budget),
        (Scope::Api, Some(60), Some(5.0))
    );
    assert_eq!((v.tpm, v.concurrency), (Some(40_000), Some(4)));
    assert!(v.authorize(Scope::Api, Some("gpt-4o")).is_ok());
    assert!(v.authorize(Scope::Api, Some("smart")).is_ok());
    assert_eq!(
        v.authorize(Scope::Api, Some("openai:gpt-4o")),
        Err(Reject::Model("openai:gpt-4o".into()))
    );
    assert_eq!(
        v.authorize(Scope::Admin, None),
        Err(Reject::Scope(Scope::Admin))
    );
    // Without a kid, and with extra claims a newer version may add.
    let mut p: serde_json::Value = serde_json::from_str(&payload(&claims(&f))).unwrap();
    p["future_claim"] = serde_json::json!({"x": 1});
    let t = signed(&f.key, r#"{"alg":"EdDSA","typ":"JWT"}"#, &p.to_string());
    assert!(verify(t.as_bytes(), &f.trust, NOW).is_ok());
}

/// Each bad token, and the reason it must be refused for.
#[test]
fn every_kind_of_bad_token_is_refused_for_its_reason() {
    let f = fixture();
    let good = mint(&f.key, &claims(&f));
    let parts: Vec<&str> = good.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    let with = |edit: &dyn Fn(&mut Claims)| {
        let mut c = claims(&f);
        edit(&mut c);
        signed(&f.key, &header(&f), &payload(&c))
    };
    let hdr = |text: &str| signed(&f.key, text, &payload(&claims(&f)));
    let flip = |s: &str, i: usize| {
        let mut b = s.as_bytes().to_vec();
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    let other_iss = {
        let mut c = claims(&f);
        c.iss = f.other.public().id();
        signed(&f.other, r#"{"alg":"EdDSA","typ":"JWT"}"#, &payload(&c))
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("empty", String::new(), "missing"),
        (
            "huge",
            format!("{h}.{}.{s}", "A".repeat(MAX_TOKEN)),
            "too_large",
        ),
        ("one part", h.to_owned(), "malformed"),
        ("two parts", format!("{h}.{p}"), "malformed"),
        ("four parts", format!("{good}.{s}"), "malformed"),
        ("empty signature", format!("{h}.{p}."), "malformed"),
        ("not base64url", format!("{h}.{p}.***"), "malformed"),
        ("padded base64", format!("{h}.{p}.{s}=="), "malformed"),
        (
            "short signature",
            format!("{h}.{p}.{}", b64([0u8; 32])),
            "malformed",
        ),
        (
            "header not JSON",
            format!("{}.{p}.{s}", b64("alg=EdDSA")),
            "malformed",
        ),
        (
            "alg none",
            hdr(r#"{"alg":"none","typ":"JWT"}"#),
            "algorithm",
        ),
        (
            "alg HS256",
            hdr(r#"{"alg":"HS256","typ":"JWT"}"#),
            "algorithm",
        ),
        (
            "alg RS256",
            hdr(r#"{"alg":"RS256","typ":"JWT"}"#),
            "algorithm",
        ),
        (
            "alg ES256",
            hdr(r#"{"alg":"ES256","typ":"JWT"}"#),
            "algorithm",
        ),
        ("typ missing", hdr(r#"{"alg":"EdDSA"}"#), "type"),
        (
            "typ wrong",
            hdr(r#"{"alg":"EdDSA","typ":"at+jwt"}"#),
            "type",
        ),
        (
            "jku",
            hdr(r#"{"alg":"EdDSA","typ":"JWT","jku":"https://evil.example/keys"}"#),
            "key_source",
        ),
        (
            "x5u",
            hdr(r#"{"alg":"EdDSA","typ":"JWT","x5u":"https://evil.example/cert"}"#),
            "key_source",
        ),
        (
            "embedded jwk",
            hdr(r#"{"alg":"EdDSA","typ":"JWT","jwk":{"kty":"OKP"}}"#),
            "key_source",
        ),
        (
            "kid elsewhere",
            hdr(r#"{"alg":"EdDSA","typ":"JWT","kid":"someone-else"}"#),
            "key_source",
        ),
        (
            "unknown header field",
            hdr(r#"{"alg":"EdDSA","typ":"JWT","crit":["x"]}"#),
            "malformed",
        ),
        (
            "duplicate alg",
            hdr(r#"{"alg":"EdDSA","alg":"none","typ":"JWT"}"#),
            "malformed",
        ),
        (
            "nested bomb in header",
            hdr(&format!(
                r#"{{"alg":{}"EdDSA"{},"typ":"JWT"}}"#,
                "[".repeat(5000),
                "]".repeat(5000)
            )),
            "malformed",
        ),
        (
            "tampered header",
            format!("{}.{p}.{s}", b64(r#"{"alg":"EdDSA","typ":"JWT"} "#)),
            "bad_signature",
        ),
        (
            "tampered payload",
            format!(
                "{h}.{}.{s}",
                b64(payload(&Claims {
                    rpm: None,
                    ..claims(&f)
                }))
            ),
            "bad_signature",
        ),
        (
            "tampered signature",
            format!("{h}.{p}.{}", flip(s, 5)),
            "bad_signature",
        ),
        ("truncated", good[..good.len() - 4].to_owned(), "malformed"),
        ("another router's account", other_iss, "untrusted_issuer"),
        (
            "signed by the wrong key",
            signed(&f.other, &header(&f), &payload(&claims(&f))),
            "bad_signature",
        ),
        ("no exp", with(&|c| c.exp = None), "missing_exp"),
        ("expired", with(&|c| c.exp = Some(NOW - 1)), "expired"),
        ("expires now", with(&|c| c.exp = Some(NOW)), "expired"),
        (
            "future nbf",
            with(&|c| c.nbf = Some(NOW + 3600)),
            "not_yet_valid",
        ),
        (
            "lifetime too long",
            with(&|c| c.exp = Some(NOW + 400 * DAY)),
            "lifetime",
        ),
        (
            "revoked",
            with(&|c| c.jti = "revoked-jti".into()),
            "revoked",
        ),
        ("no scope", with(&|c| c.scope = None), "malformed"),
        (
            "empty models",
            with(&|c| c.models = Some(vec![])),
            "malformed",
        ),
        (
            "negative budget",
            with(&|c| c.budget = Some(-1.0)),
            "malformed",
        ),
        (
            "exp as a string",
            signed(
                &f.key,
                &header(&f),
                &payload(&claims(&f))
                    .replace(&format!("\"exp\":{}", NOW + DAY), "\"exp\":\"soon\""),
            ),
            "malformed",
        ),
        (
            "duplicate exp",
            signed(
                &f.key,
                &header(&f),
                &payload(&claims(&f)).replacen('{', &format!("{{\"exp\":{},", NOW + DAY), 1),
            ),
            "malformed",
        ),
        (
            "claims not an object",
            signed(&f.key, &header(&f), "[1,2]"),
            "malformed",
        ),
        (
            "unknown scope",
            signed(
                &f.key,
                &header(&f),
                &payload(&claims(&f)).replace("\"api\"", "\"root\""),
            ),
            "malformed",
        ),
    ];
    assert!(cases.len() >= 25);
    for (what, token, reason) in &cases {
        let got = verify(token.as_bytes(), &f.trust, NOW);
        match got {
            Err(r) => {
                assert_eq!(r.reason(), *reason, "{what}: {r}");
                let msg = r.to_string();
                assert!(
                    token.len() < 8 || !msg.contains(&token[token.len().saturating_sub(8)..]),
                    "{what}: echoes the token"
                );
            }
            Ok(v) => panic!("{what}: accepted {v:?}"),
        }
    }
}

#[test]
fn trust_is_by_issuer_and_revocation_by_id() {
    let f = fixture();
    let mut c = claims(&f);
    c.iss = f.other.public().id();
    let t = mint(&f.other, &c);
    assert_eq!(
        verify(t.as_bytes(), &f.trust, NOW),
        Err(Reject::UntrustedIssuer)
    );
    let mut trust = f.trust.clone();
    trust.trust(f.other.public());
    assert!(
        verify(t.as_bytes(), &trust, NOW).is_ok(),
        "a replica trusts a key minted elsewhere"
    );
    trust.revoke("j1");
    assert_eq!(verify(t.as_bytes(), &trust, NOW), Err(Reject::Revoked));
}

#[test]
fn a_token_minted_before_tpm_and_concurrency_still_verifies() {
    let f = fixture();
    // The claims an older `keygen` wrote: no `tpm`, no `concurrency`.
    let old = format!(
        r#"{{"iss":"{}","jti":"old","iat":{},"exp":{},"scope":"api","rpm":5}}"#,
        f.key.public().id(),
        NOW - 10,
        NOW + DAY
    );
    let t = signed(&f.key, &header(&f), &old);
    let v = verify(t.as_bytes(), &f.trust, NOW).unwrap();
    assert_eq!((v.rpm, v.tpm, v.concurrency), (Some(5), None, None));
    // And a new token's claims name them only when set.
    let none = payload(&Claims {
        tpm: None,
        concurrency: None,
        ..claims(&f)
    });
    assert!(
        !none.contains("tpm") && !none.contains("concurrency"),
        "{none}"
    );
    let set = payload(&claims(&f));
    assert!(
        set.contains(r#""tpm":40000"#) && set.contains(r#""concurrency":4"#),
        "{set}"
    );
}
