//! Rules compile or say why; detectors find true positives and skip look-alikes; selection by
//! phase, model and key; block, redact and log.

use super::*;

fn rule(name: &str, pattern: Option<&str>, detector: Option<Detector>, action: Action) -> RuleSpec {
    RuleSpec {
        name: name.into(),
        pattern: pattern.map(str::to_owned),
        detector,
        on: Source::Both,
        action,
        replacement: None,
        models: Vec::new(),
        keys: Vec::new(),
    }
}

fn redact_all(text: &str, d: Detector) -> String {
    let g = Guard::compile(&[rule(d.name(), None, Some(d), Action::Redact)]).unwrap();
    let mut t = text.to_owned();
    g.apply(&g.select(Phase::Request, "m", None), &mut t, false);
    t
}

#[test]
fn detectors_find_real_values_and_skip_look_alikes() {
    let cases: &[(Detector, &str, bool)] = &[
        (Detector::Email, "write to ada@example.co.uk today", true),
        (Detector::Email, "no at sign here.com", false),
        (Detector::Phone, "call +1 415-555-0132 now", true),
        (Detector::Phone, "call (415) 555-0132", true),
        (Detector::CreditCard, "card 4111 1111 1111 1111 exp", true),
        (Detector::CreditCard, "card 4111-1111-1111-1111", true),
        (Detector::CreditCard, "not luhn 4111 1111 1111 1112", false),
        (Detector::CreditCard, "order 1234567890123", false),
        (Detector::Iban, "IBAN GB82 WEST 1234 5698 7654 32 ok", true),
        (Detector::Iban, "IBAN DE89370400440532013000", true),
        (Detector::Iban, "bad GB82 WEST 1234 5698 7654 33", false),
        (Detector::UsSsn, "ssn 123-45-6789", true),
        (Detector::UsSsn, "ssn 666-45-6789", false),
        (Detector::UsSsn, "ssn 123-00-6789", false),
        (Detector::IpAddress, "host 192.168.10.254 up", true),
        (Detector::IpAddress, "version 1.2.3.999", false),
        (
            Detector::IpAddress,
            "v6 2001:db8:0:0:0:ff00:42:8329 up",
            true,
        ),
        (
            Detector::Secrets,
            "key sk-proj-abcdefghijklmnopqrstuvwxyz012345",
            true,
        ),
        (
            Detector::Secrets,
            "key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx",
            true,
        ),
        (
            Detector::Secrets,
            "google AIzaSyA1234567890abcdefghijklmnopqrstuv",
            true,
        ),
        (Detector::Secrets, "aws AKIAIOSFODNN7EXAMPLE", true),
        (
            Detector::Secrets,
            "gh ghp_0123456789abcdefghijABCDEFGHIJ012345",
            true,
        ),
        (Detector::Secrets, "slack xoxb-1234567890-abcdefghij", true),
        (
            Detector::Secrets,
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE",
            true,
        ),
        (Detector::Secrets, "-----BEGIN PUBLIC KEY-----", false),
        (
            Detector::Secrets,
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlMTIz",
            true,
        ),
        (Detector::Secrets, "the word sk- alone", false),
    ];
    for (d, text, hit) in cases {
        let out = redact_all(text, *d);
        let tag = format!("[REDACTED:{}]", d.name());
        assert_eq!(out.contains(&tag), *hit, "{d:?}: {text:?} → {out:?}");
    }
}

#[test]
fn patterns_that_do_not_compile_are_reported_each() {
    let e = Guard::compile(&[
        rule("ok", Some("a+"), None, Action::Log),
        rule("bad", Some("(unclosed"), None, Action::Log),
        rule("empty", Some(""), None, Action::Log),
        rule("both", Some("x"), Some(Detector::Email), Action::Log),
        rule("huge", Some("(?:a{1000}){1000}"), None, Action::Log),
    ])
    .unwrap_err();
    let rules: Vec<usize> = e.iter().map(|e| e.rule).collect();
    assert_eq!(rules, [1, 2, 3, 4], "{e:?}");
}

#[test]
fn block_wins_and_leaves_the_text_and_redact_replaces() {
    let g = Guard::compile(&[
        rule("mail", None, Some(Detector::Email), Action::Redact),
        rule(
            "codename",
            Some(r"(?i)project\s+falcon"),
            None,
            Action::Block,
        ),
        rule("card", None, Some(Detector::CreditCard), Action::Log),
    ])
    .unwrap();
    let sel = g.select(Phase::Request, "m", None);
    let mut t = "mail bob@x.io about 4111111111111111".to_owned();
    let o = g.apply(&sel, &mut t, false);
    assert_eq!(t, "mail [REDACTED:mail] about 4111111111111111");
    assert_eq!(o.blocked, None);
    assert_eq!(o.hits, [(0, Action::Redact), (2, Action::Log)]);
    let mut t = "mail bob@x.io about Project  Falcon".to_owned();
    let o = g.apply(&sel, &mut t, false);
    assert_eq!(o.blocked.as_deref(), Some("codename"));
    assert!(t.contains("bob@x.io"), "a blocked text is not rewritten");
}

#[test]
fn selection_by_phase_model_and_key() {
    let mut r = rule("r", Some("secret"), None, Action::Redact);
    r.on = Source::Response;
    r.models = vec!["gpt-*".into()];
    r.keys = vec!["ci".into()];
    let g = Guard::compile(&[r]).unwrap();
    let hit = |p, m, k| {
        let mut t = "a secret".to_owned();
        g.apply(&g.select(p, m, k), &mut t, false);
        t != "a secret"
    };
    assert!(hit(Phase::Response, "gpt-4o", Some("ci")));
    assert!(!hit(Phase::Request, "gpt-4o", Some("ci")));
    assert!(!hit(Phase::Response, "claude", Some("ci")));
    assert!(!hit(Phase::Response, "gpt-4o", Some("other")));
    assert!(!hit(Phase::Response, "gpt-4o", None));
}

#[test]
fn an_unselected_rule_does_not_hide_a_selected_one_at_the_same_place() {
    let mut only_resp = rule("resp", Some("abc"), None, Action::Redact);
    only_resp.on = Source::Response;
    let g =
        Guard::compile(&[only_resp, rule("req", Some("abcdef"), None, Action::Redact)]).unwrap();
    let mut t = "xx abcdef yy".to_owned();
    g.apply(&g.select(Phase::Request, "m", None), &mut t, false);
    assert_eq!(t, "xx [REDACTED:req] yy");
}

#[test]
fn json_safe_redaction_never_cuts_quotes() {
    let g = Guard::compile(&[
        rule("q", Some(r#"a"b"#), None, Action::Redact),
        rule("m", None, Some(Detector::Email), Action::Redact),
    ])
    .unwrap();
    let mut t = r#"{"x":"a"b","to":"e@x.io"}"#.to_owned();
    g.apply(&g.select(Phase::Response, "m", None), &mut t, true);
    assert_eq!(t, r#"{"x":"a"b","to":"[REDACTED:m]"}"#);
}

#[test]
fn a_replacement_written_into_json_text_is_escaped() {
    let mut r = rule("m", None, Some(Detector::Email), Action::Redact);
    r.replacement = Some(r#"<"hidden"\>"#.into());
    let g = Guard::compile(&[r]).unwrap();
    let sel = g.select(Phase::Response, "m", None);
    let mut t = r#"{"to":"e@x.io"}"#.to_owned();
    g.apply(&sel, &mut t, true);
    assert_eq!(t, r#"{"to":"<\"hidden\"\\>"}"#);
    let v: serde_json::Value = serde_json::from_str(&t).unwrap();
    assert_eq!(v["to"], r#"<"hidden"\>"#);
    let mut t = "to e@x.io".to_owned();
    g.apply(&sel, &mut t, false);
    assert_eq!(t, r#"to <"hidden"\>"#);
}

#[test]
fn a_key_scoped_rule_matches_any_of_the_callers_ids() {
    let mut r = rule("r", Some("secret"), None, Action::Redact);
    r.keys = vec!["ci-bot".into()];
    let g = Guard::compile(&[r]).unwrap();
    assert!(g.select_for(Phase::Request, "m", &["jti-1"]).is_empty());
    assert!(
        !g.select_for(Phase::Request, "m", &["jti-1", "ci-bot"])
            .is_empty()
    );
    assert!(g.select_for(Phase::Request, "m", &[]).is_empty());
}
