//! A real HAProxy on loopback in front of N backends, for scale-out tests: writes a config into
//! a private temp directory, starts `haproxy` in the foreground on a free port, waits (bounded)
//! until it listens, and kills it on drop.
//!
//! The frontend balances round-robin over `r0..rN-1` of backend `replicas`, health-checking
//! each with `GET /ready` (expecting 200), and retries a request whose connection failed (or
//! that got no byte of response) on another replica. Timeouts allow long, slow streams.
//! The runtime API (an admin stats socket in the temp dir) moves a slot to a new address, sets
//! its state (`ready`/`drain`/`maint`) and reports its health-check status, so a test can
//! restart a replica on a new port the way a Kubernetes pod comes back with a new IP.
//!
//! `haproxy` is looked up as `$BITROUTER_HAPROXY`, else `/usr/sbin/haproxy`, else on `PATH`
//! (Debian's `haproxy` package; `scripts/test` installs it). [`Haproxy::binary`] returns
//! `None` when it is missing, unless `BITROUTER_REQUIRE_HAPROXY=1`, which makes that a panic
//! so CI fails rather than skips.

use std::fmt::Write as _;
use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Set to `1` (as `scripts/test` does) to make a missing `haproxy` a test failure.
pub const REQUIRE_VAR: &str = "BITROUTER_REQUIRE_HAPROXY";

/// How the balancer checks and times out.
#[derive(Clone, Debug)]
pub struct HaproxyOptions {
    /// Health-check interval (`inter`); a replica is marked down after `fall` failed checks
    /// and up again after `rise` good ones.
    pub check_interval: Duration,
    pub fall: u32,
    pub rise: u32,
    /// `timeout connect`.
    pub connect_timeout: Duration,
    /// `timeout client`/`timeout server`: the longest silence allowed mid-request or
    /// mid-stream (not the stream's total length).
    pub idle_timeout: Duration,
    /// How many times a request whose connection failed is retried (on another replica:
    /// `option redispatch`).
    pub retries: u32,
    /// `maxconn` for the process and the frontend.
    pub maxconn: u32,
}

impl Default for HaproxyOptions {
    fn default() -> HaproxyOptions {
        HaproxyOptions {
            check_interval: Duration::from_millis(250),
            fall: 1,
            rise: 1,
            connect_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(120),
            retries: 3,
            maxconn: 4096,
        }
    }
}

/// Why the balancer did not start or a runtime command failed.
#[derive(Debug)]
pub enum HaproxyError {
    /// No `haproxy` binary was found.
    Missing,
    Io(io::Error),
    /// `haproxy` exited or never listened; its output is attached.
    Start(String),
    /// The runtime API answered with an error.
    Command {
        command: String,
        answer: String,
    },
}

impl std::fmt::Display for HaproxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HaproxyError::Missing => write!(f, "haproxy was not found (Debian's `haproxy`)"),
            HaproxyError::Io(e) => write!(f, "haproxy: {e}"),
            HaproxyError::Start(log) => write!(f, "haproxy did not start:\n{log}"),
            HaproxyError::Command { command, answer } => {
                write!(f, "haproxy runtime API `{command}`: {answer}")
            }
        }
    }
}

impl std::error::Error for HaproxyError {}

impl From<io::Error> for HaproxyError {
    fn from(e: io::Error) -> HaproxyError {
        HaproxyError::Io(e)
    }
}

/// A replica slot's state as the balancer sees it (`show stat`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotStat {
    /// `UP`, `DOWN`, `MAINT`, `DRAIN`, `no check`, or a transition such as `UP 1/2`.
    pub status: String,
    /// Requests in flight to it now (`scur`).
    pub current: u64,
    /// Connections it has been given in total (`stot`).
    pub total: u64,
}

/// A running HAProxy. Dropping it kills the process and removes its directory.
#[derive(Debug)]
pub struct Haproxy {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
    slots: usize,
}

impl Haproxy {
    /// The `haproxy` binary, or `None` when there is none (a panic instead when
    /// `BITROUTER_REQUIRE_HAPROXY=1`).
    #[allow(clippy::print_stderr, reason = "a test skipping says why")]
    pub fn binary() -> Option<PathBuf> {
        let found = std::env::var_os("BITROUTER_HAPROXY")
            .map(PathBuf::from)
            .into_iter()
            .chain([PathBuf::from("/usr/sbin/haproxy")])
            .chain(
                std::env::var_os("PATH")
                    .map(|p| {
                        std::env::split_paths(&p)
                            .map(|d| d.join("haproxy"))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            )
            .find(|p| p.is_file());
        if found.is_none() {
            assert!(
                std::env::var(REQUIRE_VAR).as_deref() != Ok("1"),
                "{REQUIRE_VAR}=1 but no haproxy binary was found (install Debian's `haproxy`)"
            );
            eprintln!("haproxy not found; skipped (scripts/test installs it)");
        }
        found
    }

    /// Starts in front of `backends` with the default options.
    pub fn start(backends: &[SocketAddr]) -> Result<Haproxy, HaproxyError> {
        Haproxy::start_with(backends, &HaproxyOptions::default())
    }

    /// Starts in front of `backends` (slot `i` is `backends[i]`), on a free loopback port;
    /// returns once it accepts connections (within 10 s).
    pub fn start_with(
        backends: &[SocketAddr],
        options: &HaproxyOptions,
    ) -> Result<Haproxy, HaproxyError> {
        let bin = Haproxy::binary().ok_or(HaproxyError::Missing)?;
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "bitrouter-haproxy-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let mut last = String::new();
        // The port is found free, then bound by haproxy: another process may take it in
        // between, so a failed start is retried on a new port.
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let cfg = dir.join("haproxy.cfg");
            std::fs::write(&cfg, config(addr, &dir, backends, options))?;
            let log = std::fs::File::create(dir.join("haproxy.log"))?;
            let mut child = Command::new(&bin)
                .arg("-db")
                .arg("-f")
                .arg(&cfg)
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()?;
            match wait_listening(&mut child, addr, &dir, Duration::from_secs(10)) {
                Ok(()) => {
                    return Ok(Haproxy {
                        child,
                        dir,
                        addr,
                        slots: backends.len(),
                    });
                }
                Err(e) => last = e,
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(HaproxyError::Start(last))
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What haproxy printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("haproxy.log")).unwrap_or_default()
    }

    /// Sends one runtime API command and returns the answer.
    pub fn command(&self, command: &str) -> Result<String, HaproxyError> {
        let mut s = UnixStream::connect(self.dir.join("admin.sock"))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.set_write_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(command.as_bytes())?;
        s.write_all(b"\n")?;
        let mut answer = String::new();
        s.read_to_string(&mut answer)?;
        Ok(answer)
    }

    /// A `set ...` command: its answer is empty or informative on success, a complaint
    /// otherwise.
    fn set(&self, command: &str) -> Result<(), HaproxyError> {
        let answer = self.command(command)?;
        let lower = answer.to_ascii_lowercase();
        if [
            "unknown",
            "no such",
            "require",
            "invalid",
            "error",
            "not found",
            "denied",
        ]
        .iter()
        .any(|w| lower.contains(w))
        {
            return Err(HaproxyError::Command {
                command: command.to_owned(),
                answer: answer.trim().to_owned(),
            });
        }
        Ok(())
    }

    /// Points slot `slot` at `addr` (a replica back on a new port).
    pub fn set_addr(&self, slot: usize, addr: SocketAddr) -> Result<(), HaproxyError> {
        self.set(&format!(
            "set server replicas/r{slot} addr {} port {}",
            addr.ip(),
            addr.port()
        ))
    }

    /// `ready`, `drain` (no new requests, open ones finish) or `maint` (out of rotation).
    pub fn set_state(&self, slot: usize, state: &str) -> Result<(), HaproxyError> {
        self.set(&format!("set server replicas/r{slot} state {state}"))
    }

    /// Slot `slot`'s status and counters.
    pub fn stat(&self, slot: usize) -> Result<SlotStat, HaproxyError> {
        let csv = self.command("show stat")?;
        let mut lines = csv.lines();
        let header: Vec<&str> = lines
            .next()
            .unwrap_or("")
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let (Some(px), Some(sv), Some(st), Some(cur), Some(tot)) = (
            col("pxname"),
            col("svname"),
            col("status"),
            col("scur"),
            col("stot"),
        ) else {
            return Err(HaproxyError::Command {
                command: "show stat".to_owned(),
                answer: csv,
            });
        };
        let name = format!("r{slot}");
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            if f.get(px) == Some(&"replicas") && f.get(sv) == Some(&name.as_str()) {
                let num = |i: usize| f.get(i).and_then(|v| v.parse().ok()).unwrap_or(0);
                return Ok(SlotStat {
                    status: f.get(st).copied().unwrap_or("").to_owned(),
                    current: num(cur),
                    total: num(tot),
                });
            }
        }
        Err(HaproxyError::Command {
            command: "show stat".to_owned(),
            answer: format!("no server replicas/{name}"),
        })
    }

    /// Waits up to `limit` until slot `slot`'s status starts with `want` (`UP`, `DOWN`, ...);
    /// returns the last status seen otherwise.
    pub fn wait_status(&self, slot: usize, want: &str, limit: Duration) -> Result<(), String> {
        let began = Instant::now();
        loop {
            let seen = match self.stat(slot) {
                Ok(s) if s.status.starts_with(want) && !s.status.contains('/') => return Ok(()),
                Ok(s) => s.status,
                Err(e) => e.to_string(),
            };
            if began.elapsed() > limit {
                return Err(format!(
                    "replica slot {slot} is `{seen}`, not `{want}`, after {limit:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// How many replica slots the config has.
    pub fn slots(&self) -> usize {
        self.slots
    }
}

/// Waits until `child` accepts on `addr` and its admin socket exists, or it exits.
fn wait_listening(
    child: &mut Child,
    addr: SocketAddr,
    dir: &Path,
    limit: Duration,
) -> Result<(), String> {
    let log = || std::fs::read_to_string(dir.join("haproxy.log")).unwrap_or_default();
    let began = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited with {status}:\n{}", log()));
        }
        let connected = TcpStream::connect_timeout(&addr, Duration::from_millis(200));
        if connected.is_ok() && dir.join("admin.sock").exists() {
            return Ok(());
        }
        if began.elapsed() > limit {
            return Err(format!("not listening after {limit:?}:\n{}", log()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ms(d: Duration) -> u128 {
    d.as_millis().max(1)
}

/// The configuration: one HTTP frontend, one round-robin backend of health-checked slots.
fn config(listen: SocketAddr, dir: &Path, backends: &[SocketAddr], o: &HaproxyOptions) -> String {
    let mut c = String::new();
    let _ = write!(
        c,
        "global\n\
         \x20 maxconn {maxconn}\n\
         \x20 stats socket {sock} mode 600 level admin\n\
         \x20 log stderr format raw local0 warning\n\
         \n\
         defaults\n\
         \x20 mode http\n\
         \x20 log global\n\
         \x20 option dontlognull\n\
         \x20 timeout connect {connect}ms\n\
         \x20 timeout client {idle}ms\n\
         \x20 timeout server {idle}ms\n\
         \x20 timeout http-request 10s\n\
         \x20 timeout http-keep-alive 10s\n\
         \x20 timeout queue 5s\n\
         \x20 timeout check 2s\n\
         \x20 # A request whose connection failed, or that got not one byte back (a keep-alive\n\
         \x20 # connection the replica closed as it was reused), goes to another replica.\n\
         \x20 retries {retries}\n\
         \x20 option redispatch 1\n\
         \x20 retry-on conn-failure empty-response\n\
         \n\
         frontend http\n\
         \x20 bind {listen}\n\
         \x20 maxconn {maxconn}\n\
         \x20 default_backend replicas\n\
         \n\
         backend replicas\n\
         \x20 balance roundrobin\n\
         \x20 # HTTP/1.1 with a loopback Host: the router refuses hosts it does not know.\n\
         \x20 option httpchk\n\
         \x20 http-check send meth GET uri /ready ver HTTP/1.1 hdr Host localhost\n\
         \x20 http-check expect status 200\n\
         \x20 default-server check inter {inter}ms fastinter {inter}ms downinter {inter}ms fall {fall} rise {rise}\n",
        maxconn = o.maxconn,
        sock = dir.join("admin.sock").display(),
        connect = ms(o.connect_timeout),
        idle = ms(o.idle_timeout),
        retries = o.retries,
        inter = ms(o.check_interval),
        fall = o.fall.max(1),
        rise = o.rise.max(1),
    );
    for (i, b) in backends.iter().enumerate() {
        let _ = writeln!(c, "  server r{i} {b}");
    }
    c
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn the_config_names_every_backend_and_checks_ready() {
        let backends = [
            SocketAddr::from(([127, 0, 0, 1], 1001)),
            SocketAddr::from(([127, 0, 0, 1], 1002)),
        ];
        let c = config(
            SocketAddr::from(([127, 0, 0, 1], 9)),
            Path::new("/tmp/x"),
            &backends,
            &HaproxyOptions::default(),
        );
        assert!(c.contains("server r0 127.0.0.1:1001\n"), "{c}");
        assert!(c.contains("server r1 127.0.0.1:1002\n"), "{c}");
        assert!(c.contains("uri /ready"), "{c}");
        assert!(c.contains("option redispatch"), "{c}");
        assert!(c.contains("bind 127.0.0.1:9"), "{c}");
    }
}
