//! A scratch home on disk and a router started from it in-process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use runtime::{Daemon, HomeOptions, StartOptions};

/// A fresh home directory for one test (per process and name).
pub(crate) fn home(name: &str, config: &str, dotenv: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bitrouter-rt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bitrouter.yaml"), config).unwrap();
    std::fs::write(dir.join(".env"), dotenv).unwrap();
    dir
}

pub(crate) fn options(home: &Path) -> HomeOptions {
    HomeOptions {
        home_dir: Some(home.to_path_buf()),
        ..HomeOptions::default()
    }
}

/// Starts the router of `home` on `127.0.0.1:0` (no signal handling: the test process owns
/// its signals) and serves it on the current runtime until the test ends.
pub(crate) async fn start(home: &Path) -> (Arc<Daemon>, SocketAddr) {
    let (paths, problem) = runtime::home::resolve(&options(home));
    assert!(problem.is_none(), "{problem:?}");
    let start = StartOptions {
        listen: Some("127.0.0.1:0".into()),
        ..StartOptions::default()
    };
    let running = match runtime::daemon::prepare(paths, start) {
        Ok(p) => p.bind().await.unwrap(),
        Err(e) => panic!("{e}"),
    };
    let addr = running.local_addr();
    let daemon = Arc::clone(running.daemon());
    tokio::spawn(running.serve());
    (daemon, addr)
}

/// Rewrites the configuration on disk (what an operator does before `reload`).
pub(crate) fn write(home: &Path, config: &str) {
    std::fs::write(home.join("bitrouter.yaml"), config).unwrap();
}

/// The hash `/ready` reports: what the data plane serves right now.
pub(crate) async fn served_hash(addr: SocketAddr) -> String {
    let r = testkit::load::send(addr, "GET", "/ready", "")
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    v["config_hash"].as_str().unwrap().to_owned()
}
