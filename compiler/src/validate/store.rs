//! Checks on `server.limits.store` (the shared Redis/Valkey for limits and budgets): its URL,
//! the `on_store_error` it requires, and its timeout. Messages never quote the URL: it may
//! hold a password.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::resolve::defaults::MAX_STORE_TIMEOUT;
use crate::resolved;

use super::zero_duration;

pub(super) fn check(acc: &mut Diagnostics, l: &resolved::Limits) {
    zero_duration(acc, "server.limits.store_timeout", &l.store_timeout);
    if let Some((d, span)) = l.store_timeout.written()
        && *d > MAX_STORE_TIMEOUT
    {
        acc.push(
            Diagnostic::error(
                Code::InvalidValue,
                "server.limits.store_timeout",
                "a store timeout above 5s would hold every limited request that long",
            )
            .at(span)
            .help("the store answers in well under a millisecond when it is up; keep this short (default `100ms`)"),
        );
    }
    let Some(store) = &l.store else {
        if let Some(o) = &l.on_store_error {
            acc.push(
                Diagnostic::warning(
                    Code::InvalidValue,
                    "server.limits.on_store_error",
                    "`on_store_error` has no effect without `store`",
                )
                .at(o.span)
                .help("set `server.limits.store: redis://HOST:PORT`, or remove this key"),
            );
        }
        return;
    };
    if let Err(problem) = store_url(&store.value.0) {
        acc.push(
            Diagnostic::error(
                Code::InvalidValue,
                "server.limits.store",
                format!("unsupported store URL: {problem}"),
            )
            .at(store.span)
            .help("use `redis://HOST:PORT` or `rediss://HOST:PORT` (TLS); a password as `redis://:${REDIS_PASSWORD}@HOST:PORT`"),
        );
    }
    if l.on_store_error.is_none() {
        acc.push(
            Diagnostic::error(
                Code::MissingKey,
                "server.limits.on_store_error",
                "`server.limits.store` is set without `on_store_error`",
            )
            .at(store.span)
            .label("what should a request do when this store is away?")
            .help("add `on_store_error: fail_closed` (refuse with 503) or `on_store_error: fail_open` (admit unchecked)"),
        );
    }
}

/// `redis://` or `rediss://`, a host, an optional port and an optional database number.
fn store_url(s: &str) -> Result<(), &'static str> {
    let u = url::Url::parse(s).map_err(|_| "not a URL")?;
    if !matches!(u.scheme(), "redis" | "rediss") {
        return Err("the scheme must be `redis` or `rediss`");
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("no host");
    }
    let db = u.path().trim_start_matches('/');
    if !db.is_empty() && db.parse::<u32>().is_err() {
        return Err("the path must be a database number");
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err("no query or fragment is read");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::store_url;

    #[test]
    fn store_urls() {
        for ok in [
            "redis://127.0.0.1:6379",
            "rediss://cache.internal",
            "redis://:pw@h:1/3",
            "redis://user:pw@h",
        ] {
            assert_eq!(store_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://h",
            "redis://",
            "redis://h/x",
            "h:6379",
            "redis://h?x=1",
        ] {
            assert!(store_url(bad).is_err(), "{bad}");
        }
    }
}
