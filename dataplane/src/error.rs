//! Errors the data plane answers with, rendered in the caller protocol's own error envelope.
//!
//! Every failure a caller can see goes through [`ApiError::into_response`]: the status code, the
//! vendor's `type`/`status` string and, for throttling, a `Retry-After` header. The shapes follow
//! `protocols.md` §1: OpenAI `{"error":{message,type,param,code}}`, Anthropic
//! `{"type":"error","error":{type,message}}`, Gemini `{"error":{code,message,status}}`.

use std::borrow::Cow;

use bytes::Bytes;
use compiler::table::Protocol;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

use crate::body::Body;

/// Which error envelope a caller understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Chat Completions and Responses.
    OpenAi,
    Anthropic,
    Gemini,
}

impl From<Protocol> for Shape {
    fn from(p: Protocol) -> Shape {
        match p {
            Protocol::ChatCompletions | Protocol::Responses => Shape::OpenAi,
            Protocol::Messages => Shape::Anthropic,
            Protocol::GenerateContent => Shape::Gemini,
        }
    }
}

/// What went wrong, independent of how a protocol spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    InvalidRequest,
    Unauthenticated,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    PayloadTooLarge,
    UriTooLong,
    HeadersTooLarge,
    /// The router itself is at capacity, or every endpoint is cooling down.
    Overloaded,
    /// No endpoint gave a usable answer.
    BadGateway,
    GatewayTimeout,
}

impl Kind {
    pub(crate) fn status(self) -> StatusCode {
        match self {
            Kind::InvalidRequest => StatusCode::BAD_REQUEST,
            Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::UriTooLong => StatusCode::URI_TOO_LONG,
            Kind::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Kind::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Kind::BadGateway => StatusCode::BAD_GATEWAY,
            Kind::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    fn openai_type(self) -> &'static str {
        match self {
            Kind::Unauthenticated => "authentication_error",
            Kind::NotFound => "not_found_error",
            Kind::Overloaded | Kind::BadGateway | Kind::GatewayTimeout => "server_error",
            _ => "invalid_request_error",
        }
    }

    fn anthropic_type(self) -> &'static str {
        match self {
            Kind::Unauthenticated => "authentication_error",
            Kind::NotFound => "not_found_error",
            Kind::PayloadTooLarge => "request_too_large",
            Kind::Overloaded => "overloaded_error",
            Kind::BadGateway | Kind::GatewayTimeout => "api_error",
            _ => "invalid_request_error",
        }
    }

    fn gemini_status(self) -> &'static str {
        match self {
            Kind::Unauthenticated => "UNAUTHENTICATED",
            Kind::NotFound => "NOT_FOUND",
            Kind::Overloaded => "UNAVAILABLE",
            Kind::BadGateway => "UNAVAILABLE",
            Kind::GatewayTimeout | Kind::RequestTimeout => "DEADLINE_EXCEEDED",
            Kind::PayloadTooLarge | Kind::HeadersTooLarge | Kind::UriTooLong => "INVALID_ARGUMENT",
            Kind::MethodNotAllowed => "INVALID_ARGUMENT",
            Kind::InvalidRequest => "INVALID_ARGUMENT",
        }
    }
}

/// An error for the caller, before any response byte was sent.
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    pub(crate) kind: Kind,
    pub(crate) message: Cow<'static, str>,
    /// The OpenAI `code` (e.g. `model_not_found`).
    pub(crate) code: Option<&'static str>,
    /// Seconds, sent as `Retry-After`.
    pub(crate) retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(kind: Kind, message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
            code: None,
            retry_after: None,
        }
    }

    pub(crate) fn with_code(mut self, code: &'static str) -> ApiError {
        self.code = Some(code);
        self
    }

    pub(crate) fn with_retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(secs);
        self
    }

    /// The JSON body in `shape`.
    pub(crate) fn body(&self, shape: Shape) -> Bytes {
        let v = match shape {
            Shape::OpenAi => json!({"error": {
                "message": self.message,
                "type": self.kind.openai_type(),
                "param": null,
                "code": self.code,
            }}),
            Shape::Anthropic => json!({
                "type": "error",
                "error": {"type": self.kind.anthropic_type(), "message": self.message},
            }),
            Shape::Gemini => json!({"error": {
                "code": self.kind.status().as_u16(),
                "message": self.message,
                "status": self.kind.gemini_status(),
            }}),
        };
        Bytes::from(v.to_string())
    }

    pub(crate) fn into_response(self, shape: Shape) -> Response<Body> {
        let mut res = Response::new(Body::full(self.body(shape)));
        *res.status_mut() = self.kind.status();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, json_content_type());
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.kind == Kind::MethodNotAllowed {
            h.insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        res
    }
}

pub(crate) fn json_content_type() -> HeaderValue {
    HeaderValue::from_static("application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &Bytes) -> serde_json::Value {
        serde_json::from_slice(b).unwrap()
    }

    #[test]
    fn each_shape_is_the_vendors_envelope() {
        let e = ApiError::new(Kind::NotFound, "unknown model `x`").with_code("model_not_found");
        let o = parse(&e.body(Shape::OpenAi));
        assert_eq!(o["error"]["message"], "unknown model `x`");
        assert_eq!(o["error"]["code"], "model_not_found");
        assert!(o["error"]["param"].is_null());
        let a = parse(&e.body(Shape::Anthropic));
        assert_eq!(a["type"], "error");
        assert_eq!(a["error"]["type"], "not_found_error");
        let g = parse(&e.body(Shape::Gemini));
        assert_eq!(g["error"]["code"], 404);
        assert_eq!(g["error"]["status"], "NOT_FOUND");
    }

    #[test]
    fn throttling_sets_retry_after() {
        let r = ApiError::new(Kind::Overloaded, "busy")
            .with_retry_after(2)
            .into_response(Shape::Anthropic);
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
    }
}
