//! One request, start to finish: control endpoints, recording, then the answer with its faults.
//!
//! The answer is decided (endpoint, fault, request fields) while the request is still borrowed,
//! the request then moves into the log, and only then is anything written, so a test that reads
//! `requests()` after a response always finds the request there.

use std::time::Instant;

use crate::fault::{ErrorBody, FAULT_HEADER, Fault};
use crate::http::{self, Conn, Request};
use crate::protocols::{self, Protocol, StreamKind};
use crate::record::{Recorded, State};

const JSON: &str = "application/json";

/// What the connection does after a request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    KeepAlive,
    Close,
    /// Close with a TCP reset.
    Reset,
}

/// What to do with a model request.
enum Plan {
    /// Refused before any fault applies (unknown path, wrong method, bad `x-mock-fault`).
    Refuse {
        protocol: Protocol,
        status: u16,
        message: String,
    },
    Answer {
        protocol: Protocol,
        fault: Fault,
        /// Boxed: the agent scenario's answer makes `Params` large.
        params: Box<Result<protocols::Params, String>>,
    },
}

pub(crate) async fn handle(conn: &mut Conn, state: &State, req: Request) -> Next {
    let keep_alive = req.keep_alive;
    let none = Fault::default();
    match (req.method.as_str(), req.path()) {
        ("GET", "/health") => {
            return quiet(
                send_full(conn, 200, JSON, br#"{"status":"ok"}"#, keep_alive, &none).await,
            );
        }
        ("GET", "/_mock/requests") => {
            let body = crate::control::requests_json(&state.requests());
            return quiet(send_full(conn, 200, JSON, &body, keep_alive, &none).await);
        }
        ("POST", "/_mock/reset") => {
            state.reset();
            return quiet(send_full(conn, 200, JSON, b"{}", keep_alive, &none).await);
        }
        _ => {}
    }
    let received_at = Instant::now();
    let plan = plan(state, &req);
    state.push(state.recording().then(|| Recorded {
        method: req.method,
        path: req.target,
        headers: req.headers,
        body: req.body,
        received_at,
    }));
    match plan {
        Plan::Refuse {
            protocol,
            status,
            message,
        } => {
            let body = protocols::error_body(protocol, status, Some(&message));
            quiet(send_full(conn, status, JSON, &body, keep_alive, &none).await)
        }
        Plan::Answer {
            protocol,
            fault,
            params,
        } => answer(conn, state, protocol, &fault, *params, keep_alive).await,
    }
}

fn plan(state: &State, req: &Request) -> Plan {
    let Some(ep) = protocols::route(req.path(), req.query()) else {
        return Plan::Refuse {
            protocol: Protocol::Chat,
            status: 404,
            message: format!(
                "mock-upstream has no endpoint {} {}",
                req.method,
                req.path()
            ),
        };
    };
    if req.method != "POST" {
        return Plan::Refuse {
            protocol: ep.protocol,
            status: 405,
            message: format!("{} needs POST, got {}", req.path(), req.method),
        };
    }
    let mut fault = Fault::default();
    if let Some(value) = req.header(FAULT_HEADER) {
        fault = match Fault::parse(value) {
            Ok(f) => f,
            Err(message) => {
                return Plan::Refuse {
                    protocol: ep.protocol,
                    status: 400,
                    message,
                };
            }
        };
        if let Some(times) = fault.times {
            if !state.fault_applies(value, times) {
                fault = Fault::default();
            }
        }
    }
    Plan::Answer {
        protocol: ep.protocol,
        fault,
        params: Box::new(protocols::params(&ep, &req.body)),
    }
}

async fn answer(
    conn: &mut Conn,
    state: &State,
    protocol: Protocol,
    fault: &Fault,
    params: Result<protocols::Params, String>,
    keep_alive: bool,
) -> Next {
    if fault.drop {
        return closing(fault);
    }
    if let Some(d) = fault.stall_first {
        if conn.sleep(d).await.is_err() {
            return aborted(state);
        }
    }
    let next = if let Some(status) = fault.status {
        let (content_type, body) = match fault.error_body {
            None => (JSON, protocols::error_body(protocol, status, None)),
            Some(ErrorBody::Text) => (
                "text/plain",
                format!("upstream proxy error: {status}\n").into_bytes(),
            ),
            Some(ErrorBody::Chat) => (JSON, protocols::error_body(Protocol::Chat, status, None)),
            Some(ErrorBody::Messages) => (
                JSON,
                protocols::error_body(Protocol::Messages, status, None),
            ),
            Some(ErrorBody::Gemini) => {
                (JSON, protocols::error_body(Protocol::Gemini, status, None))
            }
        };
        send_full(conn, status, content_type, &body, keep_alive, fault).await
    } else {
        match params {
            Err(message) => {
                let body = protocols::error_body(protocol, 400, Some(&message));
                send_full(conn, 400, JSON, &body, keep_alive, fault).await
            }
            Ok(p) if !p.stream => {
                let (status, body) = if fault.malformed {
                    (200, b"{not json".to_vec())
                } else if fault.stream_error {
                    (500, protocols::error_body(protocol, 500, None))
                } else {
                    (200, protocols::body(&p))
                };
                send_full(conn, status, JSON, &body, keep_alive, fault).await
            }
            Ok(p) => {
                let kind = if fault.malformed {
                    StreamKind::Malformed
                } else if fault.stream_error {
                    StreamKind::Error
                } else {
                    StreamKind::Normal
                };
                let events = protocols::stream(&p, kind);
                let content_type = protocols::stream_content_type(&p);
                send_stream(conn, content_type, &events, keep_alive, fault).await
            }
        }
    };
    match next {
        Err(Gone) => aborted(state),
        Ok(next) => next,
    }
}

/// The client closed the connection mid-response.
struct Gone;

impl From<http::Aborted> for Gone {
    fn from(_: http::Aborted) -> Gone {
        Gone
    }
}

/// Control answers and refusals: a client leaving early is not an abort worth reporting.
fn quiet(r: Result<Next, Gone>) -> Next {
    r.unwrap_or(Next::Close)
}

fn aborted(state: &State) -> Next {
    state.aborted(Instant::now());
    Next::Close
}

fn closing(fault: &Fault) -> Next {
    if fault.rst { Next::Reset } else { Next::Close }
}

fn after(keep_alive: bool) -> Next {
    if keep_alive {
        Next::KeepAlive
    } else {
        Next::Close
    }
}

/// A `Content-Length` response. Faults: `cut-after=N` sends only N body bytes then closes;
/// `stall-mid` / `drip` pause between the head and the body.
async fn send_full(
    conn: &mut Conn,
    status: u16,
    content_type: &str,
    body: &[u8],
    keep_alive: bool,
    fault: &Fault,
) -> Result<Next, Gone> {
    http::head(
        &mut conn.out,
        status,
        content_type,
        Some(body.len()),
        fault.retry_after,
        keep_alive,
    );
    let body = match fault.cut_after {
        Some(n) => &body[..n.min(body.len())],
        None => body,
    };
    let pause = fault.stall_mid.or(fault.drip);
    if pause.is_none() {
        conn.out.extend_from_slice(body);
    }
    conn.write_out().await?;
    if let Some(d) = pause {
        conn.sleep(d).await?;
        conn.write(body).await?;
    }
    if fault.cut_after.is_some() {
        return Ok(closing(fault));
    }
    Ok(after(keep_alive))
}

/// A chunked stream, one event per chunk and per write. Faults: `drip` between events,
/// `stall-mid` after the first content event, `cut-after=N` closes after N events without the
/// last chunk.
async fn send_stream(
    conn: &mut Conn,
    content_type: &str,
    events: &protocols::Events<'_>,
    keep_alive: bool,
    fault: &Fault,
) -> Result<Next, Gone> {
    http::head(
        &mut conn.out,
        200,
        content_type,
        None,
        fault.retry_after,
        keep_alive,
    );
    conn.write_out().await?;
    let n = events.len();
    let mut finished = false;
    for (i, event) in events.iter().enumerate() {
        if fault.cut_after == Some(i) {
            return Ok(closing(fault));
        }
        if i > 0 {
            if let Some(d) = fault.drip {
                conn.sleep(d).await?;
            }
        }
        let pause = fault.stall_mid.filter(|_| i == events.first_content);
        http::chunk(&mut conn.out, event);
        if i + 1 == n && fault.cut_after.is_none() && pause.is_none() {
            conn.out.extend_from_slice(http::LAST_CHUNK);
            finished = true;
        }
        conn.write_out().await?;
        if let Some(d) = pause {
            conn.sleep(d).await?;
        }
    }
    if fault.cut_after.is_some() {
        return Ok(closing(fault));
    }
    if !finished {
        conn.write(http::LAST_CHUNK).await?;
    }
    Ok(after(keep_alive))
}
