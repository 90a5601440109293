//! Minimal HTTP/1.1 over one `TcpStream`: request heads (httparse), bodies (length or chunked),
//! response heads and chunk frames, and waits and writes that notice the client going away.
//!
//! Every wait and every write races a read of the socket, so an EOF or reset from the client is
//! seen the moment it arrives, even while the mock stalls on purpose. Bytes read during a
//! response (a pipelined request) stay in the buffer for the next `read_request`.

use std::io::{self, Write as _};
use std::time::Duration;

use bytes::{Buf as _, Bytes, BytesMut};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 64 * 1024 * 1024;
const MAX_HEADERS: usize = 128;

/// A parsed request head plus its body.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) target: String,
    /// Lowercased names.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
    pub(crate) keep_alive: bool,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The target without its query string.
    pub(crate) fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    pub(crate) fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }
}

/// Why reading a request stopped.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The client closed (or reset) the connection: nothing to answer.
    Closed,
    /// A malformed or oversized request: answer this status, then close.
    Bad(u16, &'static str),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> ReadError {
        ReadError::Closed
    }
}

/// The client went away while the mock was stalling or writing.
#[derive(Debug)]
pub(crate) struct Aborted;

/// One client connection.
#[derive(Debug)]
pub(crate) struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    /// Scratch space for response heads and chunk frames.
    pub(crate) out: Vec<u8>,
}

impl Conn {
    pub(crate) fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            buf: BytesMut::with_capacity(8 * 1024),
            out: Vec::with_capacity(4 * 1024),
        }
    }

    /// Reads the next request, or `Closed` when the client ends the connection between requests.
    pub(crate) async fn read_request(&mut self) -> Result<Request, ReadError> {
        let Head {
            mut req,
            head_len,
            body_len: len,
            chunked,
            expect_continue,
        } = loop {
            if !self.buf.is_empty() {
                if let Some(parsed) = parse_head(&self.buf)? {
                    break parsed;
                }
            }
            if self.buf.len() >= MAX_HEAD {
                return Err(ReadError::Bad(431, "request head too large"));
            }
            self.fill().await?;
        };
        self.buf.advance(head_len);
        if expect_continue {
            self.stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await?;
        }
        req.body = if chunked {
            self.read_chunked().await?
        } else {
            if len > MAX_BODY {
                return Err(ReadError::Bad(413, "request body too large"));
            }
            while self.buf.len() < len {
                self.fill().await?;
            }
            self.buf.split_to(len).freeze()
        };
        Ok(req)
    }

    async fn fill(&mut self) -> Result<(), ReadError> {
        if self.buf.capacity() - self.buf.len() < 1024 {
            self.buf.reserve(8 * 1024);
        }
        match self.stream.read_buf(&mut self.buf).await? {
            0 => Err(ReadError::Closed),
            _ => Ok(()),
        }
    }

    async fn read_chunked(&mut self) -> Result<Bytes, ReadError> {
        let mut body = BytesMut::new();
        loop {
            let (start, size) = loop {
                match httparse::parse_chunk_size(&self.buf) {
                    Ok(httparse::Status::Complete((start, size))) => break (start, size),
                    Ok(httparse::Status::Partial) => self.fill().await?,
                    Err(_) => return Err(ReadError::Bad(400, "bad chunk size")),
                }
            };
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            if size > MAX_BODY - body.len() {
                return Err(ReadError::Bad(413, "request body too large"));
            }
            if size == 0 {
                self.buf.advance(start);
                // Trailer fields, if any, then the empty line.
                loop {
                    let end = loop {
                        match memchr::memmem::find(&self.buf, b"\r\n") {
                            Some(end) => break end,
                            None => self.fill().await?,
                        }
                    };
                    self.buf.advance(end + 2);
                    if end == 0 {
                        return Ok(body.freeze());
                    }
                }
            }
            while self.buf.len() < start + size + 2 {
                self.fill().await?;
            }
            body.extend_from_slice(&self.buf[start..start + size]);
            self.buf.advance(start + size + 2);
        }
    }

    /// Waits `d`, or returns `Aborted` as soon as the client closes the connection.
    pub(crate) async fn sleep(&mut self, d: Duration) -> Result<(), Aborted> {
        let sleep = tokio::time::sleep_until(Instant::now() + d);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return Ok(()),
                r = self.stream.read_buf(&mut self.buf) => match r {
                    Ok(0) | Err(_) => return Err(Aborted),
                    Ok(_) => {}
                },
            }
        }
    }

    /// Writes all of `data`, watching the read side for the client closing meanwhile.
    pub(crate) async fn write(&mut self, data: &[u8]) -> Result<(), Aborted> {
        let (mut rd, mut wr) = self.stream.split();
        let mut off = 0;
        while off < data.len() {
            tokio::select! {
                biased;
                r = wr.write(&data[off..]) => match r {
                    Ok(0) | Err(_) => return Err(Aborted),
                    Ok(n) => off += n,
                },
                r = rd.read_buf(&mut self.buf) => match r {
                    Ok(0) | Err(_) => return Err(Aborted),
                    Ok(_) => {}
                },
            }
        }
        Ok(())
    }

    /// Writes `self.out` (taken and put back, so its allocation is reused).
    pub(crate) async fn write_out(&mut self) -> Result<(), Aborted> {
        let out = std::mem::take(&mut self.out);
        let r = self.write(&out).await;
        self.out = out;
        self.out.clear();
        r
    }

    /// Ends the connection with a TCP reset rather than a FIN.
    pub(crate) fn reset(self) {
        // SO_LINGER 0: the close sends RST. Best effort: without it the close is a plain FIN.
        let _ = self.stream.set_zero_linger();
    }
}

struct Head {
    req: Request,
    head_len: usize,
    body_len: usize,
    chunked: bool,
    expect_continue: bool,
}

/// Parses a complete head at the start of `buf`; `None` if more bytes are needed.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, ReadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut headers);
    let n = match head.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ReadError::Bad(431, "too many headers"));
        }
        Err(_) => return Err(ReadError::Bad(400, "malformed request head")),
    };
    let mut body_len = 0usize;
    let mut chunked = false;
    let mut expect_continue = false;
    let mut keep_alive = head.version == Some(1);
    let mut out = Vec::with_capacity(head.headers.len());
    for h in head.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        let value = String::from_utf8_lossy(h.value).into_owned();
        match name.as_str() {
            "content-length" => {
                body_len = value
                    .trim()
                    .parse()
                    .map_err(|_| ReadError::Bad(400, "bad content-length"))?;
            }
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            "expect" => expect_continue = value.eq_ignore_ascii_case("100-continue"),
            "connection" => {
                let v = value.to_ascii_lowercase();
                if v.contains("close") {
                    keep_alive = false;
                } else if v.contains("keep-alive") {
                    keep_alive = true;
                }
            }
            _ => {}
        }
        out.push((name, value));
    }
    let req = Request {
        method: head.method.unwrap_or("").to_owned(),
        target: head.path.unwrap_or("/").to_owned(),
        headers: out,
        body: Bytes::new(),
        keep_alive,
    };
    Ok(Some(Head {
        req,
        head_len: n,
        body_len,
        chunked,
        expect_continue,
    }))
}

/// Appends a response head. `len` is `Some` for a `Content-Length` body, `None` for chunked.
pub(crate) fn head(
    out: &mut Vec<u8>,
    status: u16,
    content_type: &str,
    len: Option<usize>,
    retry_after: Option<u32>,
    keep_alive: bool,
) {
    let _ = write!(out, "HTTP/1.1 {status} {}\r\n", reason(status));
    let _ = write!(out, "content-type: {content_type}\r\n");
    match len {
        Some(n) => {
            let _ = write!(out, "content-length: {n}\r\n");
        }
        None => out.extend_from_slice(b"transfer-encoding: chunked\r\ncache-control: no-cache\r\n"),
    }
    if let Some(s) = retry_after {
        let _ = write!(out, "retry-after: {s}\r\n");
    }
    if !keep_alive {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends one chunk frame around `data` (which must not be empty).
pub(crate) fn chunk(out: &mut Vec<u8>, data: &[u8]) {
    let _ = write!(out, "{:x}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The last chunk of a chunked body.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Overloaded",
        _ => "Status",
    }
}
