//! Load for reload tests: streaming callers kept in flight against a router ([`Load`]), and the
//! check that a streamed answer arrived whole ([`incomplete`]). The in-process reload test
//! (`runtime/tests/it/reload.rs`) and the one through the daemon's control socket
//! (`cli/tests/it/daemon.rs`) share them.
//!
//! Requests go over raw tokio sockets (HTTP/1.1, one connection each, `connection: close`), so
//! this module needs no HTTP client; chunked bodies are decoded, and a body cut before its last
//! chunk is a failure, not a short answer. Every wait is bounded ([`TIMEOUT`]).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::MockUpstream;

/// The longest any one call may take, connection to last byte.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A caller's protocol: which inbound endpoint it posts to and how its stream ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    ChatCompletions,
    Responses,
    Messages,
    GenerateContent,
}

impl Caller {
    pub const ALL: [Caller; 4] = [
        Caller::ChatCompletions,
        Caller::Responses,
        Caller::Messages,
        Caller::GenerateContent,
    ];

    /// Path and body of a "Say hello. #tag#" call for `model` (the tag finds the request in
    /// the mock's log, see [`served_by`]).
    pub fn request(self, model: &str, stream: bool, tag: usize) -> (String, String) {
        let say = format!("Say hello. #{tag}#");
        match self {
            Caller::ChatCompletions => (
                "/v1/chat/completions".into(),
                format!(
                    r#"{{"model":"{model}","messages":[{{"role":"user","content":"{say}"}}],"stream":{stream}}}"#
                ),
            ),
            Caller::Responses => (
                "/v1/responses".into(),
                format!(r#"{{"model":"{model}","input":"{say}","stream":{stream}}}"#),
            ),
            Caller::Messages => (
                "/v1/messages".into(),
                format!(
                    r#"{{"model":"{model}","max_tokens":64,"messages":[{{"role":"user","content":"{say}"}}],"stream":{stream}}}"#
                ),
            ),
            Caller::GenerateContent => (
                if stream {
                    format!("/v1beta/models/{model}:streamGenerateContent?alt=sse")
                } else {
                    format!("/v1beta/models/{model}:generateContent")
                },
                format!(r#"{{"contents":[{{"role":"user","parts":[{{"text":"{say}"}}]}}]}}"#),
            ),
        }
    }

    /// The event that ends a whole stream, once.
    fn terminal(self) -> &'static str {
        match self {
            Caller::ChatCompletions => "data: [DONE]",
            Caller::Responses => "event: response.completed",
            Caller::Messages => "event: message_stop",
            Caller::GenerateContent => "\"finishReason\"",
        }
    }
}

/// A router's answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// `x-bitrouter-provider`: which provider served it.
    pub provider: String,
    /// The body, de-chunked.
    pub body: String,
}

/// One model call from `caller` for `model`, tagged `tag`.
pub async fn call(
    addr: SocketAddr,
    caller: Caller,
    model: &str,
    stream: bool,
    tag: usize,
) -> Result<Answer, String> {
    let (path, body) = caller.request(model, stream, tag);
    send(addr, "POST", &path, &body).await
}

/// One request on a fresh connection, read to the end within [`TIMEOUT`]. Transport errors, a
/// cut body and the timeout are `Err`, so a caller can count them.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> Result<Answer, String> {
    send_with(addr, method, path, body, &[]).await
}

/// [`send`] with extra request headers.
pub async fn send_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Result<Answer, String> {
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let work = async {
        let mut s = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
             {extra}content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes())
            .await
            .and(s.write_all(body.as_bytes()).await)
            .map_err(|e| format!("send: {e}"))?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)
            .await
            .map_err(|e| format!("read: {e}"))?;
        parse_response(&raw)
    };
    tokio::time::timeout(TIMEOUT, work)
        .await
        .map_err(|_| "timed out".to_owned())?
}

fn parse_response(raw: &[u8]) -> Result<Answer, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut res = httparse::Response::new(&mut headers);
    let head_len = match res.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err("response head cut".into()),
        Err(e) => return Err(format!("bad response head: {e}")),
    };
    let header = |name: &str| {
        res.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
    };
    let rest = &raw[head_len..];
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(rest).ok_or("body cut before its last chunk")?
    } else if let Some(n) = header("content-length").and_then(|v| v.trim().parse().ok()) {
        rest.get(..n)
            .ok_or("body shorter than content-length")?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Answer {
        status: res.code.unwrap_or(0),
        provider: header("x-bitrouter-provider").unwrap_or_default(),
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A chunked body, or `None` when it ends before the zero-size chunk.
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..eol]).ok()?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// The answer's text reassembled from the caller protocol's stream events, or `None` when an
/// event is not JSON.
pub fn streamed_text(caller: Caller, body: &str) -> Option<String> {
    let mut text = String::new();
    for line in body.lines() {
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let data = data.trim();
        if data == "[DONE]" {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(data).ok()?;
        let piece = match caller {
            Caller::ChatCompletions => v["choices"][0]["delta"]["content"].as_str(),
            Caller::Responses if v["type"] == "response.output_text.delta" => v["delta"].as_str(),
            Caller::Messages if v["type"] == "content_block_delta" => v["delta"]["text"].as_str(),
            Caller::GenerateContent => v["candidates"][0]["content"]["parts"][0]["text"].as_str(),
            _ => None,
        };
        text.push_str(piece.unwrap_or(""));
    }
    Some(text)
}

/// Why a streamed answer from the mock is not whole, if it is not: status 200, the caller's
/// terminal event exactly once and last, no error event, and the text "Hello!".
pub fn incomplete(caller: Caller, a: &Answer) -> Option<String> {
    if a.status != 200 {
        return Some(format!("status {}", a.status));
    }
    let end = caller.terminal();
    if a.body.matches(end).count() != 1 {
        return Some(format!("terminal frame `{end}` not there exactly once"));
    }
    let last = a
        .body
        .lines()
        .rev()
        .find(|l| l.starts_with("data:") || l.starts_with("event:"))
        .unwrap_or("");
    let last_is_end = match caller {
        Caller::ChatCompletions => last == end,
        // The terminal event's name line is followed by its data line.
        Caller::Responses | Caller::Messages => a
            .body
            .lines()
            .rev()
            .find(|l| l.starts_with("event:"))
            .is_some_and(|l| l == end),
        Caller::GenerateContent => last.contains(end),
    };
    if !last_is_end {
        return Some(format!("`{end}` is not the last event"));
    }
    if a.body.replace(": ", ":").contains("\"error\":{") {
        return Some("error event".into());
    }
    match streamed_text(caller, &a.body) {
        Some(t) if t == "Hello!" => None,
        other => Some(format!("text {other:?}")),
    }
}

/// Streaming callers against `addr`: `workers` tasks, worker `w` speaking `Caller::ALL[w % 4]`,
/// each running one stream after another until [`Running::finish`] or `max_per_worker`.
#[derive(Clone, Debug)]
pub struct Load {
    pub addr: SocketAddr,
    pub model: String,
    pub workers: usize,
    pub max_per_worker: usize,
}

/// A load in progress.
#[derive(Debug)]
pub struct Running {
    done: Arc<AtomicBool>,
    workers: JoinSet<Vec<(usize, Result<String, String>)>>,
}

/// What the callers saw.
#[derive(Debug, Default)]
pub struct Report {
    /// Each whole stream: its tag and the provider that served it.
    pub served: Vec<(usize, String)>,
    /// Each failed stream, described with its caller, tag and body.
    pub failures: Vec<String>,
}

impl Load {
    /// Starts the workers on the current tokio runtime (call inside one, or after
    /// `Runtime::enter`). Stream tags are `w * max_per_worker + n`.
    pub fn start(self) -> Running {
        let done = Arc::new(AtomicBool::new(false));
        let mut workers = JoinSet::new();
        for w in 0..self.workers {
            let (done, load) = (Arc::clone(&done), self.clone());
            workers.spawn(async move {
                let caller = Caller::ALL[w % Caller::ALL.len()];
                let mut results = Vec::new();
                for n in 0..load.max_per_worker {
                    if done.load(Ordering::Acquire) {
                        break;
                    }
                    let tag = w * load.max_per_worker + n;
                    let outcome = match call(load.addr, caller, &load.model, true, tag).await {
                        Ok(a) => match incomplete(caller, &a) {
                            None => Ok(a.provider),
                            Some(why) => Err(format!("{caller:?} #{tag}: {why}: {}", a.body)),
                        },
                        Err(e) => Err(format!("{caller:?} #{tag}: {e}")),
                    };
                    results.push((tag, outcome));
                }
                results
            });
        }
        Running { done, workers }
    }
}

impl Running {
    /// Lets each worker finish the stream it is on, then collects what they saw.
    pub async fn finish(mut self) -> Report {
        self.done.store(true, Ordering::Release);
        let mut report = Report::default();
        while let Some(joined) = self.workers.join_next().await {
            match joined {
                Ok(results) => {
                    for (tag, outcome) in results {
                        match outcome {
                            Ok(provider) => report.served.push((tag, provider)),
                            Err(e) => report.failures.push(e),
                        }
                    }
                }
                Err(e) => report.failures.push(format!("a worker failed: {e}")),
            }
        }
        report
    }
}

impl Report {
    pub fn total(&self) -> usize {
        self.served.len() + self.failures.len()
    }

    /// Whole streams per serving provider.
    pub fn by_provider(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for (_, p) in &self.served {
            *out.entry(p.clone()).or_default() += 1;
        }
        out
    }
}

/// Which provider the mock saw each tagged request on, by the `x-which` header the test's
/// configuration sets per provider; `Err` names a tag that reached the upstream twice.
pub fn served_by(mock: &MockUpstream) -> Result<HashMap<usize, String>, String> {
    let mut out = HashMap::new();
    for r in mock.requests() {
        let body = String::from_utf8_lossy(&r.body);
        let Some(rest) = body.split("Say hello. #").nth(1) else {
            continue;
        };
        let Some(tag) = rest.split('#').next().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let which = r.header("x-which").unwrap_or("?").to_owned();
        if out.insert(tag, which).is_some() {
            return Err(format!("request {tag} reached the upstream twice"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_decode_and_cuts_are_seen() {
        let raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-bitrouter-provider: a\r\n\r\n5\r\nhello\r\n1;x=y\r\n!\r\n0\r\n\r\n";
        let a = parse_response(raw).unwrap();
        assert_eq!(
            (a.status, a.provider.as_str(), a.body.as_str()),
            (200, "a", "hello!")
        );
        let cut = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel";
        assert!(parse_response(cut).is_err());
        let sized = b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse_response(sized).unwrap().body, "{}");
    }

    #[test]
    fn a_stream_must_end_once_and_last() {
        let whole = "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n\
                     data: {\"choices\":[{\"delta\":{\"content\":\"lo!\"}}]}\n\ndata: [DONE]\n\n";
        let answer = |body: &str| Answer {
            status: 200,
            provider: "a".into(),
            body: body.into(),
        };
        assert_eq!(incomplete(Caller::ChatCompletions, &answer(whole)), None);
        let cut = whole.replace("data: [DONE]\n\n", "");
        assert!(incomplete(Caller::ChatCompletions, &answer(&cut)).is_some());
        let late = format!("{whole}data: {{\"choices\":[]}}\n\n");
        assert!(incomplete(Caller::ChatCompletions, &answer(&late)).is_some());
        let short = whole.replace("lo!", "lo");
        assert!(incomplete(Caller::ChatCompletions, &answer(&short)).is_some());
    }
}
