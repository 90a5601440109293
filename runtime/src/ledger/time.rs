//! Dates for the ledger's readers, in UTC without a calendar crate: `--since 24h|7d|DATE`
//! and `--until DATE` to Unix milliseconds, and days/hours back to `YYYY-MM-DD[ HH:00]`.

use auth::{civil_from_days, days_from_civil};

const DAY_MS: i64 = 86_400_000;

/// A point in time for `--since`/`--until`: a span back from `now_ms` (`90m`, `24h`, `7d`,
/// `2w`), a date (`2025-01-31`, midnight UTC) or a date and time (`2025-01-31T12:00[:00][Z]`).
pub fn parse_point(s: &str, now_ms: i64) -> Option<i64> {
    let s = s.trim();
    if let Some(unit) = s
        .chars()
        .last()
        .filter(|c| c.is_ascii_alphabetic() && !s.contains('-'))
    {
        let n: i64 = s[..s.len() - 1].parse().ok()?;
        let ms = match unit {
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => DAY_MS,
            'w' => 7 * DAY_MS,
            _ => return None,
        };
        return Some(now_ms - n.checked_mul(ms)?);
    }
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t.trim_end_matches('Z'))),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, m, d) * DAY_MS;
    if let Some(t) = time {
        let mut hms = t.split(':');
        let h: i64 = hms.next()?.parse().ok()?;
        let min: i64 = hms.next().map_or(Some(0), |v| v.parse().ok())?;
        let sec: i64 = hms.next().map_or(Some(0), |v| v.parse().ok())?;
        if hms.next().is_some() || h > 23 || min > 59 || sec > 60 {
            return None;
        }
        ms += (h * 3600 + min * 60 + sec) * 1000;
    }
    Some(ms)
}

/// `YYYY-MM-DD` of day number `day`.
pub fn day_label(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:00` of hour number `hour`.
pub fn hour_label(hour: i64) -> String {
    format!(
        "{} {:02}:00",
        day_label(hour.div_euclid(24)),
        hour.rem_euclid(24)
    )
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of `ms`.
pub fn timestamp_label(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let day = secs.div_euclid(86_400);
    let s = secs.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02}",
        day_label(day),
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_spans_read_as_utc_milliseconds() {
        let now = 1_700_000_000_000;
        assert_eq!(parse_point("24h", now), Some(now - DAY_MS));
        assert_eq!(parse_point("7d", now), Some(now - 7 * DAY_MS));
        assert_eq!(parse_point("1970-01-02", now), Some(DAY_MS));
        assert_eq!(parse_point("2023-11-14", now), Some(19_675 * DAY_MS));
        assert_eq!(
            parse_point("2023-11-14T22:13:20Z", now),
            Some(1_700_000_000_000)
        );
        for bad in ["", "7x", "2023-13-01", "23-11-14", "yesterday"] {
            assert_eq!(parse_point(bad, now), None, "{bad}");
        }
        assert_eq!(day_label(19_675), "2023-11-14");
        assert_eq!(hour_label(19_675 * 24 + 22), "2023-11-14 22:00");
        assert_eq!(timestamp_label(1_700_000_000_000), "2023-11-14 22:13:20");
        assert_eq!(day_label(days_from_civil(2024, 2, 29)), "2024-02-29");
    }
}
