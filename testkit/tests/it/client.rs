//! A raw HTTP/1.1 test client over `TcpStream` that keeps chunk boundaries (one SSE event per
//! chunk is part of what is tested) and says whether a body ended cleanly or was cut.

use std::net::SocketAddr;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Set once the server closed (or reset) the connection.
    pub eof: bool,
}

/// A response head.
#[derive(Debug)]
pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn chunked(&self) -> bool {
        self.header("transfer-encoding") == Some("chunked")
    }
}

/// A whole response.
#[derive(Debug)]
pub struct Response {
    pub head: Head,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// Chunk by chunk (empty for a `Content-Length` body).
    pub chunks: Vec<Vec<u8>>,
    /// The body ended as framed (last chunk, or all `Content-Length` bytes).
    pub complete: bool,
}

impl Response {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn chunk_texts(&self) -> Vec<&str> {
        self.chunks
            .iter()
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect()
    }
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        Client {
            stream: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
            eof: false,
        }
    }

    /// Sends a request with a `Content-Length` body.
    pub async fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nhost: mock\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        self.send_raw(req.as_bytes()).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Reads more bytes; false at EOF or on a reset.
    async fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        let mut tmp = [0u8; 16 * 1024];
        match self.stream.read(&mut tmp).await {
            Ok(0) | Err(_) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                true
            }
        }
    }

    /// Reads the next raw read's worth, returning whether the connection was reset (not FIN).
    pub async fn read_error_kind(&mut self) -> Option<std::io::ErrorKind> {
        let mut tmp = [0u8; 1024];
        match self.stream.read(&mut tmp).await {
            Ok(_) => None,
            Err(e) => Some(e.kind()),
        }
    }

    fn find(&self, pat: &[u8]) -> Option<usize> {
        self.buf.windows(pat.len()).position(|w| w == pat)
    }

    /// The response head, or `None` if the connection closed first.
    pub async fn head(&mut self) -> Option<Head> {
        let end = loop {
            if let Some(i) = self.find(b"\r\n\r\n") {
                break i;
            }
            if !self.fill().await {
                return None;
            }
        };
        let text = String::from_utf8(self.buf[..end].to_vec()).unwrap();
        self.buf.drain(..end + 4);
        let mut lines = text.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.trim().to_ascii_lowercase(), v.trim().to_owned())
            })
            .collect();
        Some(Head { status, headers })
    }

    /// The next chunk of a chunked body: `Some(data)`, `Some(empty)` for the last chunk, `None`
    /// when the connection ended mid-body.
    pub async fn chunk(&mut self) -> Option<Vec<u8>> {
        let line = loop {
            if let Some(i) = self.find(b"\r\n") {
                break i;
            }
            if !self.fill().await {
                return None;
            }
        };
        let size =
            usize::from_str_radix(std::str::from_utf8(&self.buf[..line]).unwrap(), 16).unwrap();
        while self.buf.len() < line + 2 + size + 2 {
            if !self.fill().await {
                return None;
            }
        }
        let data = self.buf[line + 2..line + 2 + size].to_vec();
        assert_eq!(&self.buf[line + 2 + size..line + 4 + size], b"\r\n");
        self.buf.drain(..line + 4 + size);
        Some(data)
    }

    /// The next chunk with its arrival time.
    pub async fn timed_chunk(&mut self) -> Option<(Vec<u8>, Instant)> {
        let c = self.chunk().await?;
        Some((c, Instant::now()))
    }

    /// Reads a whole response.
    pub async fn response(&mut self) -> Option<Response> {
        let head = self.head().await?;
        let mut body = Vec::new();
        let mut chunks = Vec::new();
        let complete;
        if head.chunked() {
            loop {
                match self.chunk().await {
                    Some(c) if c.is_empty() => {
                        complete = true;
                        break;
                    }
                    Some(c) => {
                        body.extend_from_slice(&c);
                        chunks.push(c);
                    }
                    None => {
                        complete = false;
                        break;
                    }
                }
            }
        } else {
            let len: usize = head.header("content-length").unwrap().parse().unwrap();
            while self.buf.len() < len && self.fill().await {}
            let n = len.min(self.buf.len());
            body = self.buf.drain(..n).collect();
            complete = n == len;
        }
        Some(Response {
            head,
            body,
            chunks,
            complete,
        })
    }

    /// One request, one response.
    pub async fn call(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Option<Response> {
        self.send("POST", path, headers, body).await;
        self.response().await
    }

    /// True if the server closed the connection (nothing more arrives).
    pub async fn closed(&mut self) -> bool {
        !self.fill().await && self.buf.is_empty()
    }

    /// Closes the connection from this side.
    pub fn close(self) {
        drop(self.stream);
    }
}

/// One request on a fresh connection.
pub async fn call(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<Response> {
    Client::connect(addr).await.call(path, headers, body).await
}
