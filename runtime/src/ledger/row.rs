//! One ledger row: the columns of `requests`, written as one JSON line into the spool from a
//! data-plane [`Entry`] (into a reused buffer) and read back by the writer. The line is the
//! spool's whole format; a line that does not parse is skipped and logged, never retried.

use std::time::UNIX_EPOCH;

use dataplane::usage::Entry;
use serde::{Deserialize, Serialize};

/// A row as the spool and the database hold it. Times are Unix milliseconds (UTC), durations
/// milliseconds, cost micro-USD.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The row's own key, unique per finished request (`<process nonce>-<counter>`): a spool
    /// replayed after a crash inserts each row once even when callers reuse `x-request-id`.
    pub id: String,
    pub time_ms: i64,
    pub request_id: String,
    pub key_id: Option<String>,
    pub model: String,
    pub route: Option<String>,
    pub provider: Option<String>,
    pub upstream_model: Option<String>,
    pub inbound: String,
    pub outbound: Option<String>,
    pub stream: bool,
    pub status: i64,
    pub outcome: String,
    pub attempts: i64,
    pub duration_ms: f64,
    pub ttfb_ms: Option<f64>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cache_read_tokens: Option<i64>,
    pub cache_write_tokens: Option<i64>,
    pub reasoning_tokens: Option<i64>,
    pub cost_micro_usd: Option<f64>,
}

/// The same row, borrowed from the entry (what the hot path serialises; no allocation).
#[derive(Serialize)]
struct RowRef<'a> {
    id: IdRef<'a>,
    time_ms: i64,
    request_id: &'a str,
    key_id: Option<&'a str>,
    model: &'a str,
    route: Option<&'a str>,
    provider: Option<&'a str>,
    upstream_model: Option<&'a str>,
    inbound: &'static str,
    outbound: Option<&'static str>,
    stream: bool,
    status: u16,
    outcome: &'static str,
    attempts: u32,
    duration_ms: f64,
    ttfb_ms: Option<f64>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_read_tokens: Option<u64>,
    cache_write_tokens: Option<u64>,
    reasoning_tokens: Option<u64>,
    cost_micro_usd: Option<f64>,
}

/// `<nonce>-<n>`, written without formatting into a `String`.
struct IdRef<'a>(&'a str, u64);

impl Serialize for IdRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}-{}", self.0, self.1))
    }
}

/// Appends `entry` as one JSON line (with its `\n`) to `out`.
pub(crate) fn write_line(out: &mut Vec<u8>, nonce: &str, n: u64, e: &Entry<'_>) {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let u = e.usage;
    let row = RowRef {
        id: IdRef(nonce, n),
        time_ms: e
            .time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        request_id: e.request_id,
        key_id: e.key_id,
        model: e.model,
        route: e.route,
        provider: e.provider,
        upstream_model: e.upstream_model,
        inbound: e.inbound.as_str(),
        outbound: e.outbound.map(|p| p.as_str()),
        stream: e.stream,
        status: e.status,
        outcome: e.outcome,
        attempts: e.attempts,
        duration_ms: ms(e.duration),
        ttfb_ms: e.time_to_first_byte.map(ms),
        input_tokens: u.map(|u| u.input),
        output_tokens: u.map(|u| u.output),
        cache_read_tokens: u.map(|u| u.cache_read),
        cache_write_tokens: u.map(|u| u.cache_write),
        reasoning_tokens: u.map(|u| u.reasoning),
        cost_micro_usd: e.cost_micro_usd,
    };
    // Serialising plain fields into a Vec cannot fail.
    if serde_json::to_writer(&mut *out, &row).is_ok() {
        out.push(b'\n');
    }
}

/// The complete lines of `buf` (up to its last `\n`), parsed; the count of bytes consumed
/// and the lines that did not parse.
pub(crate) fn read_lines(buf: &[u8]) -> (usize, Vec<Row>, usize) {
    let Some(end) = buf.iter().rposition(|&b| b == b'\n') else {
        return (0, Vec::new(), 0);
    };
    let mut rows = Vec::new();
    let mut bad = 0;
    for line in buf[..end].split(|&b| b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Row>(line) {
            Ok(r) => rows.push(r),
            Err(_) => bad += 1,
        }
    }
    (end + 1, rows, bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use compiler::table::Protocol;
    use std::time::Duration;

    #[test]
    fn a_line_reads_back_as_the_row_and_a_torn_tail_waits() {
        let e = Entry {
            time: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            request_id: "req-1",
            key_id: Some("ci"),
            model: "fast",
            route: Some("fast"),
            provider: Some("openai"),
            upstream_model: Some("gpt-4o"),
            inbound: Protocol::Messages,
            outbound: Some(Protocol::ChatCompletions),
            stream: true,
            status: 200,
            outcome: "completed",
            attempts: 2,
            duration: Duration::from_millis(40),
            time_to_first_byte: Some(Duration::from_millis(10)),
            usage: Some(dataplane::usage::Usage {
                input: 10,
                output: 5,
                cache_read: 2,
                cache_write: 0,
                reasoning: 1,
            }),
            cost_micro_usd: Some(12.5),
        };
        let mut buf = Vec::new();
        write_line(&mut buf, "abc", 7, &e);
        let whole = buf.len();
        buf.extend_from_slice(b"{\"id\":\"torn");
        let (used, rows, bad) = read_lines(&buf);
        assert_eq!((used, bad), (whole, 0));
        let r = &rows[0];
        assert_eq!(r.id, "abc-7");
        assert_eq!(r.time_ms, 1_700_000_000_123);
        assert_eq!(r.inbound, "messages");
        assert_eq!(r.outbound.as_deref(), Some("chat_completions"));
        assert_eq!(
            (r.input_tokens, r.cache_read_tokens, r.reasoning_tokens),
            (Some(10), Some(2), Some(1))
        );
        assert_eq!(r.cost_micro_usd, Some(12.5));
    }
}
