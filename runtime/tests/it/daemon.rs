//! The daemon in-process: the control socket answering through the same `Daemon`, the pid
//! file as a hard requirement, the exposure policy, and drain removing the daemon's files.

use std::time::Duration;

use compiler::EnvMode;
use runtime::control::client::{self, Probe};
use runtime::daemon::{self, StartError, StartOptions};

use crate::support;

const CONFIG: &str = "inherit_defaults: false\nserver: { skip_auth: true }\nproviders:\n  p: { api_base: \"http://127.0.0.1:9/v1\", api_key: k, api_protocol: chat_completions, allow_private: true, models: [{id: up}] }\nmodels:\n  vm: { endpoints: [{provider: p, service_id: up}] }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_answers_from_the_daemon_and_drain_removes_its_files() {
    let home = support::home("daemon-socket", CONFIG, "");
    let (daemon, _addr) = support::start(&home).await;
    let paths = daemon.paths().clone();
    assert_eq!(
        std::fs::read_to_string(&paths.pid_file).unwrap().trim(),
        std::process::id().to_string()
    );
    let socket = paths.socket.clone();
    let (probe, route) = tokio::task::spawn_blocking(move || {
        (
            client::probe(&socket),
            client::route(&socket, "vm", Some("messages")),
        )
    })
    .await
    .unwrap();
    let Probe::Live(status) = probe else {
        panic!("{probe:?}")
    };
    assert_eq!(*status, {
        let mut s = daemon.status();
        s.uptime_secs = status.uptime_secs;
        s
    });
    let route = route.unwrap().unwrap();
    assert_eq!(route.config_hash, status.config_hash);
    assert_eq!(route.route.chain[0].provider, "p");
    assert_eq!(route.route.inbound.as_deref(), Some("messages"));
    assert!(
        route.output.starts_with("vm: virtual model"),
        "{}",
        route.output
    );

    assert!(daemon.drain(Duration::from_secs(5)).await, "drained");
    // `serve` returned: the socket and the pid file are gone.
    let t0 = std::time::Instant::now();
    while paths.socket.exists() || paths.pid_file.exists() {
        assert!(t0.elapsed() < Duration::from_secs(5), "files left behind");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A pid file that cannot be written stops the start (it used to be ignored), and the control
/// socket bound before it is removed again.
#[test]
fn an_unwritable_pid_file_is_an_error() {
    let home = support::home("daemon-pid", CONFIG, "");
    // The run directory's parent is a file: the pid file cannot be created.
    std::fs::write(home.join("blocker"), "").unwrap();
    let mut o = support::options(&home);
    o.run_dir = Some(home.join("blocker/run"));
    let (paths, _) = runtime::home::resolve(&o);
    let socket = home.join("ctl/bitrouter.sock");
    let start = StartOptions {
        listen: Some("127.0.0.1:0".into()),
        socket: Some(socket.clone()),
        ..StartOptions::default()
    };
    match daemon::prepare(paths, start) {
        Err(e @ StartError::PidFile(_)) => {
            assert!(
                e.to_string().starts_with("cannot write the pid file `"),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!socket.exists(), "the control socket was cleaned up");
}

/// `skip_auth` on a non-loopback address: refused without the override, at start and (the
/// same function) at reload.
#[test]
fn the_exposure_policy() {
    let src = compiler::SourceFile::new("t", CONFIG);
    let table = compiler::compile(&src, &(), EnvMode::Strict).unwrap().table;
    let public = "0.0.0.0:4356".parse().unwrap();
    let loopback = "127.0.0.1:4356".parse().unwrap();
    assert!(daemon::check_exposure(table.server(), public, false).is_err());
    assert!(daemon::check_exposure(table.server(), public, true).is_ok());
    assert!(daemon::check_exposure(table.server(), loopback, false).is_ok());
    let home = support::home("daemon-exposed", CONFIG, "");
    let start = StartOptions {
        listen: Some("0.0.0.0:0".into()),
        ..StartOptions::default()
    };
    let (paths, _) = runtime::home::resolve(&support::options(&home));
    match daemon::prepare(paths, start) {
        Err(e @ StartError::Exposed(_)) => assert!(e.hint().is_some()),
        other => panic!("{other:?}"),
    }
}
