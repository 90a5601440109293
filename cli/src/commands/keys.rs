//! `bitrouter account`, `keygen` and `keys`: accounts that sign API keys, minting keys, and the
//! saved keys (all in `runtime::keys`; this module maps flags and prints). A secret account key
//! is never printed; a minted API key is printed once, on stdout alone, so
//! `KEY=$(bitrouter keygen --exp 30d)` works.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use auth::{BudgetWindow, Scope};
use compiler::EnvMode;
use runtime::LoadOptions;
use runtime::keys::{Account, Keys, KeysError, Saved, TokenSpec, format_utc, parse_expiry};
use serde_json::json;

use crate::args::{AccountArgs, Global, KeyScope, KeygenArgs, KeysArgs, Window};
use crate::output::{self, Hinted};

fn store(g: &Global) -> Keys {
    Keys::at(&super::paths(g).home)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A keys error with the hint that helps.
fn explain(e: KeysError) -> anyhow::Error {
    let hint = match &e {
        KeysError::NoAccount => Some("create one with `bitrouter account --generate`"),
        KeysError::UnknownAccount(_) | KeysError::Ambiguous(_) => {
            Some("`bitrouter account --list` shows the ids and labels")
        }
        KeysError::UnknownToken(_) => Some("`bitrouter keys --list` shows the saved keys"),
        KeysError::TokenExists(_) => {
            Some("choose another `--name`, or `bitrouter keys --rm` the old one")
        }
        KeysError::LifetimeTooLong { .. } => {
            Some("choose an earlier `--exp`, or raise `server.auth.max_token_lifetime`")
        }
        _ => None,
    };
    match hint {
        Some(h) => Hinted::wrap(e, h),
        None => e.into(),
    }
}

pub(crate) fn account(g: &Global, a: &AccountArgs) -> Result<ExitCode> {
    let keys = store(g);
    if a.generate {
        let acc = keys.generate(a.name.as_deref()).map_err(explain)?;
        if a.json {
            output::data(&serde_json::to_string_pretty(&acc)?);
        } else {
            output::data(&format!(
                "created account {}{} and made it active\n  public key: {}\n  stored in:  {} (secret key mode 0600)",
                acc.id,
                label(&acc),
                acc.public_key,
                keys.dir().join(&acc.id).display()
            ));
            output::message("next: mint an API key with `bitrouter keygen --exp 30d --name NAME`");
        }
    } else if let Some(sel) = &a.set {
        let acc = keys.set_active(sel).map_err(explain)?;
        if a.json {
            output::data(&serde_json::to_string_pretty(&acc)?);
        } else {
            output::data(&format!("active account: {}{}", acc.id, label(&acc)));
        }
    } else if let Some(sel) = &a.export_public {
        let acc = keys.find(sel).map_err(explain)?;
        if a.json {
            output::data(&json!({"id": acc.id, "public_key": acc.public_key}).to_string());
        } else {
            output::data(&acc.public_key);
        }
    } else {
        let all = keys.list().map_err(explain)?;
        if a.json {
            output::data(&serde_json::to_string_pretty(&all)?);
        } else if all.is_empty() {
            output::message(&format!(
                "no accounts in `{}`\nhint: create one with `bitrouter account --generate`",
                keys.dir().display()
            ));
        } else {
            let mut o = String::new();
            for acc in &all {
                let _ = writeln!(
                    o,
                    "{} {}{}  {}",
                    if acc.active { "*" } else { " " },
                    acc.id,
                    label(acc),
                    acc.public_key
                );
            }
            output::data(&o);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn label(a: &Account) -> String {
    a.label
        .as_ref()
        .map_or_else(String::new, |l| format!(" ({l})"))
}

/// `server.auth.max_token_lifetime` of this home's configuration (seconds); the default when
/// it does not compile (with a warning: the key may then be refused by the router).
fn max_lifetime(g: &Global) -> u64 {
    let loaded = runtime::config::load(&super::paths(g), LoadOptions::new(EnvMode::Lenient));
    match loaded.as_ref().ok().and_then(|l| l.table()) {
        Some(t) => t.server().auth.max_token_lifetime.as_secs(),
        None => {
            output::message(
                "warning: the configuration does not compile; using the default limit of 365d for the key's lifetime",
            );
            365 * 86_400
        }
    }
}

pub(crate) fn keygen(g: &Global, a: &KeygenArgs) -> Result<ExitCode> {
    let now = now();
    let exp = parse_expiry(&a.exp, now)
        .map_err(|m| Hinted::wrap(anyhow::anyhow!("invalid `--exp`: {m}"), "e.g. `--exp 30d`"))?;
    let spec = TokenSpec {
        scope: match a.scope {
            KeyScope::Api => Scope::Api,
            KeyScope::Admin => Scope::Admin,
        },
        exp,
        models: (!a.models.is_empty()).then(|| a.models.clone()),
        budget: a.budget,
        budget_window: a.budget_window.map(|w| match w {
            Window::Day => BudgetWindow::Day,
            Window::Month => BudgetWindow::Month,
            Window::Total => BudgetWindow::Total,
        }),
        rpm: a.rpm,
        tpm: a.tpm,
        concurrency: a.concurrency,
        name: a.name.clone(),
    };
    if let Some(m) = spec
        .models
        .iter()
        .flatten()
        .find(|m| !auth::pattern::valid(m))
    {
        return Err(Hinted::wrap(
            anyhow::anyhow!("`{m}` is not a model pattern"),
            "patterns are printable, without spaces, e.g. `gpt-*,smart`",
        ));
    }
    if spec.budget.is_some_and(|b| !b.is_finite() || b < 0.0) {
        return Err(anyhow::anyhow!(
            "`--budget` must be a non-negative number of USD"
        ));
    }
    let minted = store(g)
        .mint(&spec, max_lifetime(g), now)
        .map_err(explain)?;
    if a.json {
        output::data(&serde_json::to_string_pretty(&json!({
            "token": minted.token,
            "account": minted.account,
            "claims": minted.claims,
            "saved": minted.saved,
        }))?);
    } else {
        output::data(&minted.token);
        let saved = minted
            .saved
            .as_ref()
            .map_or_else(String::new, |p| format!("; saved as `{}`", p.display()));
        output::message(&format!(
            "minted an API key (scope {}, id {}, expires {}) signed by account {}{saved}",
            spec.scope.as_str(),
            minted.claims.jti,
            format_utc(exp),
            minted.account
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn keys(g: &Global, a: &KeysArgs) -> Result<ExitCode> {
    let keys = store(g);
    let now = now();
    if let Some(name) = &a.show {
        let t = keys.token(name).map_err(explain)?;
        if a.json {
            let mut v = serde_json::to_value(&t)?;
            v["token"] = json!(t.token);
            output::data(&serde_json::to_string_pretty(&v)?);
        } else {
            output::data(&format!("{}{}", describe(&t, now), t.token));
        }
    } else if let Some(name) = &a.rm {
        let t = keys.remove(name).map_err(explain)?;
        if a.json {
            output::data(&json!({"removed": t.name}).to_string());
        } else {
            output::data(&format!("removed the saved key `{}`", t.name));
            if !t.revoked && t.expires.is_some_and(|e| e > now) {
                output::message(&format!(
                    "note: the key itself stays valid until {}; revoke it in the configuration's `server.auth.revoked_jti` if it leaked",
                    t.expires.map(format_utc).unwrap_or_default()
                ));
            }
        }
    } else if let Some(name) = &a.revoke {
        let t = keys.revoke(name).map_err(explain)?;
        let jti = t.claims.as_ref().map(|c| c.jti.clone()).unwrap_or_default();
        if a.json {
            output::data(&json!({"revoked": t.name, "jti": jti}).to_string());
        } else {
            output::data(&format!("revoked the key `{}` (id {jti})", t.name));
            output::message(
                "routers refuse it from their next reload on: run `bitrouter reload` (other \
                 replicas: add the id to `server.auth.revoked_jti`)",
            );
        }
    } else {
        let all = keys.tokens().map_err(explain)?;
        if a.json {
            output::data(&serde_json::to_string_pretty(&all)?);
        } else if all.is_empty() {
            output::message(
                "no saved keys\nhint: `bitrouter keygen --exp 30d --name NAME` mints and saves one",
            );
        } else {
            let mut o = String::new();
            for t in &all {
                let _ = writeln!(o, "{:<20} {}", t.name, state(t, now));
            }
            output::data(&o);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `valid, expires …` / `EXPIRED …` / `REVOKED`, with scope and models.
fn state(t: &Saved, now: u64) -> String {
    let Some(c) = &t.claims else {
        return "unreadable".into();
    };
    let when = match t.expires {
        _ if t.revoked => "REVOKED".to_owned(),
        Some(e) if e <= now => format!("EXPIRED {}", format_utc(e)),
        Some(e) => format!("valid until {} ({} left)", format_utc(e), left(e - now)),
        None => "no expiry (refused by routers)".to_owned(),
    };
    let scope = c.scope.map_or("none", Scope::as_str);
    let models = c.models.as_ref().map_or_else(
        || "any model".to_owned(),
        |m| format!("models {}", m.join(",")),
    );
    let mut limits = String::new();
    for (name, v) in [
        ("rpm", c.rpm),
        ("tpm", c.tpm),
        ("concurrency", c.concurrency),
    ] {
        if let Some(v) = v {
            let _ = write!(limits, "; {name} {v}");
        }
    }
    format!(
        "{when}; scope {scope}; {models}{limits}; account {}",
        t.account
    )
}

fn left(secs: u64) -> String {
    match secs {
        s if s >= 86_400 => format!("{}d", s / 86_400),
        s if s >= 3600 => format!("{}h", s / 3600),
        s => format!("{}m", s.div_ceil(60)),
    }
}

fn describe(t: &Saved, now: u64) -> String {
    let mut o = format!("{}: {}\n", t.name, state(t, now));
    if let Some(c) = &t.claims {
        let _ = writeln!(o, "  id:      {}", c.jti);
        let _ = writeln!(o, "  issued:  {}", format_utc(c.iat));
        if let Some(b) = c.budget {
            let w = c.budget_window.map_or("total", BudgetWindow::as_str);
            let _ = writeln!(o, "  budget:  {b} USD per {w}");
        }
        if let Some(r) = c.rpm {
            let _ = writeln!(o, "  rpm:     {r}");
        }
        if let Some(t) = c.tpm {
            let _ = writeln!(o, "  tpm:     {t}");
        }
        if let Some(n) = c.concurrency {
            let _ = writeln!(o, "  concurrency: {n}");
        }
    }
    o.push_str("  key:     ");
    o
}
