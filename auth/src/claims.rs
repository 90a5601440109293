//! What a token says. Times are Unix seconds. Unknown claims are ignored (a newer minting
//! version may add some); a known claim of the wrong type, or given twice, makes the token
//! malformed.

use serde::{Deserialize, Serialize};

/// What a token may be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Model calls.
    Api,
    /// The admin surfaces (metrics on the main listener, later admin APIs).
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Api => "api",
            Scope::Admin => "admin",
        }
    }
}

/// The period a `budget` covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetWindow {
    Day,
    Month,
    Total,
}

impl BudgetWindow {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetWindow::Day => "day",
            BudgetWindow::Month => "month",
            BudgetWindow::Total => "total",
        }
    }

    /// When the window holding `now` began (Unix seconds, UTC): midnight for `day`, the
    /// first of the month for `month`, 0 for `total` (it never resets).
    pub fn start(self, now: i64) -> i64 {
        let day = now.div_euclid(DAY);
        match self {
            BudgetWindow::Day => day * DAY,
            BudgetWindow::Month => {
                let (y, m, _) = civil_from_days(day);
                days_from_civil(y, m, 1) * DAY
            }
            BudgetWindow::Total => 0,
        }
    }

    /// When the window that began at `start` ends (Unix seconds, UTC); `None` for `total`.
    pub fn end(self, start: i64) -> Option<i64> {
        match self {
            BudgetWindow::Day => Some(start + DAY),
            BudgetWindow::Month => {
                let (y, m, _) = civil_from_days(start.div_euclid(DAY));
                let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                Some(days_from_civil(y, m, 1) * DAY)
            }
            BudgetWindow::Total => None,
        }
    }
}

const DAY: i64 = 86_400;

/// `YYYY-MM-DD HH:MM:SS` UTC of Unix seconds `t` (for messages naming a window's end).
pub fn utc_label(t: i64) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(DAY));
    let s = t.rem_euclid(DAY);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`);
/// the one calendar routine of the workspace (token expiry, budget windows, ledger dates).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` of a day number (the inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// A token's claims.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The issuing account's id (the first 16 characters of its public key).
    pub iss: String,
    /// The token's own id: what revocation names.
    pub jti: String,
    pub iat: u64,
    /// Required; a token without one is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Required; a token without one is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// The name the token was saved under, for logs and the ledger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Model patterns the token may call (see `pattern`); absent: any model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// USD the token may spend per `budget_window`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_window: Option<BudgetWindow>,
    /// Requests per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u32>,
    /// Tokens (input + output) per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u32>,
    /// Requests in flight at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_windows_are_utc_days_and_months() {
        // 2024-02-29 13:45:10 UTC.
        let t = days_from_civil(2024, 2, 29) * DAY + 13 * 3600 + 45 * 60 + 10;
        let day = BudgetWindow::Day.start(t);
        assert_eq!(utc_label(day), "2024-02-29 00:00:00 UTC");
        assert_eq!(
            utc_label(BudgetWindow::Day.end(day).unwrap()),
            "2024-03-01 00:00:00 UTC"
        );
        let month = BudgetWindow::Month.start(t);
        assert_eq!(utc_label(month), "2024-02-01 00:00:00 UTC");
        assert_eq!(
            utc_label(BudgetWindow::Month.end(month).unwrap()),
            "2024-03-01 00:00:00 UTC"
        );
        let dec = days_from_civil(2025, 12, 31) * DAY + 1;
        let end = BudgetWindow::Month
            .end(BudgetWindow::Month.start(dec))
            .unwrap();
        assert_eq!(utc_label(end), "2026-01-01 00:00:00 UTC");
        assert_eq!(BudgetWindow::Total.start(t), 0);
        assert_eq!(BudgetWindow::Total.end(0), None);
        assert_eq!(utc_label(t), "2024-02-29 13:45:10 UTC");
    }
}
