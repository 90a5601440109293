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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}
