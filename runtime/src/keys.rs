//! Accounts and tokens on disk, under `<home>/.keys` (SPEC §4; the CLI's `account`, `keygen`
//! and `keys`): one directory per account (`<id>/public`, `<id>/secret` mode 0600, `<id>/label`,
//! `<id>/tokens/<name>` mode 0600), the active account's id in `active`, and revoked token ids
//! in `revoked`, one per line. Directories are 0700. A secret key is never printed or returned
//! by any function here except to sign.
//!
//! [`Keys::trust`] is what a daemon believes: every account's public key and the revocation
//! file, read at start and on every reload.

mod expiry;
mod files;

use std::path::{Path, PathBuf};

use auth::{AccountKey, BudgetWindow, Claims, PublicKey, Scope, Trust};

pub use expiry::{format_utc, parse_expiry};
use files::{read_text, write_private};

/// The `.keys` directory of a home.
#[derive(Clone, Debug)]
pub struct Keys {
    dir: PathBuf,
}

/// An account as listed (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    pub id: String,
    pub label: Option<String>,
    pub public_key: String,
    pub active: bool,
}

/// What `keygen` mints.
#[derive(Clone, Debug)]
pub struct TokenSpec {
    pub scope: Scope,
    /// Unix seconds.
    pub exp: u64,
    pub models: Option<Vec<String>>,
    pub budget: Option<f64>,
    pub budget_window: Option<BudgetWindow>,
    pub rpm: Option<u32>,
    /// Tokens (input + output) per minute.
    pub tpm: Option<u32>,
    /// Requests in flight at once.
    pub concurrency: Option<u32>,
    pub name: Option<String>,
}

/// A minted token.
#[derive(Clone, Debug)]
pub struct Minted {
    pub token: String,
    pub claims: Claims,
    pub account: String,
    /// Where it was saved (`--name`).
    pub saved: Option<PathBuf>,
}

/// A saved token and what it says.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Saved {
    pub name: String,
    pub account: String,
    pub claims: Option<Claims>,
    pub revoked: bool,
    /// Unix seconds; `None` when its claims cannot be read.
    pub expires: Option<u64>,
    #[serde(skip)]
    pub token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("cannot {what} `{path}`")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no account yet")]
    NoAccount,
    #[error("no account matches `{0}`")]
    UnknownAccount(String),
    #[error("`{0}` matches more than one account")]
    Ambiguous(String),
    #[error("no saved token named `{0}`")]
    UnknownToken(String),
    #[error("a token named `{0}` is saved already")]
    TokenExists(String),
    #[error("`{0}` is not a valid name: use letters, digits, `-`, `_` and `.`, at most 64")]
    BadName(String),
    #[error("the account `{id}` is damaged: {why}")]
    Damaged { id: String, why: String },
    #[error(
        "the key would live {}, longer than `server.auth.max_token_lifetime` allows ({})",
        lifetime(*asked),
        lifetime(*max)
    )]
    LifetimeTooLong { asked: u64, max: u64 },
    #[error("the expiry is in the past")]
    Expired,
    #[error("the OS random source failed: {0}")]
    Random(String),
}

impl Keys {
    pub fn at(home: &Path) -> Keys {
        Keys {
            dir: home.join(".keys"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn revoked_file(&self) -> PathBuf {
        self.dir.join("revoked")
    }

    /// A new keypair; it becomes the active account.
    pub fn generate(&self, label: Option<&str>) -> Result<Account, KeysError> {
        if let Some(l) = label {
            check_name(l)?;
        }
        let key = AccountKey::generate().map_err(|e| KeysError::Random(e.to_string()))?;
        let public = key.public();
        let id = public.id();
        let dir = self.dir.join(&id);
        files::private_dir(&self.dir)?;
        files::private_dir(&dir)?;
        write_private(&dir.join("secret"), &key.encode_secret())?;
        files::write(&dir.join("public"), &format!("{}\n", public.encode()))?;
        if let Some(l) = label {
            files::write(&dir.join("label"), &format!("{l}\n"))?;
        }
        self.set_active_id(&id)?;
        Ok(Account {
            id,
            label: label.map(str::to_owned),
            public_key: public.encode(),
            active: true,
        })
    }

    /// Every account, sorted by id.
    pub fn list(&self) -> Result<Vec<Account>, KeysError> {
        let active = self.active_id()?;
        let mut out = Vec::new();
        for id in files::subdirs(&self.dir)? {
            let dir = self.dir.join(&id);
            let Some(public) = read_text(&dir.join("public"))? else {
                continue;
            };
            let public = public.trim().to_owned();
            let label = read_text(&dir.join("label"))?.map(|l| l.trim().to_owned());
            out.push(Account {
                active: active.as_deref() == Some(id.as_str()),
                id,
                label,
                public_key: public,
            });
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The account `selector` names: an id prefix or a label.
    pub fn find(&self, selector: &str) -> Result<Account, KeysError> {
        let all = self.list()?;
        if let Some(a) = all.iter().find(|a| a.label.as_deref() == Some(selector)) {
            return Ok(a.clone());
        }
        let hits: Vec<&Account> = all.iter().filter(|a| a.id.starts_with(selector)).collect();
        match hits.as_slice() {
            [] => Err(KeysError::UnknownAccount(selector.to_owned())),
            [one] => Ok((*one).clone()),
            _ => Err(KeysError::Ambiguous(selector.to_owned())),
        }
    }

    pub fn set_active(&self, selector: &str) -> Result<Account, KeysError> {
        let mut a = self.find(selector)?;
        self.set_active_id(&a.id)?;
        a.active = true;
        Ok(a)
    }

    fn set_active_id(&self, id: &str) -> Result<(), KeysError> {
        files::write(&self.dir.join("active"), &format!("{id}\n"))
    }

    fn active_id(&self) -> Result<Option<String>, KeysError> {
        Ok(read_text(&self.dir.join("active"))?
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()))
    }

    /// The active account and its secret key.
    fn active_key(&self) -> Result<(String, AccountKey), KeysError> {
        let id = self.active_id()?.ok_or(KeysError::NoAccount)?;
        let secret =
            read_text(&self.dir.join(&id).join("secret"))?.ok_or_else(|| KeysError::Damaged {
                id: id.clone(),
                why: "its secret key file is missing".into(),
            })?;
        let key = AccountKey::parse_secret(&secret).map_err(|why| KeysError::Damaged {
            id: id.clone(),
            why,
        })?;
        if key.public().id() != id {
            return Err(KeysError::Damaged {
                id,
                why: "its secret key does not match its id".into(),
            });
        }
        Ok((id, key))
    }

    /// Signs a token with the active account. `max_lifetime` is the configuration's
    /// `server.auth.max_token_lifetime` (seconds); `now` Unix seconds.
    pub fn mint(&self, spec: &TokenSpec, max_lifetime: u64, now: u64) -> Result<Minted, KeysError> {
        if spec.exp <= now {
            return Err(KeysError::Expired);
        }
        let asked = spec.exp - now;
        if asked > max_lifetime {
            return Err(KeysError::LifetimeTooLong {
                asked,
                max: max_lifetime,
            });
        }
        if let Some(n) = &spec.name {
            check_name(n)?;
        }
        let (account, key) = self.active_key()?;
        let path = spec
            .name
            .as_ref()
            .map(|n| self.dir.join(&account).join("tokens").join(n));
        if let Some(p) = &path
            && p.exists()
        {
            return Err(KeysError::TokenExists(
                spec.name.clone().unwrap_or_default(),
            ));
        }
        let claims = Claims {
            iss: account.clone(),
            jti: auth::new_jti().map_err(|e| KeysError::Random(e.to_string()))?,
            iat: now,
            exp: Some(spec.exp),
            nbf: None,
            scope: Some(spec.scope),
            name: spec.name.clone(),
            models: spec.models.clone(),
            budget: spec.budget,
            budget_window: spec.budget_window,
            rpm: spec.rpm,
            tpm: spec.tpm,
            concurrency: spec.concurrency,
        };
        let token = auth::mint(&key, &claims);
        if let Some(p) = &path {
            if let Some(dir) = p.parent() {
                files::private_dir(dir)?;
            }
            write_private(p, &format!("{token}\n"))?;
        }
        Ok(Minted {
            token,
            claims,
            account,
            saved: path,
        })
    }

    /// Every saved token of every account, by account then name.
    pub fn tokens(&self) -> Result<Vec<Saved>, KeysError> {
        let revoked = self.revoked()?;
        let mut out = Vec::new();
        for account in files::subdirs(&self.dir)? {
            let dir = self.dir.join(&account).join("tokens");
            let mut names = files::files(&dir)?;
            names.sort();
            for name in names {
                let token = read_text(&dir.join(&name))?
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                let claims = auth::peek(&token).ok();
                out.push(Saved {
                    revoked: claims.as_ref().is_some_and(|c| revoked.contains(&c.jti)),
                    expires: claims.as_ref().and_then(|c| c.exp),
                    claims,
                    name,
                    account: account.clone(),
                    token,
                });
            }
        }
        Ok(out)
    }

    /// The saved token `name` (of any account; the active one's first).
    pub fn token(&self, name: &str) -> Result<Saved, KeysError> {
        let active = self.active_id()?;
        let mut hits: Vec<Saved> = self
            .tokens()?
            .into_iter()
            .filter(|t| t.name == name)
            .collect();
        hits.sort_by_key(|t| Some(&t.account) != active.as_ref());
        hits.into_iter()
            .next()
            .ok_or_else(|| KeysError::UnknownToken(name.to_owned()))
    }

    /// Deletes the saved token file (the token stays valid until it expires or is revoked).
    pub fn remove(&self, name: &str) -> Result<Saved, KeysError> {
        let t = self.token(name)?;
        let path = self.dir.join(&t.account).join("tokens").join(&t.name);
        std::fs::remove_file(&path).map_err(|source| KeysError::Io {
            what: "remove",
            path,
            source,
        })?;
        Ok(t)
    }

    /// Adds the saved token's id to the revocation file; a daemon refuses it from its next
    /// reload on.
    pub fn revoke(&self, name: &str) -> Result<Saved, KeysError> {
        let mut t = self.token(name)?;
        let jti = t
            .claims
            .as_ref()
            .map(|c| c.jti.clone())
            .ok_or_else(|| KeysError::Damaged {
                id: t.account.clone(),
                why: format!("the saved token `{name}` cannot be read"),
            })?;
        if !self.revoked()?.contains(&jti) {
            files::private_dir(&self.dir)?;
            files::append(&self.revoked_file(), &format!("{jti}\n"))?;
        }
        t.revoked = true;
        Ok(t)
    }

    /// Revoked token ids (`#` starts a comment).
    pub fn revoked(&self) -> Result<Vec<String>, KeysError> {
        Ok(read_text(&self.revoked_file())?
            .unwrap_or_default()
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// What a daemon believes: every account's public key, and the revocation file. A damaged
    /// account is an error: a router must not silently stop trusting an issuer.
    pub fn trust(&self) -> Result<Trust, KeysError> {
        let mut trust = Trust::default();
        for a in self.list()? {
            let key = PublicKey::parse(&a.public_key).map_err(|why| KeysError::Damaged {
                id: a.id.clone(),
                why: format!("its public key: {why}"),
            })?;
            if key.id() != a.id {
                return Err(KeysError::Damaged {
                    id: a.id,
                    why: "its public key does not match its id".into(),
                });
            }
            trust.trust(key);
        }
        for j in self.revoked()? {
            trust.revoke(j);
        }
        Ok(trust)
    }
}

/// `400d`, `12h`, `5m` or `90s`: the largest unit that divides the span.
fn lifetime(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn check_name(n: &str) -> Result<(), KeysError> {
    let ok = !n.is_empty()
        && n.len() <= 64
        && !n.starts_with('.')
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(KeysError::BadName(n.to_owned()))
    }
}

#[cfg(test)]
mod tests;
