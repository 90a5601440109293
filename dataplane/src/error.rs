//! The one error type of the proxy path: what went wrong ([`ErrorKind`], the same vocabulary
//! the translators use), where it came from ([`Source`]: the caller, an upstream, the router
//! itself), whether the failover loop may try the next endpoint (`retryable` — the only thing
//! the loop reads), the upstream's status, and — when an upstream answered — that answer
//! itself. It is rendered once, at the handler's edge, in the caller's own protocol
//! (`respond.rs`); nothing in between formats an error.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{StatusCode, response};
use translate::ir::ErrorKind;

use crate::metrics::AttemptResult;

/// Where a failure came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// The caller's request (bad body, unknown model, over a limit).
    Client,
    /// An upstream endpoint (refused, timed out, answered an error, broke its stream).
    Upstream,
    /// The router (at capacity, an endpoint it cannot build a request for).
    Internal,
}

/// An upstream's own error answer, already in the caller's shape (its status, content type
/// and body); sent as it is when it is the final answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) head: response::Parts,
    pub(crate) body: Bytes,
}

#[derive(Debug)]
pub(crate) struct ProxyError {
    pub(crate) kind: ErrorKind,
    pub(crate) source: Source,
    /// The next endpoint may be tried.
    pub(crate) retryable: bool,
    pub(crate) upstream_status: Option<StatusCode>,
    pub(crate) message: Cow<'static, str>,
    /// OpenAI's `error.code` (e.g. `model_not_found`).
    pub(crate) code: Option<&'static str>,
    /// Sent as `Retry-After` (whole seconds, at least 1).
    pub(crate) retry_after: Option<Duration>,
    /// Boxed: only error answers carry one, and the error moves through every attempt.
    pub(crate) answer: Option<Box<Answer>>,
    /// A stable label for why (e.g. an authentication refusal's reason), for logs and metrics.
    pub(crate) reason: Option<&'static str>,
    /// How the attempt that failed ended (for the failover counter's `reason`).
    pub(crate) class: Option<AttemptResult>,
    /// Sent as `x-should-retry: false`: the official OpenAI and Anthropic SDKs read it before
    /// the status (docs/protocols.md §1.1, §1.3), so a refusal that will not change for hours
    /// (a spent budget) is not retried by every client.
    pub(crate) final_answer: bool,
}

impl ProxyError {
    fn new(kind: ErrorKind, source: Source, retryable: bool, message: Cow<'static, str>) -> Self {
        ProxyError {
            kind,
            source,
            retryable,
            upstream_status: None,
            message,
            code: None,
            retry_after: None,
            answer: None,
            reason: None,
            class: None,
            final_answer: false,
        }
    }

    /// The caller's request is at fault: answered as is, never failed over.
    pub(crate) fn client(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(kind, Source::Client, false, message.into())
    }

    /// An upstream failed in a way another endpoint may not (connect error, timeout, 5xx, a
    /// broken stream): the next endpoint is tried.
    pub(crate) fn upstream(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(kind, Source::Upstream, true, message.into())
    }

    /// The router's own state: at capacity, or this endpoint cannot be used (retryable: the
    /// next endpoint may do).
    pub(crate) fn internal(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(kind, Source::Internal, false, message.into())
    }

    /// An upstream's error answer: retryable for 402 (that account's credit or quota is
    /// spent), 408, 429 and 5xx (docs/reliability.md, error taxonomy), otherwise the answer
    /// the caller gets.
    pub(crate) fn answered(head: response::Parts, body: Bytes, kind: ErrorKind) -> Self {
        let status = head.status;
        let retryable = status == StatusCode::PAYMENT_REQUIRED
            || status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS
            || status.is_server_error();
        let mut e = Self::new(kind, Source::Upstream, retryable, Cow::Borrowed(""));
        e.upstream_status = Some(status);
        e.answer = Some(Box::new(Answer { head, body }));
        e
    }

    pub(crate) fn retryable(mut self, yes: bool) -> Self {
        self.retryable = yes;
        self
    }

    pub(crate) fn with_class(mut self, class: AttemptResult) -> Self {
        self.class = Some(class);
        self
    }

    pub(crate) fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub(crate) fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    /// Clients are told not to retry (`x-should-retry: false`).
    pub(crate) fn final_answer(mut self) -> Self {
        self.final_answer = true;
        self
    }

    pub(crate) fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// The HTTP status the caller gets.
    pub(crate) fn status(&self) -> StatusCode {
        match &self.answer {
            Some(a) => a.head.status,
            None => StatusCode::from_u16(self.kind.status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

/// One line for logs: never an upstream body (bodies can be large, and are the caller's).
impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.answer, self.upstream_status) {
            (Some(_), Some(s)) => write!(f, "upstream answered {s}"),
            _ => f.write_str(&self.message),
        }
    }
}

/// An error and its sources on one line (hyper-util's top-level message is generic).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(status: u16) -> response::Parts {
        let mut r = http::Response::new(());
        *r.status_mut() = StatusCode::from_u16(status).unwrap();
        r.into_parts().0
    }

    #[test]
    fn upstream_answers_are_retryable_exactly_for_402_408_429_and_5xx() {
        for (s, retry) in [
            (400, false),
            (401, false),
            (402, true),
            (403, false),
            (404, false),
            (408, true),
            (422, false),
            (429, true),
            (500, true),
            (503, true),
            (529, true),
        ] {
            let e = ProxyError::answered(head(s), Bytes::new(), ErrorKind::from_status(s));
            assert_eq!(e.retryable, retry, "{s}");
            assert_eq!(e.status().as_u16(), s);
            assert_eq!(e.to_string(), format!("upstream answered {}", e.status()));
        }
    }

    #[test]
    fn router_errors_take_their_kinds_status() {
        let e = ProxyError::client(ErrorKind::PayloadTooLarge, "too big");
        assert_eq!(e.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!((e.source, e.retryable), (Source::Client, false));
        let e = ProxyError::upstream(ErrorKind::BadGateway, "cut");
        assert_eq!((e.source, e.retryable), (Source::Upstream, true));
        assert_eq!(e.status(), StatusCode::BAD_GATEWAY);
    }
}
