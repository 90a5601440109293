//! The terminal UI driven as a user drives it: the real binary in a tmux pane (send keys,
//! capture the screen), requests through the router to the mock upstream. Every wait polls the
//! captured screen with a generous bound, so a loaded machine is slow, not flaky.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::{bin, run, scratch};

/// How long any screen content may take to appear.
const WAIT: Duration = Duration::from_secs(60);

/// One tmux server of its own (`-L`), killed on drop.
struct Pane {
    name: String,
}

impl Pane {
    fn start(name: &str, command: &[String], width: u16, height: u16) -> Pane {
        let name = format!("bitrouter-it-{}-{name}", std::process::id());
        let line = command
            .iter()
            .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ");
        let status = Command::new("tmux")
            .args([
                "-L",
                &name,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "t",
            ])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg(line)
            .status()
            .expect("tmux is installed");
        assert!(status.success(), "tmux new-session failed");
        // Keep the pane after the program exits, to read its last screen.
        let _ = Command::new("tmux")
            .args(["-L", &name, "set-option", "-t", "t", "remain-on-exit", "on"])
            .status();
        Pane { name }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.name, "capture-pane", "-p", "-t", "t"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Keys in tmux's `send-keys` spelling (`Enter`, `Space`, `Down`) or literal text (`-l`).
    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let _ = Command::new("tmux")
                .args(["-L", &self.name, "send-keys", "-t", "t", k])
                .status();
        }
    }

    fn text(&self, text: &str) {
        let _ = Command::new("tmux")
            .args(["-L", &self.name, "send-keys", "-t", "t", "-l", text])
            .status();
    }

    fn wait_for(&self, want: &str) -> String {
        self.wait_until(want, |s| s.contains(want))
    }

    fn wait_until(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
        let began = Instant::now();
        loop {
            let s = self.screen();
            if f(&s) {
                // Let the prompt settle into its terminal mode before the next keys.
                std::thread::sleep(Duration::from_millis(150));
                return s;
            }
            assert!(
                began.elapsed() < WAIT,
                "timed out waiting for {what:?}; the screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether the program in the pane has exited.
    fn dead(&self) -> bool {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.name,
                "display-message",
                "-p",
                "-t",
                "t",
                "#{pane_dead}",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.name, "kill-server"])
            .status();
    }
}

/// The binary with a clean environment, as one argument list for the pane's shell.
fn command(home: &Path, args: &[&str]) -> Vec<String> {
    let mut c = vec![
        "env".to_owned(),
        "-i".to_owned(),
        format!("PATH={}", std::env::var("PATH").unwrap_or_default()),
        format!("HOME={}", scratch("home").display()),
        "TERM=xterm-256color".to_owned(),
        "NO_COLOR=1".to_owned(),
        env!("CARGO_BIN_EXE_bitrouter").to_owned(),
        "--home-dir".to_owned(),
        home.display().to_string(),
    ];
    c.extend(args.iter().map(|a| (*a).to_owned()));
    c
}

fn fresh(name: &str) -> PathBuf {
    let d = scratch(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The listen address in the header line (`http://127.0.0.1:PORT`).
fn listen_on(screen: &str) -> String {
    let at = screen.find("http://127.0.0.1:").expect("a listen address");
    screen[at + "http://".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn chat(listen: &str, model: &str) -> String {
    super::post_chat(listen, model, "hi", None)
}

#[test]
fn without_a_terminal_bare_bitrouter_says_serve_or_start_and_exits_2() {
    let home = fresh("tui-notty");
    let (code, out, err) = run(bin()
        .arg("--home-dir")
        .arg(&home)
        .stdin(std::process::Stdio::null()));
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("bitrouter serve") && err.contains("bitrouter start"),
        "{err}"
    );
    let (code, _, err) = run(bin()
        .args(["tui", "--home-dir"])
        .arg(&home)
        .stdin(std::process::Stdio::null()));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn first_run_wizard_then_live_requests_then_a_broken_reload_keeps_serving() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mock = rt.block_on(testkit::MockUpstream::start()).unwrap();
    let home = fresh("tui-first-run");
    let pane = Pane::start(
        "first",
        &command(&home, &["--listen", "127.0.0.1:0"]),
        120,
        30,
    );
    // The `init` wizard: no built-in, one custom OpenAI-compatible provider on the mock.
    pane.wait_for("space to select");
    pane.keys(&["Enter"]);
    pane.wait_for("Add a custom");
    pane.text("y");
    pane.wait_for("Provider id");
    pane.text("mock");
    pane.keys(&["Enter"]);
    pane.wait_for("Compatible with");
    pane.keys(&["Enter"]);
    pane.wait_for("Base URL");
    pane.text(&format!("{}/v1", mock.base_url()));
    pane.keys(&["Enter"]);
    pane.wait_for("A model id");
    pane.text("up-model");
    pane.keys(&["Enter"]);
    pane.wait_for("Key variable");
    pane.keys(&["Enter"]);
    pane.wait_for("MOCK_API_KEY (hidden");
    pane.text("mock-key");
    pane.keys(&["Enter"]);
    pane.wait_for("Add another");
    pane.text("n");
    pane.wait_for("Require an API key");
    pane.text("n");
    // The TUI, serving the new configuration.
    let screen = pane.wait_for(" 1 Live ");
    assert!(home.join("bitrouter.yaml").is_file());
    let screen = if screen.contains("http://127.0.0.1:") {
        screen
    } else {
        pane.wait_for("http://127.0.0.1:")
    };
    let listen = listen_on(&screen);
    pane.keys(&["2"]);
    let providers = pane.wait_for("provider");
    assert!(
        pane.wait_until("the mock provider with its key set", |s| s
            .lines()
            .any(|l| l.contains("mock") && l.contains("set")))
            .contains("closed"),
        "{providers}"
    );
    // Requests appear on the live screen with their model, provider and status.
    pane.keys(&["1"]);
    assert!(chat(&listen, "mock:up-model").contains("200"));
    assert!(chat(&listen, "no-such-model").contains("404"));
    let live = pane.wait_until("both requests", |s| {
        s.contains("mock:up-model → mock/up-model") && s.contains("no-such-model")
    });
    let row = live
        .lines()
        .find(|l| l.contains("mock:up-model → mock/up-model"))
        .unwrap();
    assert!(row.contains(" 200 ") && row.contains("chat>chat"), "{live}");
    let row = live.lines().find(|l| l.contains("no-such-model")).unwrap();
    assert!(row.contains(" 404 "), "{live}");
    // Newest first.
    assert!(
        live.find("no-such-model") < live.find("mock:up-model →"),
        "{live}"
    );

    // Break the configuration: `r` shows every diagnostic, the old table keeps serving.
    let config = home.join("bitrouter.yaml");
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{good}\nbogus_section: 1\n")).unwrap();
    pane.keys(&["5"]);
    pane.wait_for("configuration (r reloads)");
    pane.keys(&["r"]);
    let shown = pane.wait_for("FAILED (the previous table keeps serving)");
    assert!(shown.contains("bogus_section"), "{shown}");
    assert!(shown.contains("error["), "{shown}");
    assert!(chat(&listen, "mock:up-model").contains("200"));
    // Fixed again: `r` reloads cleanly.
    std::fs::write(&config, &good).unwrap();
    pane.keys(&["r"]);
    pane.wait_for("last reload: ok");

    // `?` shows the keys; `q` quits and drains: the router stops with the TUI.
    pane.keys(&["?"]);
    pane.wait_for("this help; any key closes it");
    pane.keys(&["Escape"]);
    pane.keys(&["q"]);
    let began = Instant::now();
    while !pane.dead() {
        assert!(began.elapsed() < WAIT, "still running:\n{}", pane.screen());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        std::net::TcpStream::connect(&listen).is_err(),
        "still listening"
    );
}

#[test]
fn a_cancelled_wizard_opens_the_empty_tui_with_a_hint() {
    let home = fresh("tui-cancel");
    let pane = Pane::start(
        "cancel",
        &command(&home, &["--listen", "127.0.0.1:0"]),
        100,
        30,
    );
    pane.wait_for("space to select");
    // Esc at the first prompt cancels the wizard.
    pane.keys(&["Escape"]);
    let screen = pane.wait_for("No providers are configured.");
    assert!(screen.contains("Setup did not finish"), "{screen}");
    pane.keys(&["q"]);
    let began = Instant::now();
    while !pane.dead() {
        assert!(began.elapsed() < WAIT, "still running:\n{}", pane.screen());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn attaches_to_a_running_daemon_and_leaves_it_running() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mock = rt.block_on(testkit::MockUpstream::start()).unwrap();
    let home = fresh("tui-attach");
    std::fs::write(
        home.join("bitrouter.yaml"),
        format!(
            "server: {{ skip_auth: true, listen: \"127.0.0.1:0\" }}\n\
             inherit_defaults: false\n\
             providers:\n\
             \x20 a: {{ api_base: \"{}/v1\", api_key: key-a, api_protocol: chat_completions, allow_private: true, models: [{{id: up-model}}] }}\n\
             models:\n\
             \x20 m: {{ endpoints: [{{provider: a, service_id: up-model}}] }}\n",
            mock.base_url()
        ),
    )
    .unwrap();
    let (code, out, err) = run(bin().args(["start", "--json", "--home-dir"]).arg(&home));
    assert_eq!(code, 0, "{err}");
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    let listen = status["listen"].as_str().unwrap().to_owned();
    let pid = status["pid"].as_u64().unwrap();
    struct Kill(u64);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("kill")
                .args(["-9", &self.0.to_string()])
                .status();
        }
    }
    let _kill = Kill(pid);
    // Bare `bitrouter` attaches rather than starting a second router.
    let pane = Pane::start("attach", &command(&home, &[]), 120, 30);
    pane.wait_for("attached,");
    pane.wait_for("q detach");
    assert!(chat(&listen, "m").contains("200"));
    let live = pane.wait_for("m → a/up-model");
    let row = live.lines().find(|l| l.contains("m → a/up-model")).unwrap();
    assert!(row.contains(" 200 "), "{live}");
    pane.keys(&["3"]);
    pane.wait_for("model: ");
    pane.text("m");
    pane.keys(&["Enter"]);
    pane.wait_for("1. a / up-model");
    pane.keys(&["Escape", "q"]);
    let began = Instant::now();
    while !pane.dead() {
        assert!(began.elapsed() < WAIT, "still running:\n{}", pane.screen());
        std::thread::sleep(Duration::from_millis(100));
    }
    // The daemon is still serving; `bitrouter tui` attaches the same way.
    assert!(chat(&listen, "m").contains("200"));
    let pane = Pane::start("attach2", &command(&home, &["tui"]), 120, 30);
    pane.wait_for("attached,");
    pane.keys(&["q"]);
    let (code, _, err) = run(bin().args(["stop", "--home-dir"]).arg(&home));
    assert_eq!(code, 0, "{err}");
}
