//! A real Redis (or Valkey) on loopback for the shared-limit tests: `redis-server` (or
//! `valkey-server`) started on a free port with a private temp directory and no persistence,
//! waited for (bounded) until it answers `PING`, killed on drop. [`RedisServer::kill`] and
//! [`RedisServer::restart`] (same port) let a test take the store away mid-run.
//!
//! The binary is `$BITROUTER_REDIS_SERVER`, else `valkey-server` or `redis-server` in
//! `/usr/bin` or on `PATH` (Debian's `redis-server` package; `scripts/test` installs it).
//! [`RedisServer::binary`] returns `None` when there is none, unless
//! `BITROUTER_REQUIRE_REDIS=1`, which makes that a panic so CI fails rather than skips.

use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Set to `1` (as `scripts/test` does) to make a missing server a test failure.
pub const REQUIRE_VAR: &str = "BITROUTER_REQUIRE_REDIS";

/// A running `redis-server`. Dropping it kills the process and removes its directory.
#[derive(Debug)]
pub struct RedisServer {
    bin: PathBuf,
    child: Option<Child>,
    dir: PathBuf,
    addr: SocketAddr,
}

impl RedisServer {
    /// The server binary, or `None` (a panic instead when `BITROUTER_REQUIRE_REDIS=1`).
    #[allow(clippy::print_stderr, reason = "a test skipping says why")]
    pub fn binary() -> Option<PathBuf> {
        let path: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        let found = std::env::var_os("BITROUTER_REDIS_SERVER")
            .map(PathBuf::from)
            .into_iter()
            .chain(["valkey-server", "redis-server"].iter().flat_map(|name| {
                std::iter::once(PathBuf::from("/usr/bin").join(name))
                    .chain(path.iter().map(move |d| d.join(name)))
            }))
            .find(|p| p.is_file());
        if found.is_none() {
            assert!(
                std::env::var(REQUIRE_VAR).as_deref() != Ok("1"),
                "{REQUIRE_VAR}=1 but no redis-server or valkey-server was found (install Debian's `redis-server`)"
            );
            eprintln!("redis-server not found; skipped (scripts/test installs it)");
        }
        found
    }

    /// Starts one on a free loopback port; `None` when there is no binary (see [`binary`]).
    ///
    /// [`binary`]: RedisServer::binary
    pub fn start() -> Option<io::Result<RedisServer>> {
        let bin = RedisServer::binary()?;
        Some(RedisServer::start_with(bin))
    }

    fn start_with(bin: PathBuf) -> io::Result<RedisServer> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "bitrouter-redis-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut s = RedisServer {
            bin,
            child: None,
            dir,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        s.spawn()?;
        Ok(s)
    }

    fn spawn(&mut self) -> io::Result<()> {
        let child = Command::new(&self.bin)
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.addr.port().to_string())
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.ping() {
                return Ok(());
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                return Err(io::Error::other(format!(
                    "{} exited at start: {status}",
                    self.bin.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(io::Error::other(format!(
            "{} did not answer PING on {} within 10s",
            self.bin.display(),
            self.addr
        )))
    }

    /// Whether it answers `PING` now (within 500 ms).
    pub fn ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        if s.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut buf = [0u8; 16];
        matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Kills the server (SIGKILL) and waits for it to be gone: every key is lost, as when a
    /// store without persistence dies.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port (empty).
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill();
        self.spawn()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
