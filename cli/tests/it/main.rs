//! End-to-end tests of the `bitrouter` binary: exit codes, stdout and stderr, as a user sees them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod daemon;
mod deploy;
mod deploy_alerts;
mod deploy_k8s;
mod drain;
mod init;
mod keys;
mod ledger;
mod shared_limits;
mod tui;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bitrouter"));
    // A clean, predictable environment: no real keys, no colour, no home from the developer.
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("HOME", scratch("home"));
    c
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bitrouter-cli-it-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../compiler/test_data")
        .join(name)
}

/// POSTs a one-message chat completion for `model` to the router at `listen` (with `token` as
/// its Bearer key, if any) and returns the response's status line; bounded by a read timeout.
fn post_chat(listen: &str, model: &str, content: &str, token: Option<&str>) -> String {
    use std::io::{Read, Write};
    let body =
        format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"{content}"}}]}}"#);
    let auth = token.map_or_else(String::new, |t| format!("authorization: Bearer {t}\r\n"));
    let mut s = std::net::TcpStream::connect(listen).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        s,
        "POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n{auth}\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    reply.lines().next().unwrap_or("").to_owned()
}

fn run(c: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

#[test]
fn seed_examples_are_valid() {
    for f in ["ok/001_self_host_guide.yaml", "ok/002_cli_readme.yaml"] {
        let (code, out, err) = run(bin().args(["config", "validate", "-c"]).arg(fixture(f)));
        assert_eq!(code, 0, "{f}: {err}");
        assert!(out.contains(": valid ("), "{out}");
        // Keys are unset here, so they are warnings, never errors, without --strict.
        assert!(err.contains("warning[W0010]"), "{err}");
        assert!(!err.contains("error["), "{err}");
    }
}

#[test]
fn strict_turns_unset_variables_into_errors() {
    let (code, _, err) = run(bin()
        .args(["config", "validate", "--strict", "-c"])
        .arg(fixture("ok/001_self_host_guide.yaml")));
    assert_eq!(code, 1);
    assert!(
        err.contains("error[E0010]: environment variable `OPENAI_API_KEY` is not set"),
        "{err}"
    );
    let (code, _, err) = run(bin()
        .args(["config", "validate", "--strict", "-c"])
        .arg(fixture("ok/001_self_host_guide.yaml"))
        .env("OPENAI_API_KEY", "k")
        .env("ANTHROPIC_API_KEY", "k"));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn three_mistakes_are_all_reported_with_positions_and_hints() {
    let file = fixture("err/001_three_mistakes.yaml");
    let (code, out, err) = run(bin().args(["config", "validate", "-c"]).arg(&file));
    assert_eq!(code, 1);
    assert!(out.is_empty(), "{out}");
    let name = file.display().to_string();
    for expected in [
        format!("error[E0002]: unknown key `api_bse` in `providers.openai`\n --> {name}:5:5"),
        "help: did you mean `api_base`?".to_owned(),
        format!("error[E0020]: unknown protocol `mesages`\n --> {name}:8:19"),
        "help: did you mean `messages`?".to_owned(),
        format!("error[E0050]: unknown provider `opnai`\n  --> {name}:12:19"),
        "help: did you mean `openai`?".to_owned(),
        "3 errors".to_owned(),
    ] {
        assert!(err.contains(&expected), "missing {expected:?} in:\n{err}");
    }
}

#[test]
fn json_report_has_the_documented_shape() {
    let (code, out, _) = run(bin()
        .args(["config", "validate", "--json", "-c"])
        .arg(fixture("err/001_three_mistakes.yaml")));
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], false);
    assert!(
        v["path"]
            .as_str()
            .unwrap()
            .ends_with("001_three_mistakes.yaml")
    );
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3);
    let first = &errors[0];
    assert_eq!(first["code"], "E0002");
    assert_eq!(first["path"], "providers.openai.api_bse");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(5), Some(5))
    );
    assert_eq!(first["help"], "did you mean `api_base`?");
    assert!(first["message"].is_string());
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["code"].as_str().unwrap().starts_with('W'))
    );

    let (code, out, _) = run(bin()
        .args(["config", "validate", "--json", "-c"])
        .arg(fixture("ok/003_empty.yaml")));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["valid"].as_bool(), v["errors"].as_array().map(Vec::len)),
        (Some(true), Some(0))
    );
}

#[test]
fn unreadable_config_is_a_usage_error_with_a_hint() {
    let (code, _, err) =
        run(bin().args(["config", "validate", "-c", "/nonexistent/bitrouter.yaml"]));
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: cannot read the configuration file `/nonexistent/bitrouter.yaml`"),
        "{err}"
    );
    assert!(
        err.contains("hint: create one with `bitrouter init`"),
        "{err}"
    );
    let (code, _, err) = run(bin().args(["config", "frobnicate"]));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn route_prints_the_chain() {
    let file = fixture("ok/001_self_host_guide.yaml");
    let (code, out, err) = run(bin().args(["route", "smart", "-c"]).arg(&file));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("smart: virtual model, strategy priority\n"),
        "{out}"
    );
    let a = out
        .find("1. anthropic / claude-sonnet-4-6 via messages")
        .expect(&out);
    let b = out
        .find("2. openai / gpt-4o via chat_completions")
        .expect(&out);
    assert!(a < b);
    assert!(
        out.contains("url:  https://api.anthropic.com/v1/messages"),
        "{out}"
    );
    assert!(
        out.contains("credential: missing: set ANTHROPIC_API_KEY"),
        "{out}"
    );

    let (code, out, _) = run(bin()
        .args(["route", "smart", "--json", "--inbound", "responses", "-c"])
        .arg(&file));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["model"], "smart");
    assert_eq!(v["strategy"], "priority");
    // No daemon runs for this home: the chain comes from the file.
    assert_eq!(v["source"], "file");
    let chain = v["chain"].as_array().unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0]["provider"], "anthropic");
    assert_eq!(chain[0]["service_id"], "claude-sonnet-4-6");
    assert_eq!(chain[0]["protocol"], "messages");
    assert_eq!(chain[0]["protocols"], serde_json::json!(["messages"]));
    assert_eq!(chain[0]["api_base"], "https://api.anthropic.com");
    // The caller speaks `responses`, which openai supports natively: no translation.
    assert_eq!(chain[1]["protocol"], "responses");
    assert!(chain[1]["reason"].as_str().unwrap().contains("passthrough"));
}

#[test]
fn route_unknown_model_suggests_and_exits_1() {
    let (code, out, err) = run(bin()
        .args(["route", "smrat", "-c"])
        .arg(fixture("ok/001_self_host_guide.yaml")));
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert_eq!(
        err,
        "error: unknown model `smrat`\nhint: did you mean `smart`?\n"
    );
}

#[test]
fn route_works_with_the_built_in_default_and_no_file() {
    let home = scratch("empty-home");
    let (code, out, err) = run(bin()
        .args(["route", "anthropic:claude-sonnet-4-6", "--home-dir"])
        .arg(&home));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("1. anthropic / claude-sonnet-4-6 via messages"),
        "{out}"
    );
}

#[test]
fn home_resolution_and_env_file() {
    let home = scratch("home-with-env");
    std::fs::write(
        home.join("bitrouter.yaml"),
        "providers:\n  openai:\n    api_key: ${OPENAI_API_KEY}\nmodels:\n  m:\n    endpoints: [{provider: openai, service_id: gpt-4o}]\n",
    )
    .unwrap();
    std::fs::write(home.join(".env"), "OPENAI_API_KEY=from-dotenv\n").unwrap();
    // --home-dir finds bitrouter.yaml and .env; the key from .env satisfies --strict.
    let (code, _, err) = run(bin()
        .args(["config", "validate", "--strict", "--home-dir"])
        .arg(&home));
    assert_eq!(code, 0, "{err}");
    // BITROUTER_HOME is used when it names a directory.
    let (code, _, err) = run(bin()
        .args(["config", "validate", "--strict"])
        .env("BITROUTER_HOME", &home));
    assert_eq!(code, 0, "{err}");
    // ./bitrouter.yaml in the current directory wins over BITROUTER_HOME.
    let (code, out, _) = run(bin()
        .args(["route", "m"])
        .current_dir(&home)
        .env("BITROUTER_HOME", "/nonexistent"));
    assert_eq!(code, 0);
    assert!(out.contains("credential: set"), "{out}");
    // An explicitly named env file that does not exist is an error.
    let (code, _, err) = run(bin()
        .args([
            "config",
            "validate",
            "--env-file",
            "/nonexistent/.env",
            "--home-dir",
        ])
        .arg(&home));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn schema_file_is_fresh() {
    let (code, out, _) = run(bin().args(["config", "schema"]));
    assert_eq!(code, 0);
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/bitrouter.config.schema.json");
    expect_test::expect_file![path].assert_eq(&out);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["additionalProperties"], false,
        "unknown top-level keys must be invalid in the schema"
    );
    let props = v["properties"].as_object().unwrap();
    for section in [
        "server",
        "providers",
        "models",
        "presets",
        "variants",
        "mcp",
        "mcp_servers",
        "agents",
        "server_tools",
        "database",
        "plugins",
        "inherit_defaults",
    ] {
        assert!(props.contains_key(section), "schema lacks `{section}`");
    }
}

#[test]
fn serve_refuses_an_invalid_config_with_every_diagnostic() {
    let (code, _, err) = run(bin()
        .args(["serve", "--listen", "127.0.0.1:0", "-c"])
        .arg(fixture("err/001_three_mistakes.yaml")));
    assert_eq!(code, 1, "{err}");
    assert!(err.matches("error[").count() >= 3, "{err}");
    assert!(err.contains("not starting"), "{err}");
}

#[test]
fn serve_refuses_skip_auth_on_a_public_address_without_the_override() {
    let cfg = scratch("public").join("bitrouter.yaml");
    std::fs::write(&cfg, "server: { skip_auth: true }\n").unwrap();
    let (code, _, err) = run(bin()
        .args(["serve", "--listen", "0.0.0.0:0", "-c"])
        .arg(&cfg));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("refusing to serve without authentication"),
        "{err}"
    );
    assert!(err.contains("hint: "), "{err}");
}

#[test]
fn serve_starts_on_the_built_in_default_and_answers_health() {
    use std::io::{BufRead, BufReader, Read, Write};
    let home = scratch("serve-home");
    let mut child = bin()
        .args(["serve", "--listen", "127.0.0.1:0", "--home-dir"])
        .arg(&home)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| {
            let _ = child.kill();
            panic!("unexpected first line: {line:?}")
        });
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}
