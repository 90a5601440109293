//! `deploy/prometheus/alerts.yml`: `promtool check rules` and its unit tests
//! (`alerts_test.yml`: the config-skew alert fires with two hashes, not with one), and every
//! metric the rules query exists in a scrape of a real `bitrouter serve`.
#![allow(
    clippy::print_stderr,
    reason = "a skipped check says so on the test's stderr"
)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use super::deploy::{deploy_dir, read, yaml};
use super::{bin, scratch};

/// Runs promtool with `args` in deploy/prometheus; `None` when promtool is absent and not
/// required (`BITROUTER_REQUIRE_PROMTOOL`, set by scripts/test, makes that a failure).
fn promtool(args: &[&str]) -> Option<std::process::Output> {
    match std::process::Command::new("promtool")
        .args(args)
        .current_dir(deploy_dir().join("prometheus"))
        .output()
    {
        Ok(out) => Some(out),
        Err(e) => {
            assert!(
                std::env::var_os("BITROUTER_REQUIRE_PROMTOOL").is_none(),
                "promtool could not be run: {e}"
            );
            eprintln!("promtool not found ({e}); skipped (scripts/test installs it)");
            None
        }
    }
}

#[test]
fn alert_rules_pass_promtool_and_their_unit_tests() {
    for args in [
        &["check", "rules", "alerts.yml"][..],
        &["test", "rules", "alerts_test.yml"][..],
    ] {
        let Some(out) = promtool(args) else { return };
        assert!(
            out.status.success(),
            "promtool {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The unit tests really cover the skew alert both ways (firing and silent).
#[test]
fn the_skew_alert_is_tested_firing_and_silent() {
    let rules = yaml(&read("prometheus/alerts.yml"), "alerts.yml");
    let skew = rules["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["alert"] == "BitRouterConfigSkew")
        .expect("the BitRouterConfigSkew alert");
    let expr = skew["expr"].as_str().unwrap();
    assert!(
        expr.contains("bitrouter_config_info") && expr.contains("by (job, hash)"),
        "{expr}"
    );
    let tests = yaml(&read("prometheus/alerts_test.yml"), "alerts_test.yml");
    let (mut firing, mut silent) = (0, 0);
    for t in tests["tests"].as_array().unwrap() {
        for a in t["alert_rule_test"].as_array().into_iter().flatten() {
            if a["alertname"] != "BitRouterConfigSkew" {
                continue;
            }
            match a["exp_alerts"].as_array().map_or(0, Vec::len) {
                0 => silent += 1,
                _ => firing += 1,
            }
        }
    }
    assert!(
        firing >= 1 && silent >= 2,
        "firing {firing}, silent {silent}"
    );
}

#[test]
fn alert_rules_query_only_metrics_that_exist() {
    let rules = yaml(&read("prometheus/alerts.yml"), "alerts.yml");
    let mut queried = BTreeSet::new();
    for g in rules["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            let expr = r["expr"].as_str().unwrap();
            for w in metric_words(expr) {
                if w.starts_with("bitrouter_") {
                    queried.insert(w);
                }
            }
        }
    }
    assert!(queried.len() >= 5, "{queried:?}");
    let exposed = scrape_names();
    let missing: Vec<&String> = queried.iter().filter(|q| !exposed.contains(*q)).collect();
    assert!(
        missing.is_empty(),
        "alerts.yml queries metrics the router does not export: {missing:?}\nexported: {exposed:?}"
    );
}

/// Kills the router if the test ends early.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `bitrouter serve` with a metrics listener and returns the metric names of one scrape
/// (sample names and `# TYPE` families).
fn scrape_names() -> BTreeSet<String> {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let home = scratch("deploy-alerts");
    std::fs::write(
        home.join("bitrouter.yaml"),
        format!(
            "server: {{ listen: \"127.0.0.1:0\", metrics_listen: \"127.0.0.1:{port}\" }}\n\
             inherit_defaults: false\n"
        ),
    )
    .unwrap();
    let log = std::fs::File::create(home.join("serve.log")).unwrap();
    let child = bin()
        .arg("serve")
        .arg("--home-dir")
        .arg(&home)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let _child = Child(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    let body = loop {
        if let Some(b) = get_metrics(port) {
            break b;
        }
        assert!(
            Instant::now() < deadline,
            "no /metrics on 127.0.0.1:{port} within 30s; log:\n{}",
            std::fs::read_to_string(home.join("serve.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut names = BTreeSet::new();
    for line in body.lines() {
        if let Some(t) = line.strip_prefix("# TYPE ") {
            names.insert(t.split_whitespace().next().unwrap_or("").to_owned());
        } else if !line.starts_with('#') {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_owned());
        }
    }
    names.remove("");
    names
}

fn get_metrics(port: u16) -> Option<String> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
        .ok()?;
    let mut reply = String::new();
    s.read_to_string(&mut reply).ok()?;
    let (head, body) = reply.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

/// The words of a PromQL expression that can be metric names: label matchers (`{...}`),
/// grouping label lists (`by (...)`, `without (...)`) and range selectors left out.
fn metric_words(expr: &str) -> Vec<String> {
    let mut kept = String::new();
    let mut rest = expr;
    while let Some(c) = rest.chars().next() {
        let skip_to = |open: usize, close: char| rest[open..].find(close).map(|i| open + i + 1);
        let lower = rest.to_ascii_lowercase();
        let grouping = ["by (", "by(", "without (", "without("]
            .iter()
            .find(|g| lower.starts_with(*g))
            .map(|g| g.len());
        if let Some(n) = grouping.and_then(|g| skip_to(g, ')')) {
            rest = &rest[n..];
        } else if c == '{' {
            rest = &rest[skip_to(0, '}').unwrap_or(rest.len())..];
        } else if c == '[' {
            rest = &rest[skip_to(0, ']').unwrap_or(rest.len())..];
        } else {
            kept.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    kept.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect::<Vec<_>>()
}

#[test]
fn metric_words_skip_labels_groupings_and_ranges() {
    let w = metric_words(r#"sum by (job, hash) (rate(bitrouter_x_total{status=~"5.."}[5m])) > 0"#);
    assert_eq!(w, ["sum", "rate", "bitrouter_x_total", "0"]);
}
