//! Test harness: a mock upstream, a router compiled from a YAML template, and an HTTP client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use compiler::{EnvMode, SourceFile};
use dataplane::Server;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use testkit::MockUpstream;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub(crate) use compiler::table::Protocol;

/// Now, in Unix seconds (for tokens' `iat`/`exp`).
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub(crate) struct Harness {
    pub(crate) mock: MockUpstream,
    pub(crate) server: Arc<Server>,
    pub(crate) addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
    _stop: oneshot::Sender<()>,
}

#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub(crate) fn count(&self, needle: &str) -> usize {
        self.body.matches(needle).count()
    }
}

/// Compiles `yaml` with `MOCK` replaced by the mock's base URL.
pub(crate) fn table(yaml: &str, mock: &str) -> compiler::table::RoutingTable {
    let text = yaml.replace("MOCK", mock);
    let src = SourceFile::new("test.yaml", text.as_str());
    match compiler::compile(&src, &(), EnvMode::Lenient) {
        Ok(c) => c.table,
        Err(d) => panic!(
            "{}",
            compiler::diagnostic::render::render_human(&src, &d, false)
        ),
    }
}

impl Harness {
    pub(crate) async fn start(yaml: &str) -> Harness {
        let mock = MockUpstream::start().await.unwrap();
        let server = Server::new(table(yaml, &mock.base_url()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(Arc::clone(&server).run(listener, async {
            let _ = rx.await;
        }));
        let client = Client::builder(TokioExecutor::new()).build_http();
        Harness {
            mock,
            server,
            addr,
            client,
            _stop: tx,
        }
    }

    pub(crate) async fn post(&self, path: &str, body: &str) -> Reply {
        self.send("POST", path, body, &[]).await
    }

    /// A Chat Completions call with `token` as its Bearer key.
    pub(crate) async fn chat_as(&self, body: &str, token: &str) -> Reply {
        let bearer = format!("Bearer {token}");
        self.send(
            "POST",
            "/v1/chat/completions",
            body,
            &[("authorization", &bearer)],
        )
        .await
    }

    /// Waits (3 s at most) until no request is in flight: every record has settled.
    pub(crate) async fn settled(&self) {
        for _ in 0..300 {
            if self.server.in_flight() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("requests still in flight");
    }

    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.send_exactly(method, path, body, &all).await
    }

    /// As [`Harness::send`], with only `headers` (no `Content-Type` unless listed).
    pub(crate) async fn send_exactly(
        &self,
        method: &str,
        path: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
        let res = tokio::time::timeout(Duration::from_secs(20), self.client.request(req))
            .await
            .expect("router answered in time")
            .expect("router answered");
        let status = res.status();
        let headers = res.headers().clone();
        let body = tokio::time::timeout(Duration::from_secs(20), res.into_body().collect())
            .await
            .expect("body in time")
            .expect("body")
            .to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// A model call in `p` for `model`.
    pub(crate) async fn call(&self, p: Protocol, model: &str, stream: bool) -> Reply {
        let (path, body) = request(p, model, stream);
        self.post(&path, &body).await
    }
}

/// Path and body of a minimal "Say hello." call in each protocol.
pub(crate) fn request(p: Protocol, model: &str, stream: bool) -> (String, String) {
    match p {
        Protocol::ChatCompletions => (
            "/v1/chat/completions".into(),
            format!(
                r#"{{"model":"{model}","messages":[{{"role":"user","content":"Say hello."}}],"stream":{stream}}}"#
            ),
        ),
        Protocol::Responses => (
            "/v1/responses".into(),
            format!(r#"{{"model":"{model}","input":"Say hello.","stream":{stream}}}"#),
        ),
        Protocol::Messages => (
            "/v1/messages".into(),
            format!(
                r#"{{"model":"{model}","max_tokens":64,"messages":[{{"role":"user","content":"Say hello."}}],"stream":{stream}}}"#
            ),
        ),
        Protocol::GenerateContent => (
            if stream {
                format!("/v1beta/models/{model}:streamGenerateContent?alt=sse")
            } else {
                format!("/v1beta/models/{model}:generateContent")
            },
            r#"{"contents":[{"role":"user","parts":[{"text":"Say hello."}]}]}"#.into(),
        ),
    }
}

/// `api_base` for the mock in each protocol.
pub(crate) fn base(p: Protocol) -> &'static str {
    match p {
        Protocol::ChatCompletions | Protocol::Responses => "MOCK/v1",
        Protocol::Messages | Protocol::GenerateContent => "MOCK",
    }
}

/// A config with a virtual model `chain` = [first (with `fault`), second], both speaking `p`
/// and serving upstream model `upstream`. `server` is extra YAML under `server:`.
pub(crate) fn chain(p: Protocol, fault: &str, upstream: &str, server: &str) -> String {
    let proto = p.as_str();
    let b = base(p);
    format!(
        r#"inherit_defaults: false
server:
  skip_auth: true
  timeouts: {{ first_byte: 700ms, idle: 700ms }}
  failover: {{ max_attempts: 3, breaker_failures: 100 }}
{server}
providers:
  first: {{ api_base: "{b}", api_key: up-key, api_protocol: {proto}, allow_private: true, headers: {{ x-mock-fault: "{fault}" }}, models: [{{id: {upstream}}}] }}
  second: {{ api_base: "{b}", api_key: up-key, api_protocol: {proto}, allow_private: true, models: [{{id: {upstream}}}] }}
models:
  chain: {{ strategy: priority, endpoints: [ {{provider: first, model_id: {upstream}}}, {{provider: second, model_id: {upstream}}} ] }}
"#
    )
}

/// The text a clean answer from the mock carries, non-streamed or streamed.
pub(crate) fn assert_clean_answer(p: Protocol, stream: bool, r: &Reply) {
    assert_eq!(r.status, 200, "{p:?} stream={stream}: {}", r.body);
    if !stream {
        assert!(r.body.contains("Hello!"), "{p:?}: {}", r.body);
        return;
    }
    assert!(
        r.body.contains("Hel") && r.body.contains("lo!"),
        "{p:?}: {}",
        r.body
    );
    let (lifecycle, end) = match p {
        Protocol::ChatCompletions => ("\"role\":\"assistant\"", "data: [DONE]"),
        Protocol::Responses => ("event: response.created", "event: response.completed"),
        Protocol::Messages => ("event: message_start", "event: message_stop"),
        Protocol::GenerateContent => ("\"finishReason\"", "\"finishReason\""),
    };
    assert_eq!(r.count(lifecycle), 1, "{p:?}: one lifecycle: {}", r.body);
    assert_eq!(r.count(end), 1, "{p:?}: one end: {}", r.body);
    assert!(!r.body.contains("\"error\":{"), "{p:?}: {}", r.body);
}
