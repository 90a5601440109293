//! Accounts, tokens and revocation on disk: modes, the active account, save/show/rm/revoke,
//! and the trust a daemon builds from them.

use std::os::unix::fs::PermissionsExt;

use super::*;

const NOW: u64 = 1_800_000_000;
const YEAR: u64 = 365 * 86_400;

fn spec(name: Option<&str>) -> TokenSpec {
    TokenSpec {
        scope: Scope::Api,
        exp: NOW + 86_400,
        models: Some(vec!["gpt-*".into()]),
        budget: Some(2.5),
        budget_window: Some(BudgetWindow::Day),
        rpm: Some(10),
        tpm: Some(20_000),
        concurrency: Some(2),
        name: name.map(str::to_owned),
    }
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn accounts_tokens_and_revocation() {
    let home = tempdir();
    let keys = Keys::at(&home);
    assert!(matches!(
        keys.mint(&spec(None), YEAR, NOW),
        Err(KeysError::NoAccount)
    ));
    let a = keys.generate(Some("laptop")).unwrap();
    let b = keys.generate(None).unwrap();
    assert_eq!(a.id.len(), 16);
    assert_eq!(mode(keys.dir()), 0o700);
    assert_eq!(mode(&keys.dir().join(&a.id)), 0o700);
    assert_eq!(mode(&keys.dir().join(&a.id).join("secret")), 0o600);
    let list = keys.list().unwrap();
    assert_eq!(list.len(), 2);
    assert!(
        list.iter().find(|x| x.id == b.id).unwrap().active,
        "the newest is active"
    );
    assert_eq!(keys.set_active("laptop").unwrap().id, a.id);
    assert_eq!(keys.set_active(&a.id[..6]).unwrap().id, a.id);
    assert!(matches!(
        keys.find("zzzz"),
        Err(KeysError::UnknownAccount(_))
    ));

    let m = keys.mint(&spec(Some("ci")), YEAR, NOW).unwrap();
    assert_eq!(m.account, a.id);
    let saved = m.saved.clone().unwrap();
    assert_eq!(mode(&saved), 0o600);
    assert_eq!(mode(saved.parent().unwrap()), 0o700);
    assert!(matches!(
        keys.mint(&spec(Some("ci")), YEAR, NOW),
        Err(KeysError::TokenExists(_))
    ));
    assert!(matches!(
        keys.mint(&spec(Some("../x")), YEAR, NOW),
        Err(KeysError::BadName(_))
    ));
    let long = TokenSpec {
        exp: NOW + YEAR + 1,
        ..spec(None)
    };
    assert!(matches!(
        keys.mint(&long, YEAR, NOW),
        Err(KeysError::LifetimeTooLong { .. })
    ));
    let past = TokenSpec {
        exp: NOW,
        ..spec(None)
    };
    assert!(matches!(
        keys.mint(&past, YEAR, NOW),
        Err(KeysError::Expired)
    ));

    let t = keys.token("ci").unwrap();
    assert_eq!(t.token, m.token);
    assert_eq!(t.claims.as_ref().unwrap().jti, m.claims.jti);
    assert!(!t.revoked);

    // The daemon trusts both accounts and refuses a revoked token.
    let trust = keys.trust().unwrap();
    assert!(auth::verify(m.token.as_bytes(), &Trust::new(YEAR), NOW).is_err());
    let mut with_limit = Trust::new(YEAR);
    with_limit.merge(&trust);
    assert!(auth::verify(m.token.as_bytes(), &with_limit, NOW).is_ok());
    assert!(keys.revoke("ci").unwrap().revoked);
    keys.revoke("ci").unwrap();
    assert_eq!(
        keys.revoked().unwrap(),
        std::slice::from_ref(&m.claims.jti),
        "revoked once"
    );
    let mut after = Trust::new(YEAR);
    after.merge(&keys.trust().unwrap());
    assert_eq!(
        auth::verify(m.token.as_bytes(), &after, NOW),
        Err(auth::Reject::Revoked)
    );
    assert!(keys.token("ci").unwrap().revoked);
    keys.remove("ci").unwrap();
    assert!(matches!(keys.token("ci"), Err(KeysError::UnknownToken(_))));
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn a_damaged_account_is_an_error_not_a_silent_distrust() {
    let home = tempdir();
    let keys = Keys::at(&home);
    let a = keys.generate(None).unwrap();
    std::fs::write(keys.dir().join(&a.id).join("public"), "garbage\n").unwrap();
    assert!(matches!(keys.trust(), Err(KeysError::Damaged { .. })));
    let _ = std::fs::remove_dir_all(&home);
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "bitrouter-keys-{}-{}",
        std::process::id(),
        auth::new_jti().unwrap()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}
