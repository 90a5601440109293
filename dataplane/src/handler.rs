//! The per-request pipeline: endpoint → limits → auth → body → model lookup → failover.
//! Every outcome is a response in the caller protocol's shape; nothing here returns an error
//! to hyper.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use compiler::table::{LookupError, RoutingTable};
use http::{HeaderMap, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::json;

use crate::body::{Body, Gather};
use crate::endpoint::{Call, Endpoint};
use crate::error::{ApiError, Kind, Shape, json_content_type};
use crate::failover;
use crate::json::PooledScratch;
use crate::request;
use crate::server::{InFlight, Shared};

/// Longest request target accepted (414 beyond).
const MAX_URI: usize = 8 * 1024;

pub(crate) async fn handle(shared: &Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path();
    let endpoint = Endpoint::detect(req.method(), path, req.uri().query());
    let shape = shape_for(&endpoint, path, req.headers());
    let table = shared.tables.load();
    let settings = table.server();

    if let Some(e) = check_head(&req, settings.max_headers, settings.max_header_size) {
        return e.into_response(shape);
    }
    let call = match endpoint {
        Endpoint::Health => return json_ok(Bytes::from_static(b"{\"status\":\"ok\"}")),
        Endpoint::Ready => return ready(shared, &table),
        Endpoint::NotFound => {
            return ApiError::new(Kind::NotFound, format!("no endpoint at `{path}`"))
                .into_response(shape);
        }
        Endpoint::WrongMethod(_) => {
            return ApiError::new(Kind::MethodNotAllowed, "this endpoint takes POST")
                .into_response(shape);
        }
        Endpoint::Models => {
            if let Err(e) = authenticate(req.headers(), req.uri().query(), settings.skip_auth) {
                return e.into_response(shape);
            }
            return models(&table, shape);
        }
        Endpoint::Call(call) => call,
    };
    let Some(slot) = InFlight::acquire(shared, settings.max_in_flight) else {
        return ApiError::new(
            Kind::Overloaded,
            "the router is at its in-flight request limit",
        )
        .with_retry_after(1)
        .into_response(shape);
    };
    if let Err(e) = authenticate(req.headers(), req.uri().query(), settings.skip_auth) {
        return e.into_response(shape);
    }
    let call = Call {
        path_model: call.path_model.map(|m| m.into_owned().into()),
        ..call
    };
    let (parts, body) = req.into_parts();
    let limit = settings.max_body_size;
    let body = match read_body(body, &parts.headers, limit, settings.header_read_timeout).await {
        Ok(b) => b,
        Err(e) => return e.into_response(shape),
    };
    let mut scratch = PooledScratch::take();
    let info = match request::inspect(
        scratch.get(),
        call.protocol,
        &body,
        call.path_model.clone(),
        call.path_stream,
    ) {
        Ok(i) => i,
        Err(e) => return e.into_response(shape),
    };
    drop(scratch);
    let route = match table.route(&info.model) {
        Ok(r) => r,
        Err(e) => return lookup_error(&table, e).into_response(shape),
    };
    failover::run(failover::Ctx {
        shared,
        table: &table,
        route,
        call: &call,
        info: &info,
        body: &body,
        caller: parts.headers,
        slot: Some(slot),
    })
    .await
}

fn shape_for(endpoint: &Endpoint<'_>, path: &str, headers: &HeaderMap) -> Shape {
    match endpoint {
        Endpoint::Call(c) => c.protocol.into(),
        Endpoint::WrongMethod(p) => (*p).into(),
        _ if path.starts_with("/v1beta/") || headers.contains_key("x-goog-api-key") => {
            Shape::Gemini
        }
        _ if headers.contains_key("anthropic-version") => Shape::Anthropic,
        _ => Shape::OpenAi,
    }
}

/// Header count and size, URI length: the configured limits, answered in the caller's shape
/// (hyper's own, looser caps answer a bare 431 beyond them).
fn check_head(req: &Request<Incoming>, max_headers: u32, max_size: u64) -> Option<ApiError> {
    let h = req.headers();
    if h.len() > max_headers as usize {
        return Some(ApiError::new(
            Kind::HeadersTooLarge,
            format!("too many request headers (limit {max_headers})"),
        ));
    }
    let size: usize = h.iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    if size as u64 > max_size {
        return Some(ApiError::new(
            Kind::HeadersTooLarge,
            format!("request headers are too large (limit {max_size} bytes)"),
        ));
    }
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI {
        return Some(ApiError::new(
            Kind::UriTooLong,
            format!("the request URI is too long (limit {MAX_URI} bytes)"),
        ));
    }
    None
}

/// Until the auth issue adds keys, `skip_auth: false` refuses every call.
fn authenticate(headers: &HeaderMap, query: Option<&str>, skip_auth: bool) -> Result<(), ApiError> {
    if skip_auth {
        return Ok(());
    }
    let presented = headers.contains_key(header::AUTHORIZATION)
        || headers.contains_key("x-api-key")
        || headers.contains_key("x-goog-api-key")
        || query.is_some_and(|q| q.split('&').any(|kv| kv.starts_with("key=")));
    let msg = if presented {
        "invalid API key: this router has no API keys yet; set `server.skip_auth: true` \
         for local use"
    } else {
        "missing API key: send `Authorization: Bearer <key>`, `x-api-key` or `x-goog-api-key`"
    };
    Err(ApiError::new(Kind::Unauthenticated, msg).with_code("invalid_api_key"))
}

/// Reads the request body up to `limit` bytes, refusing early on a larger `Content-Length`
/// and giving up when the client sends nothing for `idle`.
async fn read_body(
    mut body: Incoming,
    headers: &HeaderMap,
    limit: u64,
    idle: Duration,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            Kind::PayloadTooLarge,
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut gathered = Gather::default();
    loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => {
                return Err(ApiError::new(
                    Kind::RequestTimeout,
                    "the request body stopped arriving",
                ));
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(ApiError::new(
                    Kind::InvalidRequest,
                    format!("could not read the request body: {e}"),
                ));
            }
            Ok(Some(Ok(f))) => f,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if (gathered.len() + data.len()) as u64 > limit {
            return Err(too_large());
        }
        gathered.push(data, declared.unwrap_or(0).min(limit) as usize);
    }
    Ok(gathered.finish())
}

fn lookup_error(table: &RoutingTable, e: LookupError<'_>) -> ApiError {
    let msg = match e {
        LookupError::UnknownModel { name } => match table.suggest(name) {
            Some(s) => format!("unknown model `{name}`; did you mean `{s}`?"),
            None => format!("unknown model `{name}`"),
        },
        LookupError::UnknownPreset { name } => match table.suggest_preset(name) {
            Some(s) => format!("unknown preset `@{name}`; did you mean `@{s}`?"),
            None => format!("unknown preset `@{name}`"),
        },
        e @ LookupError::NoEndpoints { .. } => e.to_string(),
    };
    ApiError::new(Kind::NotFound, msg).with_code("model_not_found")
}

fn json_ok(body: Bytes) -> Response<Body> {
    let mut r = Response::new(Body::full(body));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, json_content_type());
    r
}

fn ready(shared: &Shared, table: &RoutingTable) -> Response<Body> {
    if shared.draining.load(Ordering::Acquire) {
        let mut r = json_ok(Bytes::from_static(b"{\"status\":\"draining\"}"));
        *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        return r;
    }
    json_ok(Bytes::from(
        json!({"status": "ready", "config_hash": table.content_hash(),
               "models": table.routable_model_count()})
        .to_string(),
    ))
}

/// `GET /v1/models` in the caller's dialect: OpenAI by default, Anthropic when the caller sends
/// `anthropic-version`, Gemini for `/v1beta/models` or `x-goog-api-key`.
fn models(table: &RoutingTable, shape: Shape) -> Response<Body> {
    let mut names: Vec<&str> = table
        .virtual_models()
        .iter()
        .map(|m| &*m.name)
        .chain(table.declared_models().iter().map(|d| &*d.id))
        .collect();
    names.sort_unstable();
    names.dedup();
    let v = match shape {
        Shape::Gemini => json!({"models": names.iter().map(|n| json!({
            "name": format!("models/{n}"), "displayName": n,
            "supportedGenerationMethods": ["generateContent", "streamGenerateContent"],
        })).collect::<Vec<_>>()}),
        Shape::Anthropic => json!({
            "data": names.iter().map(|n| json!({"type": "model", "id": n, "display_name": n,
                "created_at": "1970-01-01T00:00:00Z"})).collect::<Vec<_>>(),
            "has_more": false, "first_id": names.first(), "last_id": names.last(),
        }),
        _ => json!({"object": "list", "data": names.iter().map(|n| json!({
            "id": n, "object": "model", "created": 0, "owned_by": "bitrouter",
        })).collect::<Vec<_>>()}),
    };
    json_ok(Bytes::from(v.to_string()))
}
