//! The client side of the control socket: blocking, one request and one reply per call, the
//! reply read as the typed answer to the request sent; `subscribe` reads a stream of events.

use std::io::{self, BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::proto::{
    self, Answer, Drained, Failure, Forwarded, Reloaded, Reply, ReplyError, Request, RouteAnswer,
    Status, Stopping, StreamLine,
};

/// The socket could not be used, or did not answer like a daemon.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to the control socket `{}`", socket.display())]
    Connect {
        socket: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot send the request to the daemon")]
    Send(#[source] io::Error),
    #[error("no reply from the daemon")]
    NoReply(#[source] io::Error),
    #[error("the daemon closed the connection without replying")]
    Closed,
    #[error(transparent)]
    Reply(#[from] ReplyError),
    /// Cannot happen with a daemon of this version: replies are read as the answer to the
    /// request sent.
    #[error("the daemon's reply does not answer the request")]
    Mismatch,
    /// A request that cannot be refused was.
    #[error("the daemon answered an error: {}", .0.error)]
    Refused(Failure),
}

/// What answers on a socket path.
#[derive(Debug)]
pub enum Probe {
    /// A daemon answered `status`.
    Live(Box<Status>),
    /// Nothing listens there (no file, or connection refused: a leftover from a dead daemon).
    Absent { stale_file: bool },
    /// Something is there but did not answer like a daemon (permissions, a hung daemon, …).
    Broken(ClientError),
}

pub fn probe(socket: &Path) -> Probe {
    match UnixStream::connect(socket) {
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
            Probe::Absent {
                stale_file: e.kind() == ErrorKind::ConnectionRefused,
            }
        }
        Err(source) => Probe::Broken(ClientError::Connect {
            socket: socket.to_path_buf(),
            source,
        }),
        Ok(stream) => {
            let request = Request::Status {};
            match exchange(stream, &request, Duration::from_secs(5)) {
                Ok(Ok(Answer::Status(s))) => Probe::Live(s),
                Ok(Ok(_)) => Probe::Broken(ClientError::Mismatch),
                Ok(Err(f)) => Probe::Broken(ClientError::Refused(f)),
                Err(e) => Probe::Broken(e),
            }
        }
    }
}

/// Sends `request` and waits up to `timeout` for the reply line.
pub fn call(socket: &Path, request: &Request, timeout: Duration) -> Result<Reply, ClientError> {
    let stream = UnixStream::connect(socket).map_err(|source| ClientError::Connect {
        socket: socket.to_path_buf(),
        source,
    })?;
    exchange(stream, request, timeout)
}

/// `stop`: the daemon begins draining and exits.
pub fn stop(socket: &Path) -> Result<Stopping, ClientError> {
    match call(socket, &Request::Stop {}, Duration::from_secs(5))? {
        Ok(Answer::Stopping(s)) => Ok(s),
        other => Err(unexpected(other)),
    }
}

/// `drain`: stop, and wait up to `timeout` for open requests to finish.
pub fn drain(socket: &Path, timeout: Duration, wait: Duration) -> Result<Drained, ClientError> {
    let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    let request = Request::Drain {
        timeout_ms: Some(timeout_ms),
    };
    match call(socket, &request, wait)? {
        Ok(Answer::Drained(d)) => Ok(d),
        other => Err(unexpected(other)),
    }
}

/// `reload` with forwarded variables; `Ok(Err)` is the daemon's refusal (the old table stays).
pub fn reload(socket: &Path, env: Forwarded) -> Result<Result<Reloaded, Failure>, ClientError> {
    match call(socket, &Request::Reload { env }, Duration::from_secs(120))? {
        Ok(Answer::Reloaded(r)) => Ok(Ok(r)),
        Err(f) => Ok(Err(f)),
        other => Err(unexpected(other)),
    }
}

/// `route` from the live table; `Ok(Err)` is "does not route" (with a hint).
pub fn route(
    socket: &Path,
    model: &str,
    inbound: Option<&str>,
) -> Result<Result<RouteAnswer, Failure>, ClientError> {
    let request = Request::Route {
        model: model.to_owned(),
        inbound: inbound.map(str::to_owned),
        json: false,
    };
    match call(socket, &request, Duration::from_secs(10))? {
        Ok(Answer::Route(r)) => Ok(Ok(*r)),
        Err(f) => Ok(Err(f)),
        other => Err(unexpected(other)),
    }
}

/// A `subscribe` stream: blocking reads of one [`StreamLine`] each.
#[derive(Debug)]
pub struct Events {
    reader: BufReader<UnixStream>,
}

impl Events {
    /// The next line: `Ok(None)` when the daemon closed the stream (it stopped). Waits as long
    /// as no request finishes; drop the value (or shut the socket) to stop.
    pub fn next_line(&mut self) -> Result<Option<StreamLine>, ClientError> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(ClientError::NoReply)?;
        if n == 0 {
            return Ok(None);
        }
        let parsed: StreamLine = serde_json::from_str(&line).map_err(ReplyError::Malformed)?;
        if parsed.v != proto::VERSION {
            return Err(ReplyError::Version(parsed.v).into());
        }
        Ok(Some(parsed))
    }

    /// A handle that ends the stream from another thread (`shutdown`).
    pub fn closer(&self) -> io::Result<UnixStream> {
        self.reader.get_ref().try_clone()
    }
}

/// `subscribe`: every model call the daemon finishes from now on.
pub fn subscribe(socket: &Path) -> Result<Events, ClientError> {
    let mut stream = UnixStream::connect(socket).map_err(|source| ClientError::Connect {
        socket: socket.to_path_buf(),
        source,
    })?;
    let request = Request::Subscribe {};
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .and_then(|()| stream.set_write_timeout(Some(Duration::from_secs(5))))
        .and_then(|()| stream.write_all(proto::request_line(&request).as_bytes()))
        .map_err(ClientError::Send)?;
    let mut reader = BufReader::new(stream);
    let mut reply = String::new();
    let n = reader.read_line(&mut reply).map_err(ClientError::NoReply)?;
    if n == 0 {
        return Err(ClientError::Closed);
    }
    match proto::parse_reply(&reply, &request)? {
        Ok(Answer::Subscribed(_)) => {}
        other => return Err(unexpected(other)),
    }
    reader
        .get_ref()
        .set_read_timeout(None)
        .map_err(ClientError::NoReply)?;
    Ok(Events { reader })
}

fn unexpected(reply: Reply) -> ClientError {
    match reply {
        Err(f) => ClientError::Refused(f),
        Ok(_) => ClientError::Mismatch,
    }
}

fn exchange(
    mut stream: UnixStream,
    request: &Request,
    timeout: Duration,
) -> Result<Reply, ClientError> {
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(Duration::from_secs(5))))
        .and_then(|()| stream.write_all(proto::request_line(request).as_bytes()))
        .map_err(ClientError::Send)?;
    let mut reply = String::new();
    let n = BufReader::new(stream)
        .read_line(&mut reply)
        .map_err(ClientError::NoReply)?;
    if n == 0 {
        return Err(ClientError::Closed);
    }
    Ok(proto::parse_reply(&reply, request)?)
}
