//! The daemon side of the control socket: bind it (mode 0600, in a 0700 directory), accept
//! connections, answer each request line with one reply line through the [`Daemon`]'s API;
//! a `subscribe` request turns its connection into the stream of request events.

use std::io::{self, ErrorKind};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use compiler::table::Protocol;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use dataplane::events::Next;

use super::proto::{
    self, Answer, Drained, Failure, Reply, Request, RequestEvent, RouteAnswer, Stopping,
    StreamLine, Subscribed,
};
use crate::daemon::{Daemon, DaemonPaths, Trigger};

/// The socket could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} `{}`", path.display())]
pub struct ControlError {
    action: &'static str,
    path: PathBuf,
    #[source]
    source: io::Error,
}

/// Why the control socket could not be bound.
#[derive(Debug)]
pub(crate) enum BindError {
    /// A live daemon answers on the socket already.
    Running(PathBuf),
    Other(ControlError),
}

/// Binds the control socket (mode 0600). A leftover socket nobody listens on is removed first.
pub(crate) fn bind(paths: &DaemonPaths) -> Result<std::os::unix::net::UnixListener, BindError> {
    let socket = &paths.socket;
    if let Some(dir) = socket.parent() {
        if !dir.exists() {
            std::fs::create_dir_all(dir)
                .and_then(|()| {
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                })
                .map_err(fail("create", dir))?;
        }
    }
    match std::os::unix::net::UnixStream::connect(socket) {
        Ok(_) => return Err(BindError::Running(socket.clone())),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
            // A socket file from a daemon that died without cleaning up.
            let _ = std::fs::remove_file(socket);
        }
        Err(_) => {}
    }
    let listener = std::os::unix::net::UnixListener::bind(socket)
        .map_err(fail("create the control socket", socket))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| listener.set_nonblocking(true))
        .map_err(fail("set up", socket))?;
    Ok(listener)
}

fn fail<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> BindError + 'p {
    move |source| {
        BindError::Other(ControlError {
            action,
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Accepts control connections until the process exits.
pub(crate) async fn serve(daemon: Arc<Daemon>, listener: std::os::unix::net::UnixListener) {
    let listener = match UnixListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "control socket unusable; `bitrouter stop/status/reload` will not reach this process");
            return;
        }
    };
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection(Arc::clone(&daemon), stream));
            }
            Err(e) => {
                tracing::warn!(error = %e, "control socket accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// One connection: any number of request lines, one reply line each. A malformed line gets an
/// error reply and the connection goes on; an over-long one ends it.
async fn connection(daemon: Arc<Daemon>, stream: UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut buf = Vec::new();
        let limit = u64::try_from(proto::MAX_LINE).unwrap_or(u64::MAX) + 1;
        let read = tokio::time::timeout(
            Duration::from_secs(60),
            (&mut reader).take(limit).read_until(b'\n', &mut buf),
        )
        .await;
        let n = match read {
            Ok(Ok(n)) => n,
            _ => return,
        };
        if n == 0 {
            return;
        }
        let request = if buf.len() > proto::MAX_LINE {
            Err(Failure::new("request line too long", None))
        } else {
            match std::str::from_utf8(&buf) {
                Ok(line) => proto::parse_request(line.trim()),
                Err(_) => Err(Failure::new("malformed request: not UTF-8", None)),
            }
        };
        if let Ok(Request::Subscribe {}) = request {
            // The connection is the stream from now on.
            return subscribe(&daemon, reader, write).await;
        }
        daemon.pending.fetch_add(1, Ordering::AcqRel);
        let reply = match request {
            Ok(req) => handle(&daemon, req).await,
            Err(e) => Err(e),
        };
        let written = write.write_all(proto::reply_line(&reply).as_bytes()).await;
        daemon.pending.fetch_sub(1, Ordering::AcqRel);
        if written.is_err() || buf.len() > proto::MAX_LINE {
            return;
        }
    }
}

/// `subscribe`: the reply, then one line per finished model call until the client closes
/// its end (anything it sends is ignored) or the daemon stops. A reader too slow for the
/// socket falls behind on the bounded channel, not the data plane: it is told how many
/// events it lost (and they are counted in `bitrouter_events_dropped_total`).
async fn subscribe(
    daemon: &Arc<Daemon>,
    mut reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    mut write: tokio::net::unix::OwnedWriteHalf,
) {
    let mut events = daemon.server().subscribe();
    let ok = proto::reply_line(&Ok(Answer::Subscribed(Subscribed { subscribed: true })));
    if write.write_all(ok.as_bytes()).await.is_err() {
        return;
    }
    let stop = daemon.stop_requested();
    tokio::pin!(stop);
    let mut sink = [0u8; 512];
    loop {
        let line = tokio::select! {
            next = events.next() => match next {
                Next::Event(e) => StreamLine {
                    v: proto::VERSION,
                    event: Some(RequestEvent::from_dataplane(&e)),
                    lagged: None,
                },
                Next::Lagged(n) => StreamLine { v: proto::VERSION, event: None, lagged: Some(n) },
                Next::Closed => return,
            },
            read = reader.read(&mut sink) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            },
            () = &mut stop => return,
        };
        if write.write_all(line.to_line().as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn handle(daemon: &Arc<Daemon>, req: Request) -> Reply {
    match req {
        Request::Status {} => Ok(Answer::Status(Box::new(daemon.status()))),
        Request::Reload { env } => match daemon.reload(Trigger::Socket(env)).await {
            Ok(r) => Ok(Answer::Reloaded(r.to_wire())),
            Err(e) => Err(e.to_failure()),
        },
        Request::Stop {} => {
            tracing::info!("stop requested through the control socket");
            daemon.stop();
            Ok(Answer::Stopping(Stopping {
                stopping: true,
                in_flight: daemon.server().in_flight(),
            }))
        }
        Request::Drain { timeout_ms } => {
            tracing::info!("drain requested through the control socket");
            let limit = daemon.server().table().server().drain_timeout + Duration::from_secs(1);
            let wait = timeout_ms.map_or(limit, |ms| Duration::from_millis(ms).min(limit));
            let drained = daemon.drain(wait).await;
            Ok(Answer::Drained(Drained {
                drained,
                in_flight: daemon.server().in_flight(),
            }))
        }
        // Answered by `subscribe` before it gets here.
        Request::Subscribe {} => Err(Failure::new("subscribe cannot be answered here", None)),
        Request::Route {
            model,
            inbound,
            json,
        } => {
            let inbound = match inbound.as_deref().map(|s| Protocol::parse(s).ok_or(s)) {
                None => None,
                Some(Ok(p)) => Some(p),
                Some(Err(s)) => return Err(Failure::new(format!("unknown protocol `{s}`"), None)),
            };
            let (route, config_hash) = daemon
                .route(&model, inbound)
                .map_err(|e| Failure::new(e.message, e.hint.as_deref()))?;
            let output = if json {
                serde_json::to_string_pretty(&route).unwrap_or_default()
            } else {
                route.human()
            };
            Ok(Answer::Route(Box::new(RouteAnswer {
                output,
                route,
                config_hash,
            })))
        }
    }
}
