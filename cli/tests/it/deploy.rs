//! The deployment files under `deploy/` checked as a linter would and more: every
//! `bitrouter.yaml` they carry (the compose file's, the Kubernetes ConfigMap's, the Helm chart's
//! composed from its values) compiles strictly with the binary under test; the Dockerfile builds
//! this binary; compose, HAProxy and the router agree on names, ports, probes and the drain
//! arithmetic. Kubernetes and Helm are in `deploy_k8s`, the alert rules in `deploy_alerts`.
#![allow(
    clippy::print_stderr,
    reason = "a skipped check says so on the test's stderr"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{bin, run, scratch};

/// The repository's `deploy/` directory.
pub(crate) fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

pub(crate) fn read(rel: &str) -> String {
    let p = deploy_dir().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// One YAML document as JSON values (merge keys expanded).
pub(crate) fn yaml(text: &str, what: &str) -> Value {
    serde_saphyr::from_str::<Value>(text).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// `v` at a dotted path (`a.b.0.c`), or `Null`.
pub(crate) fn at<'v>(v: &'v Value, path: &str) -> &'v Value {
    path.split('.').fold(v, |v, k| match k.parse::<usize>() {
        Ok(i) if v.is_array() => v.get(i).unwrap_or(&Value::Null),
        _ => v.get(k).unwrap_or(&Value::Null),
    })
}

pub(crate) fn text<'v>(v: &'v Value, path: &str) -> &'v str {
    at(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("`{path}` is not a string in {v}"))
}

/// A duration as the configuration writes it (`30s`, `500ms`, `2m`, `1h`, a bare number of
/// seconds), in milliseconds.
pub(crate) fn millis(d: &str) -> u64 {
    let d = d.trim();
    let split = d.find(|c: char| !c.is_ascii_digit()).unwrap_or(d.len());
    let (n, unit) = d.split_at(split);
    let n: u64 = n.parse().unwrap_or_else(|_| panic!("duration `{d}`"));
    match unit {
        "ms" => n,
        "" | "s" => n * 1000,
        "m" => n * 60_000,
        "h" => n * 3_600_000,
        _ => panic!("duration `{d}`: unknown unit"),
    }
}

/// The port of a `host:port` listen address.
pub(crate) fn port_of(listen: &str) -> u16 {
    listen
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("listen address `{listen}` has no port"))
}

/// Every `${VAR}` / `${VAR:-default}` named in `text` (without a default).
pub(crate) fn env_refs(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        let end = rest.find('}').unwrap_or(rest.len());
        let inner = &rest[..end];
        if !inner.contains(":-") && !inner.is_empty() {
            out.insert(inner.to_owned());
        }
        rest = &rest[end..];
    }
    out
}

/// A well-formed stand-in for each variable a deployment config names (as CI has no secrets).
fn dummy(var: &str) -> String {
    match var {
        // RFC 8032's first test vector: a valid Ed25519 public key, base64url.
        "BITROUTER_TRUSTED_KEY" => "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into(),
        "DATABASE_URL" => "postgres://bitrouter:dummy@127.0.0.1:5432/bitrouter".into(),
        "BITROUTER_LIMIT_STORE" => "redis://:dummy@127.0.0.1:6379/0".into(),
        _ => format!("dummy-{}", var.to_ascii_lowercase()),
    }
}

/// Compiles `config` (the text of a bitrouter.yaml) strictly, with every variable it names set
/// to a dummy; fails the test on any error or warning.
pub(crate) fn assert_compiles(name: &str, config: &str) {
    let dir = scratch("deploy-configs");
    let file = dir.join(name.replace(['/', ' '], "_"));
    std::fs::write(&file, config).unwrap();
    let mut c = bin();
    c.args(["config", "validate", "--strict", "--json", "-c"])
        .arg(&file);
    for var in env_refs(config) {
        c.env(&var, dummy(&var));
    }
    let (code, out, err) = run(&mut c);
    let report: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{name}: no JSON report ({e}):\n{out}{err}"));
    assert!(
        code == 0 && report["valid"] == true,
        "{name} does not compile:\n{}",
        serde_json::to_string_pretty(&report["errors"]).unwrap()
    );
    assert_eq!(
        report["warnings"].as_array().map_or(0, Vec::len),
        0,
        "{name} compiles with warnings:\n{}",
        serde_json::to_string_pretty(&report["warnings"]).unwrap()
    );
}

/// The router's settings a deployment depends on, read from one bitrouter.yaml.
pub(crate) struct Served {
    pub listen: String,
    pub metrics_listen: String,
    pub drain_timeout_ms: u64,
    pub drain_accept_ms: u64,
    pub allowed_hosts: Vec<String>,
    pub vars: BTreeSet<String>,
}

pub(crate) fn served(config: &str, what: &str) -> Served {
    let v = yaml(config, what);
    let listen = text(&v, "server.listen").to_owned();
    assert!(
        listen.starts_with("0.0.0.0:") || listen.starts_with("[::]:"),
        "{what}: server.listen `{listen}` is not reachable from outside the container"
    );
    let drain = at(&v, "server.drain");
    Served {
        listen,
        metrics_listen: text(&v, "server.metrics_listen").to_owned(),
        // The documented defaults (SPEC: drain in up to 30 s; drain.accept 5 s).
        drain_timeout_ms: drain["timeout"].as_str().map_or(30_000, millis),
        drain_accept_ms: drain["accept"].as_str().map_or(5_000, millis),
        allowed_hosts: at(&v, "server.allowed_hosts")
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|h| h.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        vars: value_refs(&v),
    }
}

/// Every `${VAR}` named in the string values of `v` (comments left out).
pub(crate) fn value_refs(v: &Value) -> BTreeSet<String> {
    match v {
        Value::String(s) => env_refs(s),
        Value::Array(a) => a.iter().flat_map(value_refs).collect(),
        Value::Object(m) => m.values().flat_map(value_refs).collect(),
        _ => BTreeSet::new(),
    }
}

/// Every file named `bitrouter.yaml` under `deploy/`.
fn config_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            config_files(&p, out);
        } else if p.file_name().is_some_and(|n| n == "bitrouter.yaml") {
            out.push(p);
        }
    }
}

#[test]
fn every_deployment_config_compiles_strictly() {
    let mut files = Vec::new();
    config_files(&deploy_dir(), &mut files);
    assert!(!files.is_empty(), "no bitrouter.yaml under deploy/");
    let mut checked = 0;
    for f in &files {
        let rel = f.strip_prefix(deploy_dir()).unwrap().display().to_string();
        assert_compiles(&rel, &std::fs::read_to_string(f).unwrap());
        checked += 1;
    }
    // The Kubernetes ConfigMap's and the Helm chart's (composed as its template does).
    assert_compiles("k8s ConfigMap", &super::deploy_k8s::configmap_config());
    assert_compiles(
        "helm values",
        &super::deploy_k8s::helm_config("bitrouter", "bitrouter"),
    );
    checked += 2;
    assert!(checked >= 3, "{checked}");
}

/// A config with a mistake is refused by the same check (the check can fail).
#[test]
#[should_panic(expected = "does not compile")]
fn the_config_check_catches_an_unknown_key() {
    let config = read("compose/bitrouter.yaml").replace("log_format:", "log_fromat:");
    assert_compiles("broken", &config);
}

#[test]
fn dockerfile_builds_and_runs_this_binary() {
    let df = read("docker/Dockerfile");
    let lines: Vec<&str> = df
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let joined = lines.join("\n");
    assert!(
        joined.contains("cargo build --release --locked -p cli"),
        "the build step must build the cli package (binary `bitrouter`)"
    );
    assert!(joined.contains("target/release/bitrouter"), "{joined}");
    // The package `cli` has the binary `bitrouter`.
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"cli\"") && manifest.contains("name = \"bitrouter\""));
    let froms = lines.iter().filter(|l| l.starts_with("FROM ")).count();
    assert!(froms >= 2, "multi-stage: {froms} FROM lines");
    let user = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("a numeric USER");
    assert_ne!(uid, 0, "the image runs as root");
    let entry = lines
        .iter()
        .find_map(|l| l.strip_prefix("ENTRYPOINT "))
        .expect("an ENTRYPOINT");
    let entry: Vec<String> = serde_json::from_str(entry).expect("ENTRYPOINT in exec form");
    assert!(
        entry[0].ends_with("/bitrouter") && entry[1] == "serve",
        "{entry:?}"
    );
    let config_path = entry
        .iter()
        .position(|a| a == "--config-file")
        .map(|i| entry[i + 1].clone())
        .expect("--config-file");
    assert_eq!(config_path, CONFIG_PATH);
    let exposed: BTreeSet<u16> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("EXPOSE "))
        .flat_map(|l| l.split_whitespace().map(|p| p.parse::<u16>().unwrap()))
        .collect();
    let s = served(&read("compose/bitrouter.yaml"), "compose/bitrouter.yaml");
    for p in [port_of(&s.listen), port_of(&s.metrics_listen)] {
        assert!(exposed.contains(&p), "port {p} is not EXPOSEd: {exposed:?}");
    }
    assert_eq!(uid, IMAGE_UID);
    let ignore =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.dockerignore"))
            .expect(".dockerignore at the repository root");
    assert!(
        ignore
            .lines()
            .any(|l| l.trim().trim_end_matches('/') == "target"),
        "target/ must stay out of the build context"
    );
}

/// Where the image reads its configuration, and the user it runs as.
pub(crate) const CONFIG_PATH: &str = "/etc/bitrouter/bitrouter.yaml";
pub(crate) const IMAGE_UID: u32 = 10001;

#[test]
fn compose_haproxy_and_the_router_agree() {
    let compose = yaml(&read("compose/docker-compose.yml"), "docker-compose.yml");
    let config = read("compose/bitrouter.yaml");
    let s = served(&config, "compose/bitrouter.yaml");
    let services = compose["services"].as_object().unwrap();
    let replicas: Vec<&String> = services
        .keys()
        .filter(|k| k.starts_with("bitrouter-"))
        .collect();
    assert_eq!(replicas.len(), 3, "{replicas:?}");
    for name in &replicas {
        let svc = &services[name.as_str()];
        // The drain finishes before compose's SIGKILL.
        let grace = millis(
            svc["stop_grace_period"]
                .as_str()
                .expect("stop_grace_period"),
        );
        assert!(
            grace > s.drain_timeout_ms,
            "{name}: stop_grace_period {grace}ms <= drain.timeout {}ms",
            s.drain_timeout_ms
        );
        let mounts: Vec<&str> = svc["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            mounts.contains(&format!("./bitrouter.yaml:{CONFIG_PATH}:ro").as_str()),
            "{name}: {mounts:?}"
        );
        let env = svc["environment"].as_object().unwrap();
        for var in &s.vars {
            assert!(
                env.contains_key(var),
                "{name}: ${{{var}}} is not in its environment"
            );
        }
        for dep in svc["depends_on"].as_object().unwrap().keys() {
            assert!(
                services.contains_key(dep),
                "{name} depends on unknown {dep}"
            );
        }
    }
    for needed in ["haproxy", "postgres", "valkey"] {
        assert!(services.contains_key(needed), "no {needed} service");
    }
    // The config reaches the other services by their compose names.
    assert!(config.contains("@postgres:5432/") && config.contains("@valkey:6379/"));
    assert!(s.allowed_hosts.iter().any(|h| h == "haproxy"));

    let cfg = read("compose/haproxy.cfg");
    let lines: Vec<&str> = cfg
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let servers: BTreeMap<&str, &str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("server "))
        .map(|l| {
            let mut w = l.split_whitespace();
            (w.next().unwrap(), w.next().unwrap())
        })
        .collect();
    let want: BTreeMap<&str, String> = replicas
        .iter()
        .map(|r| (r.as_str(), format!("{r}:{}", port_of(&s.listen))))
        .collect();
    assert_eq!(
        servers.values().copied().collect::<BTreeSet<_>>(),
        want.values().map(String::as_str).collect::<BTreeSet<_>>(),
        "HAProxy's servers are not the compose replicas on server.listen's port"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("http-check send meth GET uri /ready ")
                && l.contains("hdr Host localhost")),
        "HAProxy must check GET /ready with a Host the router accepts"
    );
    assert!(lines.contains(&"http-check expect status 200"));
    // A draining replica is marked down (inter x fall) before it stops accepting.
    let default_server = lines
        .iter()
        .find(|l| l.starts_with("default-server "))
        .expect("default-server");
    let word_after = |w: &str| {
        let words: Vec<&str> = default_server.split_whitespace().collect();
        let i = words
            .iter()
            .position(|x| *x == w)
            .unwrap_or_else(|| panic!("no `{w}`"));
        words[i + 1]
    };
    let detect = millis(word_after("inter")) * word_after("fall").parse::<u64>().unwrap();
    assert!(
        detect <= s.drain_accept_ms,
        "HAProxy notices a draining replica after {detect}ms, past drain.accept ({}ms)",
        s.drain_accept_ms
    );
    haproxy_accepts(&deploy_dir().join("compose/haproxy.cfg"));
}

/// `haproxy -c` (Debian's haproxy package); required when `BITROUTER_REQUIRE_HAPROXY` is set.
fn haproxy_accepts(cfg: &Path) {
    match std::process::Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(cfg)
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "haproxy -c rejects {}:\n{}{}",
            cfg.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => {
            assert!(
                std::env::var_os("BITROUTER_REQUIRE_HAPROXY").is_none(),
                "haproxy could not be run: {e}"
            );
            eprintln!("haproxy not found ({e}); `haproxy -c` skipped");
        }
    }
}
