//! `keygen --exp`: a lifetime (`30d`, `12h`, `5m`, `90s`), an RFC 3339 time
//! (`2027-01-31T12:00:00Z`, an offset such as `+02:00`, or a bare date meaning midnight UTC),
//! or Unix seconds — to Unix seconds.

/// The expiry `text` names, relative to `now` (Unix seconds).
pub fn parse_expiry(text: &str, now: u64) -> Result<u64, String> {
    let t = text.trim();
    let hint = "write a lifetime such as `30d`, `12h` or `5m`, an RFC 3339 time such as \
                `2027-01-31T12:00:00Z`, or Unix seconds";
    if t.is_empty() {
        return Err(format!("the expiry is empty; {hint}"));
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().map_err(|_| format!("`{t}` is out of range"));
    }
    if let Some(unit) = t.chars().last().filter(|c| "smhd".contains(*c)) {
        let num = &t[..t.len() - 1];
        if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) {
            let n: u64 = num.parse().map_err(|_| format!("`{t}` is out of range"))?;
            let scale = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => 86_400,
            };
            return n
                .checked_mul(scale)
                .and_then(|d| now.checked_add(d))
                .ok_or_else(|| format!("`{t}` is out of range"));
        }
    }
    rfc3339(t).ok_or_else(|| format!("`{t}` is not an expiry; {hint}"))
}

fn rfc3339(t: &str) -> Option<u64> {
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (mut h, mut mi, mut s, mut offset) = (0, 0, 0, 0i64);
    if b.len() > 10 {
        if !matches!(b.get(10), Some(b'T' | b't' | b' '))
            || b.get(13) != Some(&b':')
            || b.get(16) != Some(&b':')
        {
            return None;
        }
        (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let mut rest = &t[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            rest = &frac[digits..];
        }
        offset = match rest {
            "Z" | "z" => 0,
            _ if rest.len() == 6 && matches!(&rest[..1], "+" | "-") && &rest[3..4] == ":" => {
                let oh: i64 = rest[1..3].parse().ok()?;
                let om: i64 = rest[4..6].parse().ok()?;
                let sign = if rest.starts_with('-') { -1 } else { 1 };
                sign * (oh * 3600 + om * 60)
            }
            _ => return None,
        };
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = auth::days_from_civil(y, mo, d);
    if d > days_in_month(y, mo) {
        return None;
    }
    let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset;
    u64::try_from(secs).ok()
}

/// Unix seconds as an RFC 3339 UTC time (`2027-01-31T12:00:00Z`).
pub fn format_utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    let (y, m, d) = auth::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_expiry() {
        let now = 1_800_000_000;
        assert_eq!(parse_expiry("30d", now), Ok(now + 30 * 86_400));
        assert_eq!(parse_expiry("12h", now), Ok(now + 12 * 3600));
        assert_eq!(parse_expiry("5m", now), Ok(now + 300));
        assert_eq!(parse_expiry("90s", now), Ok(now + 90));
        assert_eq!(parse_expiry("1900000000", now), Ok(1_900_000_000));
        assert_eq!(parse_expiry("1970-01-01T00:00:00Z", now), Ok(0));
        assert_eq!(parse_expiry("2027-01-31T12:00:00Z", now), Ok(1_801_396_800));
        assert_eq!(
            parse_expiry("2027-01-31T14:00:00+02:00", now),
            Ok(1_801_396_800)
        );
        assert_eq!(
            parse_expiry("2027-01-31T12:00:00.250Z", now),
            Ok(1_801_396_800)
        );
        assert_eq!(parse_expiry("2027-01-31", now), Ok(1_801_353_600));
        assert_eq!(parse_expiry("2024-02-29", now), Ok(1_709_164_800));
        assert_eq!(format_utc(1_801_396_800), "2027-01-31T12:00:00Z");
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_709_164_800), "2024-02-29T00:00:00Z");
        for bad in [
            "",
            "soon",
            "30 days",
            "d",
            "2027-02-30",
            "2027-13-01",
            "2027-01-31T25:00:00Z",
            "2027-01-31T12:00:00",
            "-5m",
        ] {
            assert!(parse_expiry(bad, now).is_err(), "{bad}");
        }
    }
}
