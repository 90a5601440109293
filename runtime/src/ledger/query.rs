//! What the ledger's readers ask (`bitrouter spend`, `bitrouter requests`): spend grouped by
//! model, provider, key, day or hour over a window, and the latest rows. Plain SQL that
//! SQLite and Postgres read alike (sums cast to `BIGINT` / `DOUBLE PRECISION`, days and hours
//! as integer divisions of Unix milliseconds, so UTC).

use serde::Serialize;
use sqlx::Row as _;

use super::LedgerError;
use super::row::Row;
use super::store::Store;
use super::time;

/// How `spend` groups rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    /// The model as callers named it.
    Model,
    Provider,
    Key,
    Day,
    Hour,
}

/// Which rows `spend` sums.
#[derive(Clone, Debug)]
pub struct SpendFilter {
    /// Unix milliseconds, inclusive.
    pub since_ms: i64,
    /// Unix milliseconds, exclusive.
    pub until_ms: i64,
    pub by: By,
    /// Only this key id.
    pub key: Option<String>,
}

/// One group's sums (or the total).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SpendLine {
    /// The group's value: a model, provider or key id (`-` for none), a day or an hour.
    pub group: String,
    pub requests: i64,
    /// Requests that failed or were refused.
    pub errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub reasoning_tokens: i64,
    /// Micro-USD of the rows whose cost is known.
    pub cost_micro_usd: f64,
    /// Rows with usage but no price (their cost is not in `cost_micro_usd`).
    pub unpriced: i64,
}

impl SpendLine {
    fn add(&mut self, o: &SpendLine) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cache_read_tokens += o.cache_read_tokens;
        self.cache_write_tokens += o.cache_write_tokens;
        self.reasoning_tokens += o.reasoning_tokens;
        self.cost_micro_usd += o.cost_micro_usd;
        self.unpriced += o.unpriced;
    }
}

/// `spend`'s answer: the groups (largest cost first; days and hours in order) and the total.
#[derive(Clone, Debug, Serialize)]
pub struct SpendReport {
    pub by: By,
    pub since_ms: i64,
    pub until_ms: i64,
    pub lines: Vec<SpendLine>,
    pub total: SpendLine,
}

/// Sums the rows `f` selects.
pub async fn spend(store: &Store, f: &SpendFilter) -> Result<SpendReport, LedgerError> {
    let (group, numeric) = match f.by {
        By::Model => ("model", false),
        By::Provider => ("COALESCE(provider, '-')", false),
        By::Key => ("COALESCE(key_id, '-')", false),
        By::Day => ("time_ms / 86400000", true),
        By::Hour => ("time_ms / 3600000", true),
    };
    let sum = |c: &str| format!("CAST(COALESCE(SUM({c}), 0) AS BIGINT)");
    let sql = format!(
        "SELECT {group} AS g, COUNT(*) AS requests, \
         CAST(SUM(CASE WHEN outcome IN ('failed', 'refused') THEN 1 ELSE 0 END) AS BIGINT) AS errors, \
         {} AS input_tokens, {} AS output_tokens, {} AS cache_read_tokens, \
         {} AS cache_write_tokens, {} AS reasoning_tokens, \
         CAST(COALESCE(SUM(cost_micro_usd), 0) AS DOUBLE PRECISION) AS cost, \
         CAST(SUM(CASE WHEN cost_micro_usd IS NULL AND input_tokens IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS unpriced \
         FROM requests WHERE time_ms >= $1 AND time_ms < $2{} GROUP BY {group}",
        sum("input_tokens"),
        sum("output_tokens"),
        sum("cache_read_tokens"),
        sum("cache_write_tokens"),
        sum("reasoning_tokens"),
        if f.key.is_some() {
            " AND key_id = $3"
        } else {
            ""
        },
    );
    let mut q = sqlx::query(&sql).bind(f.since_ms).bind(f.until_ms);
    if let Some(k) = &f.key {
        q = q.bind(k.as_str());
    }
    let rows = q.fetch_all(&store.pool).await.map_err(LedgerError::Query)?;
    let mut keyed = Vec::with_capacity(rows.len());
    for r in &rows {
        let get = |c: &str| r.try_get::<i64, _>(c).map_err(LedgerError::Query);
        let (order, group) = if numeric {
            let n = get("g")?;
            let label = if f.by == By::Day {
                time::day_label(n)
            } else {
                time::hour_label(n)
            };
            (n, label)
        } else {
            (0, r.try_get::<String, _>("g").map_err(LedgerError::Query)?)
        };
        keyed.push((
            order,
            SpendLine {
                group,
                requests: get("requests")?,
                errors: get("errors")?,
                input_tokens: get("input_tokens")?,
                output_tokens: get("output_tokens")?,
                cache_read_tokens: get("cache_read_tokens")?,
                cache_write_tokens: get("cache_write_tokens")?,
                reasoning_tokens: get("reasoning_tokens")?,
                cost_micro_usd: r.try_get::<f64, _>("cost").map_err(LedgerError::Query)?,
                unpriced: get("unpriced")?,
            },
        ));
    }
    if numeric {
        keyed.sort_by_key(|(n, _)| *n);
    } else {
        keyed.sort_by(|(_, a), (_, b)| {
            b.cost_micro_usd
                .total_cmp(&a.cost_micro_usd)
                .then(b.requests.cmp(&a.requests))
                .then(a.group.cmp(&b.group))
        });
    }
    let lines: Vec<SpendLine> = keyed.into_iter().map(|(_, l)| l).collect();
    let mut total = SpendLine {
        group: "total".to_owned(),
        ..SpendLine::default()
    };
    for l in &lines {
        total.add(l);
    }
    Ok(SpendReport {
        by: f.by,
        since_ms: f.since_ms,
        until_ms: f.until_ms,
        lines,
        total,
    })
}

/// A row as `requests` shows it.
pub type RequestRow = Row;

const SELECT_ROW: &str = "SELECT id, time_ms, request_id, key_id, model, route, provider, \
     upstream_model, inbound, outbound, stream, status, outcome, attempts, duration_ms, ttfb_ms, \
     input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, \
     cost_micro_usd FROM requests";

/// The latest `last` rows, oldest first; with `after`, only rows after that `(time_ms, id)`
/// (for `--follow`).
pub async fn recent(
    store: &Store,
    last: i64,
    after: Option<(i64, &str)>,
) -> Result<Vec<RequestRow>, LedgerError> {
    let rows = match after {
        None => {
            sqlx::query(&format!(
                "{SELECT_ROW} ORDER BY time_ms DESC, id DESC LIMIT $1"
            ))
            .bind(last)
            .fetch_all(&store.pool)
            .await
        }
        Some((t, id)) => {
            sqlx::query(&format!(
                "{SELECT_ROW} WHERE time_ms > $1 OR (time_ms = $1 AND id > $2) \
                 ORDER BY time_ms DESC, id DESC LIMIT $3"
            ))
            .bind(t)
            .bind(id)
            .bind(last)
            .fetch_all(&store.pool)
            .await
        }
    }
    .map_err(LedgerError::Query)?;
    let mut out = rows
        .iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()
        .map_err(LedgerError::Query)?;
    out.reverse();
    Ok(out)
}

fn decode(r: &sqlx::any::AnyRow) -> Result<Row, sqlx::Error> {
    Ok(Row {
        id: r.try_get("id")?,
        time_ms: r.try_get("time_ms")?,
        request_id: r.try_get("request_id")?,
        key_id: r.try_get("key_id")?,
        model: r.try_get("model")?,
        route: r.try_get("route")?,
        provider: r.try_get("provider")?,
        upstream_model: r.try_get("upstream_model")?,
        inbound: r.try_get("inbound")?,
        outbound: r.try_get("outbound")?,
        stream: r.try_get::<i64, _>("stream")? != 0,
        status: r.try_get("status")?,
        outcome: r.try_get("outcome")?,
        attempts: r.try_get("attempts")?,
        duration_ms: r.try_get("duration_ms")?,
        ttfb_ms: r.try_get("ttfb_ms")?,
        input_tokens: r.try_get("input_tokens")?,
        output_tokens: r.try_get("output_tokens")?,
        cache_read_tokens: r.try_get("cache_read_tokens")?,
        cache_write_tokens: r.try_get("cache_write_tokens")?,
        reasoning_tokens: r.try_get("reasoning_tokens")?,
        cost_micro_usd: r.try_get("cost_micro_usd")?,
    })
}

/// Spent so far by each key in the budget windows that hold `now` (Unix seconds): cost summed
/// since the UTC day's start, the UTC month's, and ever — what the data plane's budget
/// counters start from and are re-seeded with (`dataplane::Server::seed_spend`). Keys with
/// nothing priced spent are left out; sums are rounded up to whole micro-USD.
pub async fn spent_by_key(
    store: &Store,
    now: i64,
) -> Result<Vec<dataplane::spend::Seed>, LedgerError> {
    use dataplane::spend::BudgetWindow;
    let mut out = Vec::new();
    for window in [BudgetWindow::Day, BudgetWindow::Month, BudgetWindow::Total] {
        let start = window.start(now);
        let rows = sqlx::query(
            "SELECT key_id, CAST(COALESCE(SUM(cost_micro_usd), 0) AS DOUBLE PRECISION) AS cost \
             FROM requests WHERE key_id IS NOT NULL AND time_ms >= $1 GROUP BY key_id",
        )
        .bind(start.saturating_mul(1000))
        .fetch_all(&store.pool)
        .await
        .map_err(LedgerError::Query)?;
        for r in &rows {
            let key_id: String = r.try_get("key_id").map_err(LedgerError::Query)?;
            let cost: f64 = r.try_get("cost").map_err(LedgerError::Query)?;
            if cost > 0.0 && cost.is_finite() {
                out.push(dataplane::spend::Seed {
                    key_id,
                    window,
                    window_start: start,
                    micro_usd: cost.ceil() as u64,
                });
            }
        }
    }
    Ok(out)
}
