//! The control protocol: one JSON object per line each way, versioned by `"v"`. One typed
//! [`Request`] / [`Reply`] pair, used by the daemon's server and by the client alike.
//!
//! Requests: `{"v":1,"op":"status"}`, `{"v":1,"op":"reload","env":{"OPENAI_API_KEY":"…"}}`,
//! `{"v":1,"op":"stop"}`, `{"v":1,"op":"drain","timeout_ms":30000}`,
//! `{"v":1,"op":"route","model":"smart","inbound":"responses","json":false}`,
//! `{"v":1,"op":"subscribe"}`.
//! Replies: `{"v":1,"ok":true,…}` with the answer's fields, or
//! `{"v":1,"ok":false,"error":"…","hint":"…"}` ([`Failure`]); a refused reload also carries
//! `diagnostics` (rendered for humans) and `report` (the JSON report). The reply line names
//! no operation: the client reads it as the answer to the request it sent.
//!
//! `subscribe` turns the connection into a stream: after its reply
//! (`{"v":1,"ok":true,"subscribed":true}`) the daemon writes one [`StreamLine`] per finished
//! model call (`{"v":1,"event":{…}}`), and `{"v":1,"lagged":N}` when this reader fell behind
//! and lost N events, until the client closes the connection or the daemon stops.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::daemon::DaemonPaths;
use crate::explain::RouteReport;

/// The protocol version this build speaks.
pub const VERSION: u64 = 1;

/// Longest request line accepted (a reload carries a handful of keys).
pub const MAX_LINE: usize = 1024 * 1024;

/// A request line, without its `v`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    Status {},
    /// Recompile and swap; `env` wins over the daemon's environment (keys from the caller's
    /// shell), and is remembered for later reloads.
    Reload {
        #[serde(default)]
        env: Forwarded,
    },
    Stop {},
    /// Stop and wait (up to `timeout_ms`, capped at the drain limit) until open requests finish.
    Drain {
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
    /// The chain for `model` from the live table. `json` chooses how `output` is rendered.
    Route {
        model: String,
        #[serde(default)]
        inbound: Option<String>,
        #[serde(default)]
        json: bool,
    },
    /// Stream every finished model call from now on (see the module docs).
    Subscribe {},
}

/// Variables a `reload` caller forwards. Its `Debug` names the variables, never the values.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Forwarded(pub BTreeMap<String, String>);

impl fmt::Debug for Forwarded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// The answer to a request, or why it was refused.
pub type Reply = Result<Answer, Failure>;

/// What each request answers when it succeeds.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Status(Box<Status>),
    Reloaded(Reloaded),
    Stopping(Stopping),
    Drained(Drained),
    Route(Box<RouteAnswer>),
    Subscribed(Subscribed),
}

/// A refusal: one line, an optional hint, and for a refused reload the diagnostics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub error: String,
    #[serde(default)]
    pub hint: Option<String>,
    /// Rendered diagnostics (a refused reload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<String>,
    /// The compiler's JSON report of the same diagnostics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<serde_json::Value>,
}

impl Failure {
    pub fn new(error: impl Into<String>, hint: Option<&str>) -> Failure {
        Failure {
            error: error.into(),
            hint: hint.map(str::to_owned),
            diagnostics: None,
            report: None,
        }
    }
}

/// `status`: what the daemon is serving and where its files are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub running: bool,
    pub pid: u32,
    pub version: String,
    pub listen: String,
    pub models: usize,
    pub config_hash: String,
    pub providers: Vec<ProviderStatus>,
    pub socket: PathBuf,
    pub paths: DaemonPaths,
    /// Unix seconds.
    pub started_at: u64,
    pub uptime_secs: u64,
    pub in_flight: usize,
    /// Model calls answered since start (`bitrouter_requests_total`, every outcome).
    #[serde(default)]
    pub requests_served: u64,
    /// Those that did not complete (failed, refused or cancelled).
    #[serde(default)]
    pub request_errors: u64,
    /// Streams open now (`bitrouter_in_flight_streams`).
    #[serde(default)]
    pub streams: u64,
    pub draining: bool,
    pub last_reload: Option<LastReload>,
    /// Every target of the live table and its circuit breaker.
    #[serde(default)]
    pub endpoints: Vec<EndpointStatus>,
}

/// One target (provider + upstream model) and its breaker: `closed`, `open` or `half-open`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointStatus {
    pub provider: String,
    pub upstream_model: String,
    pub breaker: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderStatus {
    pub name: String,
    /// Declared in the file (rather than only inherited from the registry).
    pub in_file: bool,
    pub credential: CredentialState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CredentialState {
    #[serde(rename = "none needed")]
    NoneNeeded,
    #[serde(rename = "set")]
    Set,
    #[serde(rename = "missing")]
    Missing,
}

impl CredentialState {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialState::NoneNeeded => "none needed",
            CredentialState::Set => "set",
            CredentialState::Missing => "missing",
        }
    }
}

/// The outcome of the latest reload, as `status` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastReload {
    /// Unix seconds.
    pub at: u64,
    pub via: Via,
    pub ok: bool,
    /// The reload's summary, or its error line.
    pub message: String,
    /// The hash being served after it.
    pub config_hash: String,
    /// A refused reload's diagnostics, rendered for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<String>,
}

/// What asked for a reload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Via {
    #[serde(rename = "socket")]
    Socket,
    #[serde(rename = "SIGHUP")]
    Sighup,
    /// A program embedding the runtime (`Daemon::reload`).
    #[serde(rename = "api")]
    Api,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Socket => "socket",
            Via::Sighup => "SIGHUP",
            Via::Api => "api",
        }
    }
}

/// `reload` succeeded: the wire form of `reload::Reloaded`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reloaded {
    pub message: String,
    pub config_hash: String,
    pub previous_hash: String,
    pub changed: bool,
    pub models: usize,
    /// Changes that were not applied, one line each.
    pub needs_restart: Vec<String>,
    /// Rendered warnings, if any.
    pub warnings: Option<String>,
    pub latency_us: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stopping {
    pub stopping: bool,
    pub in_flight: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drained {
    pub drained: bool,
    pub in_flight: usize,
}

/// `route`: the chain from the live table, and the hash of that table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteAnswer {
    /// The rendering the request asked for (text, or pretty JSON with `json: true`).
    pub output: String,
    pub route: RouteReport,
    pub config_hash: String,
}

/// `subscribe` was accepted; event lines follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribed {
    pub subscribed: bool,
}

/// One finished model call on a `subscribe` stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestEvent {
    /// When the request arrived, Unix milliseconds.
    pub time_ms: u64,
    pub request_id: String,
    /// The caller's key id; `None` under `skip_auth`.
    #[serde(default)]
    pub key: Option<String>,
    /// The model as the caller named it.
    pub model: String,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub upstream_model: Option<String>,
    /// The caller's protocol and the upstream's (`chat_completions`, `messages`, …).
    pub inbound: String,
    #[serde(default)]
    pub outbound: Option<String>,
    pub stream: bool,
    pub status: u16,
    /// `completed`, `failed`, `cancelled` or `refused`.
    pub outcome: String,
    pub attempts: u32,
    pub duration_ms: f64,
    /// Time to the first token (a whole answer's: to the answer).
    #[serde(default)]
    pub first_token_ms: Option<f64>,
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

impl RequestEvent {
    pub fn from_dataplane(e: &dataplane::events::RequestEvent) -> RequestEvent {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        RequestEvent {
            time_ms: e
                .time
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            request_id: e.request_id.clone(),
            key: e.key_id.clone(),
            model: e.model.clone(),
            provider: e.provider.clone(),
            upstream_model: e.upstream_model.clone(),
            inbound: e.inbound.as_str().to_owned(),
            outbound: e.outbound.map(|p| p.as_str().to_owned()),
            stream: e.stream,
            status: e.status,
            outcome: e.outcome.to_owned(),
            attempts: e.attempts,
            duration_ms: ms(e.duration),
            first_token_ms: e.first_token.map(ms),
            input_tokens: e.usage.map(|u| u.input),
            output_tokens: e.usage.map(|u| u.output),
            cost_usd: e.cost_micro_usd.map(|c| c / 1e6),
        }
    }
}

/// A line of a `subscribe` stream after its reply: an event, or how many were lost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamLine {
    pub v: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<RequestEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lagged: Option<u64>,
}

impl StreamLine {
    /// The line, newline included.
    pub fn to_line(&self) -> String {
        line(self)
    }
}

const HINT: &str = r#"send one JSON object per line, e.g. {"v":1,"op":"status"}"#;

/// Parses one request line; `Err` is the refusal to send back.
pub fn parse_request(line: &str) -> Result<Request, Failure> {
    let malformed =
        |e: &dyn fmt::Display| Failure::new(format!("malformed request: {e}"), Some(HINT));
    let mut value: serde_json::Value = serde_json::from_str(line).map_err(|e| malformed(&e))?;
    match value.get("v").and_then(serde_json::Value::as_u64) {
        Some(VERSION) => {}
        Some(v) => {
            return Err(Failure::new(
                format!("unsupported protocol version {v} (this daemon speaks {VERSION})"),
                Some("use a `bitrouter` binary of the same version as the daemon"),
            ));
        }
        None => return Err(malformed(&"`v` is missing")),
    }
    if let Some(o) = value.as_object_mut() {
        o.remove("v");
    }
    serde_json::from_value(value).map_err(|e| malformed(&e))
}

#[derive(Serialize)]
struct RequestLine<'a> {
    v: u64,
    #[serde(flatten)]
    request: &'a Request,
}

#[derive(Serialize)]
struct ReplyLine<'a, T: Serialize> {
    v: u64,
    ok: bool,
    #[serde(flatten)]
    body: &'a T,
}

#[derive(Deserialize)]
struct Head {
    v: u64,
    ok: bool,
}

/// The request as one line, newline included.
pub fn request_line(request: &Request) -> String {
    line(&RequestLine {
        v: VERSION,
        request,
    })
}

/// The reply as one line, newline included.
pub fn reply_line(reply: &Reply) -> String {
    fn ok<T: Serialize>(body: &T) -> String {
        line(&ReplyLine {
            v: VERSION,
            ok: true,
            body,
        })
    }
    match reply {
        Ok(Answer::Status(s)) => ok(s),
        Ok(Answer::Reloaded(r)) => ok(r),
        Ok(Answer::Stopping(s)) => ok(s),
        Ok(Answer::Drained(d)) => ok(d),
        Ok(Answer::Route(r)) => ok(r),
        Ok(Answer::Subscribed(r)) => ok(r),
        Err(f) => line(&ReplyLine {
            v: VERSION,
            ok: false,
            body: f,
        }),
    }
}

/// The reply as a JSON value, exactly as the line carries it (`--json` output).
pub fn reply_value(reply: &Reply) -> serde_json::Value {
    serde_json::from_str(&reply_line(reply)).unwrap_or_default()
}

fn line(value: &impl Serialize) -> String {
    // These types serialize to JSON objects whatever their contents (string keys only).
    let mut s = serde_json::to_string(value).unwrap_or_default();
    s.push('\n');
    s
}

/// Why a reply line could not be read as the answer to the request.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error("the daemon's reply is not a protocol reply: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("the daemon speaks protocol version {0}, this client {VERSION}")]
    Version(u64),
}

/// Reads a reply line as the answer to `request`.
pub fn parse_reply(line: &str, request: &Request) -> Result<Reply, ReplyError> {
    let value: serde_json::Value = serde_json::from_str(line)?;
    let head = Head::deserialize(&value)?;
    if head.v != VERSION {
        return Err(ReplyError::Version(head.v));
    }
    if !head.ok {
        return Ok(Err(Failure::deserialize(&value)?));
    }
    Ok(Ok(match request {
        Request::Status {} => Answer::Status(Box::new(Status::deserialize(&value)?)),
        Request::Reload { .. } => Answer::Reloaded(Reloaded::deserialize(&value)?),
        Request::Stop {} => Answer::Stopping(Stopping::deserialize(&value)?),
        Request::Drain { .. } => Answer::Drained(Drained::deserialize(&value)?),
        Request::Route { .. } => Answer::Route(Box::new(RouteAnswer::deserialize(&value)?)),
        Request::Subscribe {} => Answer::Subscribed(Subscribed::deserialize(&value)?),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_requests_are_refused() {
        for line in [
            "",
            "nope",
            "{}",
            r#"{"op":"status"}"#,
            r#"{"v":2,"op":"status"}"#,
            r#"{"v":1,"op":"explode"}"#,
            r#"{"v":1,"op":"route"}"#,
            r#"{"v":1,"op":"status","extra":1}"#,
        ] {
            let f = parse_request(line).unwrap_err();
            assert!(!f.error.is_empty(), "{line}");
            let wire: serde_json::Value = serde_json::from_str(&reply_line(&Err(f))).unwrap();
            assert_eq!(wire["v"], 1, "{line}");
            assert_eq!(wire["ok"], false, "{line}");
            assert!(wire["error"].is_string(), "{line}");
        }
        match parse_request(r#"{"v":1,"op":"reload","env":{"K":"v"}}"#) {
            Ok(Request::Reload { env }) => assert_eq!(env.0["K"], "v"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn requests_round_trip_in_the_v1_shape() {
        let env = Forwarded([("K".to_owned(), "secret".to_owned())].into());
        let r = Request::Reload { env };
        let line = request_line(&r);
        assert_eq!(
            line,
            "{\"v\":1,\"op\":\"reload\",\"env\":{\"K\":\"secret\"}}\n"
        );
        assert_eq!(parse_request(line.trim()).unwrap(), r);
        assert!(!format!("{r:?}").contains("secret"));
        assert_eq!(
            request_line(&Request::Status {}),
            "{\"v\":1,\"op\":\"status\"}\n"
        );
    }

    #[test]
    fn replies_round_trip_as_the_answer_to_their_request() {
        let stop = Request::Stop {};
        let reply: Reply = Ok(Answer::Stopping(Stopping {
            stopping: true,
            in_flight: 3,
        }));
        let line = reply_line(&reply);
        assert_eq!(
            line,
            "{\"v\":1,\"ok\":true,\"stopping\":true,\"in_flight\":3}\n"
        );
        assert_eq!(parse_reply(&line, &stop).unwrap(), reply);
        let refused: Reply = Err(Failure::new("no", Some("try again")));
        let line = reply_line(&refused);
        assert_eq!(
            line,
            "{\"v\":1,\"ok\":false,\"error\":\"no\",\"hint\":\"try again\"}\n"
        );
        assert_eq!(parse_reply(&line, &stop).unwrap(), refused);
        assert!(matches!(
            parse_reply("{\"v\":2,\"ok\":true}", &stop),
            Err(ReplyError::Version(2))
        ));
        assert!(parse_reply("{\"v\":1,\"ok\":true}", &stop).is_err());
    }
}
