//! The default home's scaffold and `bitrouter init`: scripted with `--yes`, and interactive
//! through a real pseudo-terminal.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::{bin, run, scratch};

/// A fresh, empty directory (the scratch dirs are per process and per name).
fn fresh(name: &str) -> std::path::PathBuf {
    let d = scratch(name);
    std::fs::remove_dir_all(&d).unwrap();
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn a_fresh_home_is_scaffolded_once_and_never_overwritten() {
    let user = fresh("scaffold-user");
    let cwd = fresh("scaffold-cwd");
    let (code, out, err) = run(bin()
        .args(["config", "validate"])
        .current_dir(&cwd)
        .env("HOME", &user));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(": valid ("), "{out}");
    let home = user.join(".bitrouter");
    let starter = read(&home.join("bitrouter.yaml"));
    assert!(
        starter.starts_with("# yaml-language-server: $schema="),
        "{starter}"
    );
    assert!(starter.contains("skip_auth: true"), "{starter}");
    assert!(home.join("logs").is_dir() && home.join("run").is_dir());
    assert_eq!(mode(&home.join(".env")), 0o600);
    assert!(read(&home.join(".env")).lines().all(|l| l.starts_with('#')));
    let ignore = read(&home.join(".gitignore"));
    for line in [".env", ".keys/", "logs/", "run/", "bitrouter.db"] {
        assert!(ignore.lines().any(|l| l == line), "{line} not in {ignore}");
    }
    // The starter is what `init --yes` writes with nothing chosen.
    let other = fresh("scaffold-init");
    let (code, _, err) = run(bin()
        .args(["init", "--yes"])
        .current_dir(&other)
        .env("HOME", &user));
    assert_eq!(code, 0, "{err}");
    assert_eq!(read(&other.join("bitrouter.yaml")), starter);
    // Edits survive the next command; a missing piece is recreated.
    std::fs::write(home.join(".env"), "OPENAI_API_KEY=mine\n").unwrap();
    std::fs::remove_dir(home.join("run")).unwrap();
    let (code, out, err) = run(bin()
        .args(["route", "openai:gpt-4o"])
        .current_dir(&cwd)
        .env("HOME", &user));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("credential: set"),
        "the scaffolded .env is loaded: {out}"
    );
    assert_eq!(read(&home.join(".env")), "OPENAI_API_KEY=mine\n");
    assert!(home.join("run").is_dir());
    // Only the default home is scaffolded: not --home-dir, not $BITROUTER_HOME.
    let chosen = fresh("scaffold-chosen");
    let user2 = fresh("scaffold-user2");
    let (code, _, err) = run(bin()
        .args(["route", "openai:gpt-4o", "--home-dir"])
        .arg(&chosen)
        .current_dir(&cwd)
        .env("HOME", &user2));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(bin()
        .args(["route", "openai:gpt-4o"])
        .current_dir(&cwd)
        .env("BITROUTER_HOME", &chosen)
        .env("HOME", &user2));
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_dir(&chosen).unwrap().count(), 0);
    assert!(!user2.join(".bitrouter").exists());
}

#[test]
fn init_yes_writes_a_config_that_validates_and_keeps_the_key_in_env() {
    let user = fresh("init-yes-user");
    let cwd = fresh("init-yes-cwd");
    let (code, out, err) = run(bin()
        .args(["init", "--yes", "--provider", "openai"])
        .current_dir(&cwd)
        .env("HOME", &user)
        .env("OPENAI_API_KEY", "sk-from-env-123"));
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("sk-from-env-123") && !err.contains("sk-from-env-123"));
    assert!(err.contains("OPENAI_API_KEY"), "{err}");
    let yaml = read(&cwd.join("bitrouter.yaml"));
    assert!(yaml.starts_with("# yaml-language-server: $schema=https://bitrouter.dev/schema/v"));
    assert!(yaml.contains("  listen: 127.0.0.1:4356\n  # "), "{yaml}");
    assert!(yaml.contains("  skip_auth: true\n"), "{yaml}");
    assert!(
        yaml.contains("  openai:\n    api_key: ${OPENAI_API_KEY}\n"),
        "{yaml}"
    );
    assert!(yaml.contains("models:\n  default:\n"), "{yaml}");
    assert!(!yaml.contains("sk-from-env-123"));
    let env = cwd.join(".env");
    assert_eq!(mode(&env), 0o600);
    assert!(
        read(&env)
            .lines()
            .any(|l| l == "OPENAI_API_KEY=sk-from-env-123")
    );
    assert!(read(&cwd.join(".gitignore")).lines().any(|l| l == ".env"));
    // init writes where the guide says (./bitrouter.yaml) and does not scaffold ~/.bitrouter.
    assert!(!user.join(".bitrouter").exists());
    // Strict validation passes with the key coming only from the .env file.
    let (code, out, err) = run(bin()
        .args(["config", "validate", "--strict"])
        .current_dir(&cwd)
        .env("HOME", &user));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(": valid ("), "{out}");
    let (code, out, _) = run(bin()
        .args(["route", "default"])
        .current_dir(&cwd)
        .env("HOME", &user));
    assert_eq!(code, 0);
    assert!(out.contains("gpt-4o"), "{out}");
}

#[test]
fn init_never_overwrites_without_force_and_merges_env() {
    let cwd = fresh("init-force");
    let cfg = cwd.join("bitrouter.yaml");
    std::fs::write(&cfg, "server: {listen: 127.0.0.1:9}\n").unwrap();
    std::fs::write(
        cwd.join(".env"),
        "# mine\nOTHER=keep\nANTHROPIC_API_KEY=old\n",
    )
    .unwrap();
    let (code, _, err) = run(bin()
        .args(["init", "--yes", "--provider", "anthropic"])
        .current_dir(&cwd)
        .env("ANTHROPIC_API_KEY", "new"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(read(&cfg), "server: {listen: 127.0.0.1:9}\n");
    let (code, _, err) = run(bin()
        .args(["init", "--yes", "--force", "--provider", "anthropic"])
        .current_dir(&cwd)
        .env("ANTHROPIC_API_KEY", "new"));
    assert_eq!(code, 0, "{err}");
    assert!(read(&cfg).contains("${ANTHROPIC_API_KEY}"));
    assert_eq!(
        read(&cwd.join(".env")),
        "# mine\nOTHER=keep\nANTHROPIC_API_KEY=new\n"
    );
    assert_eq!(mode(&cwd.join(".env")), 0o600);
}

#[test]
fn init_c_writes_elsewhere_with_the_env_next_to_it() {
    let cwd = fresh("init-c");
    let target = cwd.join("etc/bitrouter/bitrouter.yaml");
    let (code, _, err) = run(bin()
        .args([
            "init",
            "--yes",
            "--custom",
            "moonshot=anthropic:https://api.moonshot.ai/anthropic#kimi-k2",
            "-c",
        ])
        .arg(&target)
        .current_dir(&cwd)
        .env("MOONSHOT_API_KEY", "mk"));
    assert_eq!(code, 0, "{err}");
    assert!(!cwd.join("bitrouter.yaml").exists() && !cwd.join(".env").exists());
    let yaml = read(&target);
    assert!(yaml.contains("derives: anthropic\n    api_base: https://api.moonshot.ai/anthropic\n    api_key: ${MOONSHOT_API_KEY}\n"), "{yaml}");
    let env = cwd.join("etc/bitrouter/.env");
    assert_eq!(read(&env).lines().last(), Some("MOONSHOT_API_KEY=mk"));
    assert_eq!(mode(&env), 0o600);
    let (code, out, err) = run(bin()
        .args(["route", "default", "-c"])
        .arg(&target)
        .current_dir(&cwd));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("kimi-k2") && out.contains("moonshot"), "{out}");
    // Mistakes in the flags are usage errors with a hint, and write nothing.
    let bad = cwd.join("bad.yaml");
    for args in [["--provider", "opneai"], ["--custom", "x=gemini:https://a"]] {
        let (code, _, err) = run(bin().args(["init", "--yes"]).args(args).arg("-c").arg(&bad));
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("hint:"), "{err}");
        assert!(!bad.exists());
    }
}

#[test]
fn init_without_a_terminal_asks_for_yes() {
    let cwd = fresh("init-notty");
    let (code, _, err) = run(bin()
        .arg("init")
        .current_dir(&cwd)
        .stdin(std::process::Stdio::null()));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("not a terminal") && err.contains("--yes"),
        "{err}"
    );
    assert!(!cwd.join("bitrouter.yaml").exists());
}

#[test]
fn init_interactive_through_a_pseudo_terminal() {
    let cwd = fresh("init-pty");
    let mut cmd = bin();
    cmd.arg("init").current_dir(&cwd).env("TERM", "xterm");
    let opts = rexpect::reader::Options::new()
        .timeout_ms(Some(20_000))
        .strip_ansi_escape_codes(true);
    let mut p = rexpect::session::spawn_with_options(cmd, opts).unwrap();
    let mut transcript = String::new();
    let mut step = |p: &mut rexpect::session::PtySession, want: &str, send: &str| {
        transcript += &p
            .exp_string(want)
            .unwrap_or_else(|e| panic!("waiting for {want:?}: {e}"));
        p.send(send).unwrap();
        p.flush().unwrap();
    };
    // Each step waits for text only its own prompt prints, then lets the prompt settle into
    // its terminal mode before typing (a mode switch may discard typed-ahead input).
    // openai is the first entry: select it with space, confirm with enter.
    step(&mut p, "space to select", " \r");
    step(&mut p, "OPENAI_API_KEY (hidden", "sk-typed-secret\r");
    step(&mut p, "Add a custom", "y");
    step(&mut p, "Provider id", "moonshot\r");
    step(&mut p, "Compatible with", "\x1b[B\r");
    step(&mut p, "Base URL", "https://api.moonshot.ai/anthropic\r");
    step(&mut p, "A model id", "kimi-k2\r");
    step(&mut p, "Key variable", "\r");
    step(&mut p, "MOONSHOT_API_KEY (hidden", "mk-typed\r");
    step(&mut p, "Add another", "n");
    step(&mut p, "Require an API key", "y");
    transcript += &p.exp_eof().unwrap();
    let status = p.process_mut().wait().unwrap();
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "{status:?}\n{transcript}"
    );
    assert!(!transcript.contains("sk-typed-secret") && !transcript.contains("mk-typed"));
    assert!(transcript.contains("wrote"), "{transcript}");
    let env = read(&cwd.join(".env"));
    assert!(
        env.lines().any(|l| l == "OPENAI_API_KEY=sk-typed-secret"),
        "{env}"
    );
    assert!(
        env.lines().any(|l| l == "MOONSHOT_API_KEY=mk-typed"),
        "{env}"
    );
    assert_eq!(mode(&cwd.join(".env")), 0o600);
    let yaml = read(&cwd.join("bitrouter.yaml"));
    assert!(
        yaml.starts_with("# yaml-language-server: $schema="),
        "{yaml}"
    );
    assert!(
        yaml.contains("  openai:\n    api_key: ${OPENAI_API_KEY}\n"),
        "{yaml}"
    );
    assert!(yaml.contains("derives: anthropic\n    api_base: https://api.moonshot.ai/anthropic\n    api_key: ${MOONSHOT_API_KEY}\n"), "{yaml}");
    assert!(!yaml.contains("typed"), "{yaml}");
    // Keys required: an account in `.keys/` beside the config, and a first key, saved.
    assert!(yaml.contains("\n  skip_auth: false\n"), "{yaml}");
    assert!(
        transcript.contains("minted an API key `default`"),
        "{transcript}"
    );
    let (code, out, err) = run(bin().args(["keys", "--list"]).current_dir(&cwd));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("default ") && out.contains("valid until"),
        "{out}"
    );
    let (code, _, err) = run(bin()
        .args(["config", "validate", "--strict"])
        .current_dir(&cwd));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn init_require_keys_writes_skip_auth_off_and_mints_a_first_key() {
    let dir = fresh("init-keys");
    let (code, out, err) = run(bin()
        .args([
            "init",
            "--yes",
            "--require-keys",
            "--custom",
            "local=openai:http://127.0.0.1:8000/v1#m",
        ])
        .current_dir(&dir));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim().split('.').count(),
        3,
        "the key alone on stdout: {out}"
    );
    assert!(
        err.contains("created account") && err.contains("minted an API key `default`"),
        "{err}"
    );
    assert!(read(&dir.join("bitrouter.yaml")).contains("\n  skip_auth: false\n"));
    assert!(
        read(&dir.join(".gitignore")).contains(".keys/"),
        "the keys stay out of git"
    );
    // A second run mints another key for the same account.
    let (code, _, err) = run(bin()
        .args(["init", "--yes", "--force", "--require-keys"])
        .current_dir(&dir));
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("created account"), "{err}");
    let (_, accounts, _) = run(bin().args(["account", "--list"]).current_dir(&dir));
    assert_eq!(accounts.lines().count(), 1, "{accounts}");
}

#[test]
fn a_config_named_with_c_keeps_its_env_beside_it_and_scaffolds_no_home() {
    let dir = fresh("c-home");
    let user = fresh("c-home-user");
    let cfg = dir.join("etc/bitrouter.yaml");
    std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
    std::fs::write(
        &cfg,
        "providers:\n  openai:\n    api_key: ${OPENAI_API_KEY}\n    models: [{id: gpt-4o}]\n",
    )
    .unwrap();
    std::fs::write(dir.join("etc/.env"), "OPENAI_API_KEY=sk-beside\n").unwrap();
    let (code, out, err) = run(bin()
        .args(["config", "validate", "--strict", "-c"])
        .arg(&cfg)
        .env("HOME", &user));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        !user.join(".bitrouter").exists(),
        "a home was scaffolded although -c chose the config's directory"
    );
}

/// `init` decides which upstreams need `allow_private` by the compiler's own rule: a CGNAT
/// address (100.64.0.0/10, e.g. a tailnet) gets the opt-in and the file validates; an address
/// the compiler always refuses is refused by `init` itself, with the compiler's reason.
#[test]
fn init_asks_the_compiler_which_upstreams_are_private() {
    let dir = fresh("init-cgnat");
    let (code, out, err) = run(bin()
        .args([
            "init",
            "--yes",
            "--custom",
            "x=openai:http://100.101.2.3:8000/v1#m",
        ])
        .current_dir(&dir));
    assert_eq!(code, 0, "{out}{err}");
    let yaml = read(&dir.join("bitrouter.yaml"));
    assert!(
        yaml.contains(
            "api_base: http://100.101.2.3:8000/v1\n    # A loopback or private-network address"
        ),
        "{yaml}"
    );
    assert!(yaml.contains("    allow_private: true\n"), "{yaml}");
    let (code, out, err) = run(bin()
        .args(["config", "validate", "-c"])
        .arg(dir.join("bitrouter.yaml")));
    assert_eq!(code, 0, "{out}{err}");

    let (code, _, err) = run(bin()
        .args([
            "init",
            "--yes",
            "--force",
            "--custom",
            "y=openai:http://169.254.169.254/v1",
        ])
        .current_dir(&dir));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("link-local or cloud metadata address"),
        "{err}"
    );
    assert!(err.contains("hint: "), "{err}");
    assert_eq!(
        read(&dir.join("bitrouter.yaml")),
        yaml,
        "nothing was written"
    );
}
