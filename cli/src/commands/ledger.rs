//! `bitrouter spend` and `bitrouter requests`: the usage ledger read straight from its
//! database (`--db`, `DATABASE_URL`, `database.url`, `<home>/bitrouter.db`), no daemon
//! needed. Each maps its flags to a `runtime::ledger` query and formats the answer.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use compiler::EnvMode;
use runtime::LoadOptions;
use runtime::ledger::{self, By, LedgerError, RequestRow, SpendFilter, SpendLine, Store, time};

use crate::args::{Global, RequestsArgs, SpendArgs, SpendBy};
use crate::output::{self, Hinted};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(rt.block_on(f))
}

/// The ledger's database, opened for reading (the configuration is read leniently only for
/// `database.url`; a file that does not compile does not stop a reader).
pub(crate) async fn open(g: &Global) -> Result<Store> {
    let paths = super::paths(g);
    let loaded = runtime::config::load(&paths, LoadOptions::new(EnvMode::Lenient)).ok();
    let url = runtime::config::database_url(&paths, loaded.as_ref().and_then(|l| l.table()));
    let store = Store::connect(&url, false, Duration::from_secs(10))
        .await
        .map_err(hinted)?;
    store.migrate().await.map_err(hinted)?;
    Ok(store)
}

fn hinted(e: LedgerError) -> anyhow::Error {
    match e.hint() {
        Some(h) => Hinted::wrap(e, h),
        None => e.into(),
    }
}

fn point(flag: &str, s: &str, now: i64) -> Result<i64> {
    time::parse_point(s, now).ok_or_else(|| {
        Hinted::wrap(
            anyhow::anyhow!("`{s}` is not a time for `{flag}`"),
            "write a span back from now (`24h`, `7d`, `30d`) or a UTC date (`2025-01-31`)",
        )
    })
}

pub(crate) fn spend(g: &Global, a: &SpendArgs) -> Result<ExitCode> {
    let now = now_ms();
    let filter = SpendFilter {
        since_ms: point("--since", &a.since, now)?,
        until_ms: match &a.until {
            Some(u) => point("--until", u, now)?,
            None => now + 1,
        },
        by: match a.by {
            SpendBy::Model => By::Model,
            SpendBy::Provider => By::Provider,
            SpendBy::Key => By::Key,
            SpendBy::Day => By::Day,
            SpendBy::Hour => By::Hour,
        },
        key: a.key.clone(),
    };
    let report = block_on(async {
        let store = open(g).await?;
        ledger::spend(&store, &filter).await.map_err(hinted)
    })??;
    if a.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            report: &'a ledger::SpendReport,
            builtin_prices_as_of: &'static str,
        }
        let out = Out {
            report: &report,
            builtin_prices_as_of: compiler::registry::PRICES_AS_OF,
        };
        output::data(&serde_json::to_string_pretty(&out)?);
    } else {
        output::data(&spend_table(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// USD with six decimals (micro-USD are the ledger's unit).
fn usd(micro: f64) -> String {
    format!("${:.6}", micro / 1e6)
}

fn spend_table(r: &ledger::SpendReport) -> String {
    let head = [
        match r.by {
            By::Model => "model",
            By::Provider => "provider",
            By::Key => "key",
            By::Day => "day",
            By::Hour => "hour",
        },
        "requests",
        "errors",
        "input",
        "output",
        "cache_read",
        "cache_write",
        "reasoning",
        "cost",
    ];
    let cells = |l: &SpendLine| {
        let mut cost = usd(l.cost_micro_usd);
        if l.unpriced > 0 {
            cost.push_str(&format!(" + {} unpriced", l.unpriced));
        }
        [
            l.group.clone(),
            l.requests.to_string(),
            l.errors.to_string(),
            l.input_tokens.to_string(),
            l.output_tokens.to_string(),
            l.cache_read_tokens.to_string(),
            l.cache_write_tokens.to_string(),
            l.reasoning_tokens.to_string(),
            cost,
        ]
    };
    let mut rows: Vec<[String; 9]> = vec![head.map(str::to_owned)];
    rows.extend(r.lines.iter().map(cells));
    rows.push(cells(&r.total));
    let mut text = format!(
        "from {} to {} (UTC)\n",
        time::timestamp_label(r.since_ms),
        time::timestamp_label(r.until_ms)
    );
    let mut right = [true; 9];
    right[0] = false;
    text.push_str(&columns(&rows, right));
    if r.total.unpriced > 0 {
        text.push_str(&format!(
            "{} request(s) had usage but no price; their cost is not in the sums \
             (set `pricing` on the model)\n",
            r.total.unpriced
        ));
    }
    text.push_str(&format!(
        "prices: a model's `pricing` in the configuration, else the built-in list prices of {}\n",
        compiler::registry::PRICES_AS_OF
    ));
    text
}

/// Columns two spaces apart; numbers (`right`) right-aligned, text left-aligned.
fn columns<const N: usize>(rows: &[[String; N]], right: [bool; N]) -> String {
    let mut width = [0; N];
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(width).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            if right[i] {
                line.push_str(&format!("{c:>w$}"));
            } else {
                line.push_str(&format!("{c:<w$}"));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub(crate) fn requests(g: &Global, a: &RequestsArgs) -> Result<ExitCode> {
    block_on(async {
        let store = open(g).await?;
        let mut rows = ledger::recent(&store, i64::from(a.last), None)
            .await
            .map_err(hinted)?;
        if !a.follow {
            if a.json {
                output::data(&serde_json::to_string_pretty(&rows)?);
            } else {
                output::data(&requests_table(&rows));
            }
            return Ok(ExitCode::SUCCESS);
        }
        let print = |rows: &[RequestRow]| -> Result<()> {
            for r in rows {
                if a.json {
                    output::data(&serde_json::to_string(r)?);
                } else {
                    output::data(&request_cells(r).join("  "));
                }
            }
            Ok(())
        };
        print(&rows)?;
        let mut last = rows.pop().map(|r| (r.time_ms, r.id));
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let after = last.as_ref().map(|(t, id)| (*t, id.as_str()));
            let mut next = ledger::recent(&store, 1000, after).await.map_err(hinted)?;
            print(&next)?;
            if let Some(r) = next.pop() {
                last = Some((r.time_ms, r.id));
            }
        }
    })?
}

fn request_cells(r: &RequestRow) -> [String; 9] {
    let served = match (&r.provider, &r.upstream_model) {
        (Some(p), Some(m)) => format!("{p}/{m}"),
        _ => "-".to_owned(),
    };
    let tokens = match (r.input_tokens, r.output_tokens) {
        (Some(i), Some(o)) => format!("{i}/{o}"),
        _ => "-".to_owned(),
    };
    let cost = match (r.cost_micro_usd, r.input_tokens) {
        (Some(c), _) => usd(c),
        (None, Some(_)) => "unpriced".to_owned(),
        (None, None) => "-".to_owned(),
    };
    [
        time::timestamp_label(r.time_ms),
        r.request_id.clone(),
        r.key_id.clone().unwrap_or_else(|| "-".to_owned()),
        r.model.clone(),
        served,
        format!("{}{}", r.status, if r.stream { " stream" } else { "" }),
        r.outcome.clone(),
        format!("{:.0}ms", r.duration_ms),
        format!("{tokens}  {cost}"),
    ]
}

fn requests_table(rows: &[RequestRow]) -> String {
    let mut t = vec![
        [
            "time (UTC)",
            "request",
            "key",
            "model",
            "served by",
            "status",
            "outcome",
            "duration",
            "tokens in/out  cost",
        ]
        .map(str::to_owned),
    ];
    t.extend(rows.iter().map(request_cells));
    columns(
        &t,
        [false, false, false, false, false, false, false, true, false],
    )
}
