//! Request-head hygiene, before any body is read or upstream called: who may address the
//! router (`Host`: its own address, a loopback name, or `server.allowed_hosts` — DNS
//! rebinding), from which browser origin (`Origin`, only `server.cors.allowed_origins`, with
//! the CORS answers those origins need), and that a body is JSON (`Content-Type`). A browser
//! can POST `text/plain` to `http://127.0.0.1:4356` from any web page without a preflight;
//! with `skip_auth: true` that would spend the operator's provider keys.
//!
//! Refusals are `ProxyError`s, rendered in the caller's shape like every other error.

use std::net::{IpAddr, SocketAddr};

use compiler::table::ServerSettings;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use translate::ir::ErrorKind;

use crate::body::Body;
use crate::error::ProxyError;

/// The response headers a browser caller may read (besides the CORS-safelisted ones).
const EXPOSE: &str = "x-bitrouter-provider, x-bitrouter-model, x-bitrouter-dropped, retry-after";

/// `Host` (HTTP/1) or the `:authority` (HTTP/2) names this router: the address the connection
/// reached (`local`), a loopback name or address, or a listed host. Ports are not compared.
pub(crate) fn check_host(
    headers: &HeaderMap,
    uri: &Uri,
    local: Option<SocketAddr>,
    settings: &ServerSettings,
) -> Result<(), ProxyError> {
    let raw = match headers.get(header::HOST) {
        Some(v) => v.to_str().ok(),
        None => uri.authority().map(|a| a.as_str()),
    };
    let Some(raw) = raw else {
        return Err(refuse("the request has no `Host` header"));
    };
    let host = host_part(raw);
    if host_allowed(host, local, &settings.allowed_hosts) {
        return Ok(());
    }
    Err(refuse(format!(
        "`Host: {}` does not name this router; add it to `server.allowed_hosts` to allow it",
        raw.chars().take(255).collect::<String>()
    )))
}

/// The host of a `Host` value, without its port (IPv6 without its brackets).
fn host_part(raw: &str) -> &str {
    let raw = raw.trim();
    if let Some(v6) = raw.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    match raw.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => raw,
    }
}

fn host_allowed(host: &str, local: Option<SocketAddr>, listed: &[String]) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() {
        return false;
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        let ip = ip.to_canonical();
        if ip.is_loopback() || local.is_some_and(|l| l.ip().to_canonical() == ip) {
            return true;
        }
    } else if host.eq_ignore_ascii_case("localhost")
        || host
            .get(host.len().saturating_sub(10)..)
            .is_some_and(|t| t.eq_ignore_ascii_case(".localhost"))
    {
        // Browsers resolve `localhost` and `*.localhost` to loopback themselves, never by DNS.
        return true;
    }
    listed.iter().any(|h| {
        let h = h
            .strip_prefix('[')
            .and_then(|v| v.strip_suffix(']'))
            .unwrap_or(h);
        h.eq_ignore_ascii_case(host)
    })
}

/// A browser origin that is not listed is refused; a listed one (or no `Origin` at all, as
/// every SDK and CLI sends) passes. Returns the origin to echo in the CORS headers.
pub(crate) fn check_origin<'h>(
    headers: &'h HeaderMap,
    settings: &ServerSettings,
) -> Result<Option<&'h HeaderValue>, ProxyError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(None);
    };
    let listed = origin.to_str().ok().is_some_and(|o| {
        let o = o.trim().trim_end_matches('/');
        settings
            .cors_allowed_origins
            .iter()
            .any(|a| a.eq_ignore_ascii_case(o))
    });
    if listed {
        return Ok(Some(origin));
    }
    let shown = String::from_utf8_lossy(origin.as_bytes());
    Err(refuse(format!(
        "requests from the browser origin `{}` are refused; list it in \
         `server.cors.allowed_origins` to allow it",
        shown.chars().take(255).collect::<String>()
    )))
}

/// A CORS preflight (`OPTIONS` with `Origin`) from an allowed origin: 204 with what it asked.
pub(crate) fn preflight<B>(req: &Request<B>, origin: &HeaderValue) -> Option<Response<Body>> {
    if req.method() != Method::OPTIONS {
        return None;
    }
    let mut res = Response::new(Body::full(bytes::Bytes::new()));
    *res.status_mut() = StatusCode::NO_CONTENT;
    let h = res.headers_mut();
    allow(h, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    if let Some(asked) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    Some(res)
}

/// The CORS headers of an answer to an allowed origin.
pub(crate) fn allow(h: &mut HeaderMap, origin: &HeaderValue) {
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE),
    );
}

/// A body the router parses must be declared JSON: `application/json`, parameters allowed.
pub(crate) fn check_content_type(headers: &HeaderMap) -> Result<(), ProxyError> {
    let ct = headers.get(header::CONTENT_TYPE);
    let json = ct
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if json {
        return Ok(());
    }
    let msg = match ct {
        None => {
            "the request has no `Content-Type`; send `Content-Type: application/json`".to_owned()
        }
        Some(v) => format!(
            "`Content-Type: {}` is not JSON; send `Content-Type: application/json`",
            String::from_utf8_lossy(v.as_bytes())
                .chars()
                .take(255)
                .collect::<String>()
        ),
    };
    Err(ProxyError::client(ErrorKind::UnsupportedMediaType, msg))
}

fn refuse(msg: impl Into<std::borrow::Cow<'static, str>>) -> ProxyError {
    ProxyError::client(ErrorKind::Permission, msg).with_code("forbidden")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> Option<SocketAddr> {
        Some("192.168.1.7:4356".parse().unwrap())
    }

    #[test]
    fn hosts() {
        let listed = vec!["router.internal".to_owned(), "[fd00::1]".to_owned()];
        for ok in [
            "localhost",
            "LOCALHOST:4356",
            "localhost.",
            "app.localhost:9",
            "127.0.0.1:4356",
            "127.8.9.1",
            "[::1]:4356",
            "192.168.1.7:80",
            "router.internal",
            "Router.Internal:4356",
            "[fd00::1]:4356",
        ] {
            assert!(host_allowed(host_part(ok), local(), &listed), "{ok}");
        }
        for bad in [
            "evil.example",
            "localhost.evil.example",
            "evillocalhost",
            "192.168.1.8",
            "10.0.0.1:4356",
            "router.internal.evil",
            "",
            "[fd00::2]",
        ] {
            assert!(!host_allowed(host_part(bad), local(), &listed), "{bad}");
        }
    }

    #[test]
    fn content_types() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_str(v).unwrap());
            check_content_type(&h)
        };
        assert!(with("application/json").is_ok());
        assert!(with("Application/JSON; charset=utf-8").is_ok());
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/jsonp",
            "",
        ] {
            let e = with(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::UnsupportedMediaType, "{bad}");
        }
        assert!(
            check_content_type(&HeaderMap::new())
                .unwrap_err()
                .message
                .contains("no `Content-Type`")
        );
    }
}
