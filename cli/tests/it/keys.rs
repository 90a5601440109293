//! `account`, `keygen` and `keys` as an operator runs them, and a daemon with `skip_auth: false`
//! admitting the keys it mints: file modes, the active account, save/show/rm/revoke, the
//! lifetime limit, and a revocation or a new account taking effect at `reload`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;

use super::{bin, run, scratch};

fn ctl(home: &Path, args: &[&str]) -> (i32, String, String) {
    let mut c = bin();
    c.args(args).arg("--home-dir").arg(home);
    run(&mut c)
}

fn ok(home: &Path, args: &[&str]) -> String {
    let (code, out, err) = ctl(home, args);
    assert_eq!(code, 0, "{args:?}: {out}{err}");
    out
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn accounts_keys_and_their_files() {
    let home = scratch("keys-files");
    let _ = std::fs::remove_dir_all(home.join(".keys"));
    std::fs::write(
        home.join("bitrouter.yaml"),
        "server: { auth: { max_token_lifetime: 30d } }\n",
    )
    .unwrap();
    let (code, _, err) = ctl(&home, &["keygen", "--exp", "1d"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no account yet")
            && err.contains("hint: create one with `bitrouter account --generate`"),
        "{err}"
    );

    let a: Value = serde_json::from_str(&ok(
        &home,
        &["account", "--generate", "--name", "laptop", "--json"],
    ))
    .unwrap();
    let id = a["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 16);
    let keys = home.join(".keys");
    assert_eq!(mode(&keys), 0o700);
    assert_eq!(mode(&keys.join(&id)), 0o700);
    assert_eq!(mode(&keys.join(&id).join("secret")), 0o600);
    let secret = std::fs::read_to_string(keys.join(&id).join("secret")).unwrap();
    let b = ok(&home, &["account", "--generate"]);
    assert!(b.contains("made it active"), "{b}");
    let list = ok(&home, &["account", "--list"]);
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(
        !list.contains(secret.trim()),
        "a secret key is never printed"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("* ") && !l.contains("laptop")),
        "{list}"
    );
    assert!(ok(&home, &["account", "--set", "laptop"]).contains(&id));
    assert_eq!(
        ok(&home, &["account", "--export-public", &id[..5]]).trim(),
        a["public_key"]
    );

    // Lifetimes above the configuration's limit are refused.
    let (code, _, err) = ctl(&home, &["keygen", "--exp", "31d"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("longer than `server.auth.max_token_lifetime` allows (30d)"),
        "{err}"
    );
    let (code, _, err) = ctl(&home, &["keygen", "--exp", "yesterday"]);
    assert_eq!(code, 2, "{err}");

    let (code, token, err) = ctl(
        &home,
        &[
            "keygen",
            "--exp",
            "7d",
            "--name",
            "ci",
            "--models",
            "gpt-*,smart",
            "--rpm",
            "30",
            "--tpm",
            "5000",
            "--concurrency",
            "2",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let token = token.trim().to_owned();
    assert_eq!(
        token.split('.').count(),
        3,
        "stdout holds only the key: {token}"
    );
    assert!(err.contains(&format!("signed by account {id}")), "{err}");
    let saved = keys.join(&id).join("tokens/ci");
    assert_eq!(mode(&saved), 0o600);
    assert_eq!(std::fs::read_to_string(&saved).unwrap().trim(), token);
    let (code, _, err) = ctl(&home, &["keygen", "--exp", "7d", "--name", "ci"]);
    assert_eq!(code, 2);
    assert!(err.contains("saved already"), "{err}");

    let listed = ok(&home, &["keys", "--list"]);
    assert!(
        listed.starts_with("ci ")
            && listed.contains("valid until")
            && listed.contains("models gpt-*,smart")
            && listed.contains("; rpm 30; tpm 5000; concurrency 2;"),
        "{listed}"
    );
    let human = ok(&home, &["keys", "--show", "ci"]);
    for line in ["  rpm:     30", "  tpm:     5000", "  concurrency: 2"] {
        assert!(human.contains(line), "{human}");
    }
    let all: Value = serde_json::from_str(&ok(&home, &["keys", "--list", "--json"])).unwrap();
    assert_eq!(all[0]["claims"]["tpm"], 5000, "{all}");
    assert_eq!(all[0]["claims"]["concurrency"], 2, "{all}");
    let shown: Value =
        serde_json::from_str(&ok(&home, &["keys", "--show", "ci", "--json"])).unwrap();
    assert_eq!(shown["claims"]["rpm"], 30);
    assert_eq!(shown["claims"]["tpm"], 5000);
    assert_eq!(shown["claims"]["concurrency"], 2);
    assert_eq!(shown["claims"]["iss"], id.as_str());
    assert_eq!(shown["token"], token.as_str());
    let jti = shown["claims"]["jti"].as_str().unwrap().to_owned();
    let revoked = ok(&home, &["keys", "--revoke", "ci"]);
    assert!(revoked.contains(&jti), "{revoked}");
    assert!(ok(&home, &["keys"]).contains("REVOKED"));
    assert_eq!(
        std::fs::read_to_string(keys.join("revoked"))
            .unwrap()
            .trim(),
        jti
    );
    ok(&home, &["keys", "--rm", "ci"]);
    let (code, _, err) = ctl(&home, &["keys", "--show", "ci"]);
    assert_eq!(code, 2);
    assert!(err.contains("no saved token named `ci`"), "{err}");
}

/// The operator's path to a router others may call: an account, a key, `skip_auth: false`;
/// then revoking that key and adding an account take effect at `reload`.
#[test]
fn a_daemon_admits_minted_keys_and_reload_applies_revocations() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mock = rt.block_on(testkit::MockUpstream::start()).unwrap();
    let home = scratch("keys-daemon");
    let _ = std::fs::remove_dir_all(home.join(".keys"));
    std::fs::write(
        home.join("bitrouter.yaml"),
        format!(
            "server: {{ skip_auth: false, listen: \"127.0.0.1:0\" }}\n\
             inherit_defaults: false\n\
             providers:\n\
             \x20 a: {{ api_base: \"{}/v1\", api_key: up-key, api_protocol: chat_completions, allow_private: true, models: [{{id: m}}] }}\n",
            mock.base_url()
        ),
    )
    .unwrap();
    ok(&home, &["account", "--generate"]);
    let first = ok(&home, &["keygen", "--exp", "1h", "--name", "first"])
        .trim()
        .to_owned();
    let second = ok(&home, &["keygen", "--exp", "1h", "--name", "second"])
        .trim()
        .to_owned();
    let out = ok(&home, &["start", "--json"]);
    let st: Value = serde_json::from_str(&out).unwrap();
    let listen = st["listen"].as_str().unwrap().to_owned();
    let pid = st["pid"].as_u64().unwrap();
    let stop = Stop(home.clone(), pid);

    assert_eq!(status_line(&listen, None), "HTTP/1.1 401 Unauthorized");
    assert_eq!(status_line(&listen, Some(&first)), "HTTP/1.1 200 OK");
    assert_eq!(status_line(&listen, Some(&second)), "HTTP/1.1 200 OK");

    ok(&home, &["keys", "--revoke", "first"]);
    assert_eq!(
        status_line(&listen, Some(&first)),
        "HTTP/1.1 200 OK",
        "until the next reload"
    );
    ok(&home, &["reload"]);
    assert_eq!(
        status_line(&listen, Some(&first)),
        "HTTP/1.1 401 Unauthorized"
    );
    assert_eq!(status_line(&listen, Some(&second)), "HTTP/1.1 200 OK");

    // A new account's keys are trusted from the next reload on.
    ok(&home, &["account", "--generate", "--name", "new"]);
    let third = ok(&home, &["keygen", "--exp", "1h"]).trim().to_owned();
    assert_eq!(
        status_line(&listen, Some(&third)),
        "HTTP/1.1 401 Unauthorized"
    );
    ok(&home, &["reload"]);
    assert_eq!(status_line(&listen, Some(&third)), "HTTP/1.1 200 OK");
    drop(stop);
}

/// Stops the daemon at the end of the test, however it ends.
struct Stop(std::path::PathBuf, u64);

impl Drop for Stop {
    fn drop(&mut self) {
        let (code, _, _) = ctl(&self.0, &["stop"]);
        if code != 0 {
            let _ = std::process::Command::new("kill")
                .args(["-9", &self.1.to_string()])
                .status();
        }
    }
}

fn status_line(listen: &str, token: Option<&str>) -> String {
    super::post_chat(listen, "m", "hi", token)
}
