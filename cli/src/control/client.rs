//! The client side of the control socket: blocking, one request and one reply per call.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use serde_json::Value;

/// What answers on a socket path.
#[derive(Debug)]
pub(crate) enum Probe {
    /// A daemon answered `status`.
    Live(Value),
    /// Nothing listens there (no file, or connection refused: a leftover from a dead daemon).
    Absent { stale_file: bool },
    /// Something is there but did not answer like a daemon (permissions, a hung daemon, …).
    Broken(anyhow::Error),
}

pub(crate) fn probe(socket: &Path) -> Probe {
    match UnixStream::connect(socket) {
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
            Probe::Absent {
                stale_file: e.kind() == ErrorKind::ConnectionRefused,
            }
        }
        Err(e) => Probe::Broken(anyhow::Error::new(e).context(format!(
            "cannot connect to the control socket `{}`",
            socket.display()
        ))),
        Ok(stream) => {
            match exchange(
                stream,
                &serde_json::json!({"v": 1, "op": "status"}),
                Duration::from_secs(5),
            ) {
                Ok(v) if v["ok"] == true => Probe::Live(v),
                Ok(v) => Probe::Broken(anyhow!("the daemon answered an error: {}", v["error"])),
                Err(e) => Probe::Broken(e),
            }
        }
    }
}

/// Sends `request` and waits up to `timeout` for the reply line.
pub(crate) fn request(socket: &Path, request: &Value, timeout: Duration) -> Result<Value> {
    let stream = UnixStream::connect(socket).with_context(|| {
        format!(
            "cannot connect to the control socket `{}`",
            socket.display()
        )
    })?;
    exchange(stream, request, timeout)
}

fn exchange(mut stream: UnixStream, request: &Value, timeout: Duration) -> Result<Value> {
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut line = serde_json::to_string(request)?;
    line.push('\n');
    stream.write_all(line.as_bytes())?;
    let mut reply = String::new();
    let n = BufReader::new(stream)
        .read_line(&mut reply)
        .context("no reply from the daemon")?;
    if n == 0 {
        return Err(anyhow!("the daemon closed the connection without replying"));
    }
    serde_json::from_str(&reply).context("the daemon's reply is not JSON")
}
