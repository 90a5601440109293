//! The per-request pipeline: endpoint → limits → `Host` / `Origin` (`hygiene`) → auth →
//! `Content-Type` → body (and its hygiene, `request::shape`) → the key's own limits (`rpm`,
//! `concurrency`, `tpm`: `limits`) → model lookup → content rules (`screen`) → budgets
//! (`spend`: reserve the worst case) → failover.
//! Every outcome is a response in the caller protocol's shape; nothing here returns an error
//! to hyper. Every response carries the request id; a model call's record is finished here
//! (or handed to its stream's body) once the response is known.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use auth::Scope;
use bytes::Bytes;
use compiler::table::{LookupError, Protocol, RoutingTable};
use http::{HeaderMap, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::json;
use translate::ir::ErrorKind;

use crate::auxiliary;
use crate::body::{Body, Gather};
use crate::endpoint::Endpoint;
use crate::error::ProxyError;
use crate::failover;
use crate::gate::Caller;
use crate::hygiene;
use crate::json::PooledScratch;
use crate::limits::{self, Counting};
use crate::metrics::{AuthFailure, Outcome};
use crate::prepared::LoadedTable;
use crate::record::{self, Record, X_REQUEST_ID};
use crate::request;
use crate::respond::{self, json_ok};
use crate::screen;
use crate::shared::{InFlight, Shared};
use crate::spend;

/// Longest request target accepted (414 beyond).
const MAX_URI: usize = 8 * 1024;

/// One request, answered in the caller's protocol whatever happens: every error is rendered
/// here, once. `local` is the address the connection reached (the `Host` check).
pub(crate) async fn handle(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    local: Option<SocketAddr>,
) -> Response<Body> {
    let path = req.uri().path();
    let endpoint = Endpoint::detect(req.method(), path, req.uri().query());
    let dialect = dialect(&endpoint, path, req.uri().query(), req.headers());
    // The one table load of this request.
    let table = shared.tables.load();
    let origin = match head(&req, &table, local) {
        Ok(origin) => origin.cloned(),
        Err(e) => return respond::error(e, dialect),
    };
    if let Some(res) = origin.as_ref().and_then(|o| hygiene::preflight(&req, o)) {
        return res;
    }
    // Owned before the request moves on (a Gemini model named in the path).
    let endpoint = endpoint.into_owned();
    let id = record::request_id(req.headers());
    let mut rec = match &endpoint {
        Endpoint::Call(c) => Some(Record::new(shared, id.clone(), c.protocol)),
        _ => None,
    };
    let mut res = match serve(shared, &table, req, endpoint, dialect, &mut rec, &id).await {
        Ok(res) => res,
        Err(e) => {
            let status = e.status().as_u16();
            if let Some(mut r) = rec.take() {
                r.head_sent(false);
                let outcome = if r.tried() {
                    Outcome::Failed
                } else {
                    Outcome::Refused
                };
                r.finish(status, outcome);
            }
            respond::error(e, dialect)
        }
    };
    if let Some(mut r) = rec {
        if let Body::Stream(stream) = res.body_mut() {
            r.head_sent(true);
            stream.attach(r);
        } else {
            r.head_sent(false);
            let status = res.status();
            let outcome = if status.is_success() {
                Outcome::Completed
            } else {
                Outcome::Failed
            };
            r.finish(status.as_u16(), outcome);
        }
    }
    if let Some(o) = &origin {
        hygiene::allow(res.headers_mut(), o);
    }
    res.headers_mut().insert(X_REQUEST_ID, id);
    res
}

/// The checks on the request head every endpoint gets: the configured limits, then who is
/// calling (`Host`, `Origin`). Returns the allowed browser origin, if one sent the request.
fn head<'r>(
    req: &'r Request<Incoming>,
    table: &LoadedTable,
    local: Option<SocketAddr>,
) -> Result<Option<&'r http::HeaderValue>, ProxyError> {
    let settings = table.server();
    check_head(req, settings.max_headers, settings.max_header_size)?;
    hygiene::check_host(req.headers(), req.uri(), local, settings)?;
    hygiene::check_origin(req.headers(), settings)
}

async fn serve(
    shared: &Arc<Shared>,
    table: &Arc<LoadedTable>,
    req: Request<Incoming>,
    endpoint: Endpoint<'static>,
    dialect: Protocol,
    rec: &mut Option<Record>,
    request_id: &http::HeaderValue,
) -> Result<Response<Body>, ProxyError> {
    let settings = table.server();
    let call = match endpoint {
        Endpoint::Health => return Ok(json_ok(Bytes::from_static(b"{\"status\":\"ok\"}"))),
        Endpoint::Ready => return Ok(ready(shared, table)),
        Endpoint::NotFound => {
            let path = req.uri().path();
            return Err(ProxyError::client(
                ErrorKind::NotFound,
                format!("no endpoint at `{path}`"),
            ));
        }
        Endpoint::WrongMethod(_) => {
            return Err(ProxyError::client(
                ErrorKind::MethodNotAllowed,
                "this endpoint takes POST",
            ));
        }
        Endpoint::Models => {
            authenticate(shared, table, req.headers(), req.uri().query(), Scope::Api)?;
            return Ok(respond::models(table, dialect));
        }
        Endpoint::Model(name) => {
            authenticate(shared, table, req.headers(), req.uri().query(), Scope::Api)?;
            table.route(&name).map_err(|e| lookup_error(table, e))?;
            return Ok(json_ok(translate::wire::model_info(dialect, &name)));
        }
        Endpoint::Metrics => {
            authenticate(
                shared,
                table,
                req.headers(),
                req.uri().query(),
                Scope::Admin,
            )?;
            return Ok(respond::metrics(shared.scrape()));
        }
        Endpoint::Call(call) => (call, false),
        Endpoint::CountTokens(call) => (call, true),
    };
    let (call, count) = call;
    hygiene::check_content_type(req.headers())?;
    // A model call has its record; `count_tokens` is not a model call and has none.
    if let Some(rec) = rec.as_mut() {
        rec.start_trace(settings.otel.as_ref(), req.headers());
    }
    let Some(slot) = InFlight::acquire(shared, settings.max_in_flight) else {
        return Err(ProxyError::internal(
            ErrorKind::Overloaded,
            "the router is at its in-flight request limit",
        )
        .with_retry_after(Duration::from_secs(1)));
    };
    let caller = authenticate(shared, table, req.headers(), req.uri().query(), Scope::Api)?;
    let (parts, body) = req.into_parts();
    let limit = settings.max_body_size;
    let body = read_body(body, &parts.headers, limit, settings.header_read_timeout).await?;
    let mut scratch = PooledScratch::take();
    let info = request::inspect(
        scratch.get(),
        call.protocol,
        &body,
        call.path_model.clone(),
        call.path_stream,
    )?;
    drop(scratch);
    if let Some(rec) = rec.as_mut() {
        rec.asked(crate::metrics::UNKNOWN, &info.model, info.stream);
    }
    // The caller's `rpm`, `concurrency` and (for a model call) `tpm`; what it holds ends
    // with the record (or, for `count_tokens`, when this function returns).
    let mut admission = None;
    if let Some(c) = &caller {
        if let Some(rec) = rec.as_mut() {
            rec.caller(c);
        }
        c.authorize_call(&info.model)
            .inspect_err(|e| count_refusal(shared, e))?;
        let tokens = (!count).then(|| {
            let (input, output) = spend::token_estimate(body.len(), info.max_output);
            input.saturating_add(output)
        });
        admission = Some(
            limits::store(table.prepared.limits.as_ref())
                .admit(c, tokens)
                .await
                .inspect_err(|e| {
                    if e.reason == Some("rate_limited") {
                        count_refusal(shared, e);
                    }
                })?,
        );
    }
    let _held = match (rec.as_mut(), admission) {
        (Some(r), Some(a)) => {
            r.admitted(a);
            None
        }
        (_, a) => a,
    };
    let mut route = table
        .route(&info.model)
        .map_err(|e| lookup_error(table, e))?;
    if let Some(rec) = rec.as_mut() {
        rec.routed(route.model);
    }
    // Content rules, before anything goes upstream; a redacted body is read again.
    let checked = match &table.prepared.guard {
        Some(g) => screen::request(g, call.protocol, &info.model, caller.as_deref(), &body).await?,
        None => screen::Checked::default(),
    };
    let (redacted, again);
    let (body, info) = match checked.body {
        Some(b) => {
            redacted = b;
            let mut scratch = PooledScratch::take();
            again = request::inspect(
                scratch.get(),
                call.protocol,
                &redacted,
                call.path_model.clone(),
                call.path_stream,
            )?;
            route = table
                .route(&again.model)
                .map_err(|e| lookup_error(table, e))?;
            (&redacted, &again)
        }
        None => (&body, &info),
    };
    if count {
        return auxiliary::count_tokens(table, route, &call, info, body, parts.headers).await;
    }
    let Some(rec) = rec.as_mut() else {
        return Err(ProxyError::internal(
            ErrorKind::Server,
            "a model call without its record",
        ));
    };
    rec.asked(
        table.prepared.labels.model(route.model),
        &info.model,
        info.stream,
    );
    rec.routed(route.model);
    if let Some(c) = &caller {
        reserve(shared, table, c, &route, info, body.len(), rec).await?;
    }
    failover::run(failover::Ctx {
        shared,
        table,
        route,
        call: &call,
        info,
        body,
        caller: parts.headers,
        screen: checked.answer,
        slot: Some(slot),
        rec,
        request_id,
    })
    .await
}

/// Budgets: the request's worst-case cost reserved on every budget its caller is held to
/// (`spend`), or the caller's 429 naming the budget and when it resets. The reservation goes
/// into the record, which settles it. The worst case is the caller's maximum output tokens
/// (else `spend::DEFAULT_OUTPUT_CAP`) at the route's highest output price plus a quarter of
/// the body's bytes at its highest input price. A route none of whose endpoints has an input
/// and an output price cannot be costed: it is admitted without a reservation, and since
/// the ledger records its cost as unknown, it never counts against the budget.
async fn reserve(
    shared: &Shared,
    table: &LoadedTable,
    caller: &Caller,
    route: &compiler::table::Route<'_>,
    info: &request::RequestInfo<'_>,
    body_len: usize,
    rec: &mut Record,
) -> Result<(), ProxyError> {
    let budgets = caller.budgets(&shared.spend, &table.server().auth);
    if budgets.is_empty() {
        return Ok(());
    }
    let (input, output) = spend::token_estimate(body_len, info.max_output);
    let prices = route.hops().filter_map(|h| h.target.map(|t| &t.pricing));
    let Some(amount) = spend::worst_case(prices, input, output) else {
        return Ok(());
    };
    let r = limits::store(table.prepared.limits.as_ref())
        .reserve(budgets, amount)
        .await?;
    rec.reserve(r);
    Ok(())
}

/// Which protocol's shape the caller reads: the endpoint's, else guessed from the path and
/// headers (a Gemini path, key header or `?key=`, `anthropic-version`), else OpenAI's.
fn dialect(
    endpoint: &Endpoint<'_>,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Protocol {
    match endpoint {
        Endpoint::Call(c) => c.protocol,
        Endpoint::WrongMethod(p) => *p,
        Endpoint::CountTokens(c) => c.protocol,
        _ if path.starts_with("/v1beta/")
            || headers.contains_key("x-goog-api-key")
            || query.is_some_and(|q| q.split('&').any(|kv| kv.starts_with("key="))) =>
        {
            Protocol::GenerateContent
        }
        _ if headers.contains_key("anthropic-version") => Protocol::Messages,
        _ => Protocol::ChatCompletions,
    }
}

/// Header count and size, URI length: the configured limits, answered in the caller's shape
/// (hyper's own, looser caps answer a bare 431 beyond them).
fn check_head(req: &Request<Incoming>, max_headers: u32, max_size: u64) -> Result<(), ProxyError> {
    let h = req.headers();
    if h.len() > max_headers as usize {
        return Err(ProxyError::client(
            ErrorKind::HeadersTooLarge,
            format!("too many request headers (limit {max_headers})"),
        ));
    }
    let size: usize = h.iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    if size as u64 > max_size {
        return Err(ProxyError::client(
            ErrorKind::HeadersTooLarge,
            format!("request headers are too large (limit {max_size} bytes)"),
        ));
    }
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI {
        return Err(ProxyError::client(
            ErrorKind::UriTooLong,
            format!("the request URI is too long (limit {MAX_URI} bytes)"),
        ));
    }
    Ok(())
}

/// The caller behind the request's credential, allowed `need` (`None` under `skip_auth`).
/// `GET /metrics` on the main listener needs the `admin` scope (the metrics listener,
/// `server.metrics_listen`, needs none). Every refusal is counted by its reason.
fn authenticate(
    shared: &Shared,
    table: &LoadedTable,
    headers: &HeaderMap,
    query: Option<&str>,
    need: Scope,
) -> Result<Option<Arc<Caller>>, ProxyError> {
    if table.server().skip_auth {
        return Ok(None);
    }
    table
        .prepared
        .gate
        .admit(&shared.rate_limits, headers, query, need)
        .map(Some)
        .inspect_err(|e| count_refusal(shared, e))
}

/// Counts a refused credential in `bitrouter_auth_failures_total{reason}`.
fn count_refusal(shared: &Shared, e: &ProxyError) {
    let reason = match e.reason {
        Some("missing") => AuthFailure::Missing,
        Some("expired") => AuthFailure::Expired,
        Some("bad_signature") => AuthFailure::BadSignature,
        Some("untrusted_issuer") => AuthFailure::UntrustedIssuer,
        Some("revoked") => AuthFailure::Revoked,
        Some("scope") => AuthFailure::Scope,
        Some("model") => AuthFailure::Model,
        Some("rate_limited") => AuthFailure::RateLimited,
        Some("malformed" | "too_large" | "algorithm" | "type" | "key_source" | "missing_exp") => {
            AuthFailure::Malformed
        }
        _ => AuthFailure::Invalid,
    };
    shared.metrics.auth_failure(reason);
}

/// Reads the request body up to `limit` bytes, refusing early on a larger `Content-Length`
/// and giving up when the client sends nothing for `idle`.
async fn read_body(
    mut body: Incoming,
    headers: &HeaderMap,
    limit: u64,
    idle: Duration,
) -> Result<Bytes, ProxyError> {
    let too_large = || {
        ProxyError::client(
            ErrorKind::PayloadTooLarge,
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
                return Err(ProxyError::client(
                    ErrorKind::RequestTimeout,
                    "the request body stopped arriving",
                ));
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(ProxyError::client(
                    ErrorKind::InvalidRequest,
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

fn lookup_error(table: &RoutingTable, e: LookupError<'_>) -> ProxyError {
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
    ProxyError::client(ErrorKind::NotFound, msg).with_code("model_not_found")
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
