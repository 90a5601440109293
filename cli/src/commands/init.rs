//! `bitrouter init`: the setup wizard. Choose built-in providers, enter their keys (into the
//! `.env` next to the config, mode 0600, never into the YAML), optionally add custom OpenAI- or
//! Anthropic-compatible providers, and write a commented `bitrouter.yaml`. Interactive on a
//! terminal; `--yes` with `--provider`/`--custom` for scripts.

mod wizard;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use compiler::registry::{self, ProviderInfo};

use runtime::home::setup::{Custom, Setup, key_var_for};
use runtime::home::template;

use crate::args::{Global, InitArgs};
use crate::output::{self, Hinted};

pub(crate) fn run(g: &Global, a: &InitArgs) -> Result<ExitCode> {
    run_at(runtime::home::resolve_for_init(&super::home_options(g)), a)
}

/// `init` writing into `paths` (bare `bitrouter` passes the home it will serve from).
pub(crate) fn run_at(paths: runtime::Paths, a: &InitArgs) -> Result<ExitCode> {
    let config = paths.config.clone();
    let dir = match config.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let env_file = if paths.env_explicit {
        paths.env_file.clone()
    } else {
        dir.join(".env")
    };
    check_overwrite(&config, a.force)?;
    let registry = registry::providers();
    for id in &a.providers {
        if !registry.iter().any(|p| p.id == id) {
            let known: Vec<&str> = registry.iter().map(|p| p.id).collect();
            return Err(Hinted::wrap(
                anyhow!("`{id}` is not a built-in provider"),
                format!(
                    "built-in providers: {}; add any other compatible service with `--custom NAME=openai:BASE_URL`",
                    known.join(", ")
                ),
            ));
        }
    }
    let mut customs = Vec::new();
    for spec in &a.custom {
        customs.push(parse_custom(spec)?);
    }
    let existing = existing_env(&env_file);
    let choices = if a.yes {
        scripted(&registry, a, customs, &existing)
    } else {
        if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return Err(Hinted::wrap(
                anyhow!("`bitrouter init` is interactive and the input is not a terminal"),
                "run it non-interactively: `bitrouter init --yes --provider openai` (keys come from the environment)",
            ));
        }
        wizard::run(&registry, a, customs, &existing, &env_file)?
    };
    write(&registry, &choices, &config, &env_file, &existing)
}

/// Refuse to replace a configuration, unless it is the untouched starter of a scaffolded home.
fn check_overwrite(config: &Path, force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    match std::fs::read_to_string(config) {
        Ok(text) if text == template::config(&[], &[]) => Ok(()),
        Ok(_) => Err(Hinted::wrap(
            anyhow!("`{}` already exists", config.display()),
            "pass `--force` to replace it (the .env file is merged, never truncated), or `-c PATH` to write elsewhere",
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", config.display())),
    }
}

/// `NAME=openai|anthropic:BASE_URL[#MODEL]`.
fn parse_custom(spec: &str) -> Result<Custom> {
    let hint = "write `--custom NAME=openai:BASE_URL` or `--custom NAME=anthropic:BASE_URL#MODEL`";
    let parsed = spec.split_once('=').and_then(|(name, rest)| {
        let (kind, url) = rest.split_once(':')?;
        let (url, model) = match url.split_once('#') {
            Some((u, m)) => (u, Some(m.trim().to_owned()).filter(|m| !m.is_empty())),
            None => (url, None),
        };
        Some((name.trim(), kind.trim(), url.trim(), model))
    });
    let Some((name, kind, url, model)) = parsed else {
        return Err(Hinted::wrap(anyhow!("invalid `--custom {spec}`"), hint));
    };
    check_name(name).map_err(|e| Hinted::wrap(anyhow!(e), hint))?;
    check_kind(kind).map_err(|e| Hinted::wrap(anyhow!(e), hint))?;
    check_url(url).map_err(|e| Hinted::wrap(anyhow!(e), hint))?;
    Ok(Custom {
        name: name.to_owned(),
        derives: kind.to_owned(),
        api_base: url.to_owned(),
        model,
        key_var: key_var_for(name),
    })
}

pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a provider id: use lowercase letters, digits, `-` and `_`, starting with a letter"
        ))
    }
}

fn check_kind(kind: &str) -> Result<(), String> {
    match kind {
        "openai" | "anthropic" => Ok(()),
        _ => Err(format!(
            "`{kind}` is not a compatible protocol family: use `openai` or `anthropic`"
        )),
    }
}

/// The compiler's own rule (`upstream_url::check`; private addresses get `allow_private`).
pub(crate) fn check_url(url: &str) -> Result<(), String> {
    use compiler::upstream_url::{UrlProblem, check};
    match check(url, true) {
        Ok(_) | Err(UrlProblem::Private(_)) => Ok(()),
        Err(UrlProblem::Invalid(why) | UrlProblem::Forbidden(why)) => {
            Err(format!("`{url}` is not a base URL for an upstream: {why}"))
        }
    }
}

pub(crate) fn check_var(var: &str) -> Result<(), String> {
    let ok = var
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && var
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{var}` is not a variable name: use A-Z, 0-9 and `_`"
        ))
    }
}

/// The variables the target `.env` already sets.
fn existing_env(path: &Path) -> HashMap<String, String> {
    dotenvy::from_path_iter(path)
        .map(|it| it.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

/// A non-empty value of `var` in the process environment.
pub(crate) fn from_process(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

/// `--yes`: the named providers, or, when none are named, every built-in whose key is already
/// set; keys come from the process environment.
fn scripted(
    registry: &[ProviderInfo],
    a: &InitArgs,
    customs: Vec<Custom>,
    existing: &HashMap<String, String>,
) -> Setup {
    let providers: Vec<String> = if a.providers.is_empty() && customs.is_empty() {
        registry
            .iter()
            .filter(|p| {
                p.key_var.is_some_and(|v| {
                    !p.key_optional && (from_process(v).is_some() || existing.contains_key(v))
                })
            })
            .map(|p| p.id.to_owned())
            .collect()
    } else {
        dedup(&a.providers)
    };
    let vars = providers
        .iter()
        .filter_map(|id| registry.iter().find(|p| p.id == id).and_then(|p| p.key_var))
        .map(str::to_owned)
        .chain(customs.iter().map(|c| c.key_var.clone()));
    let keys = vars
        .filter_map(|v| from_process(&v).map(|val| (v, val)))
        .collect();
    Setup {
        providers,
        customs,
        keys,
        require_keys: a.require_keys,
    }
}

fn dedup(ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

fn write(
    registry: &[ProviderInfo],
    c: &Setup,
    config: &Path,
    env_file: &Path,
    existing: &HashMap<String, String>,
) -> Result<ExitCode> {
    c.write(registry, config, env_file)?;
    let names: Vec<&str> = c
        .providers
        .iter()
        .map(String::as_str)
        .chain(c.customs.iter().map(|cu| cu.name.as_str()))
        .collect();
    let summary = if names.is_empty() {
        String::from("the commented starter: no providers yet")
    } else {
        format!("providers: {}", names.join(", "))
    };
    output::message(&format!("wrote {} ({summary})", config.display()));
    if !c.keys.is_empty() {
        let names: Vec<&str> = c.keys.iter().map(|(k, _)| k.as_str()).collect();
        output::message(&format!(
            "saved {} in {} (mode 0600)",
            names.join(", "),
            env_file.display()
        ));
    }
    let unset = c.unset_keys(registry, existing, |v| from_process(v).is_some());
    if !unset.is_empty() {
        output::message(&format!(
            "hint: set {} in {} or the environment before `bitrouter serve`",
            unset.join(", "),
            env_file.display()
        ));
    }
    if c.require_keys {
        first_key(&parent(config))?;
    }
    output::message(&format!(
        "next: bitrouter config validate -c {0} && bitrouter serve -c {0}",
        config.display()
    ));
    Ok(ExitCode::SUCCESS)
}

fn parent(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `init --require-keys`: an account (when the home has none) and a first key, `default`,
/// printed once on stdout.
fn first_key(home: &Path) -> Result<()> {
    let keys = runtime::keys::Keys::at(home);
    let account = match keys.list()?.into_iter().find(|a| a.active) {
        Some(a) => a,
        None => {
            let a = keys.generate(Some("default"))?;
            output::message(&format!(
                "created account {} in {} (it signs your API keys)",
                a.id,
                keys.dir().display()
            ));
            a
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = if keys.token("default").is_ok() {
        format!("default-{now}")
    } else {
        "default".to_owned()
    };
    let spec = runtime::keys::TokenSpec {
        scope: auth::Scope::Api,
        exp: now + 30 * 86_400,
        models: None,
        budget: None,
        budget_window: None,
        rpm: None,
        tpm: None,
        concurrency: None,
        name: Some(name.clone()),
    };
    let minted = keys.mint(&spec, 365 * 86_400, now)?;
    output::data(&minted.token);
    output::message(&format!(
        "minted an API key `{name}` for callers (30 days, signed by {}); it is saved under {} —          `bitrouter keygen` mints more",
        account.id,
        keys.dir().display()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_specs_parse_and_reject_mistakes() {
        let c =
            parse_custom("moonshot=anthropic:https://api.moonshot.ai/anthropic#kimi-k2").unwrap();
        assert_eq!(
            c,
            Custom {
                name: "moonshot".into(),
                derives: "anthropic".into(),
                api_base: "https://api.moonshot.ai/anthropic".into(),
                model: Some("kimi-k2".into()),
                key_var: "MOONSHOT_API_KEY".into(),
            }
        );
        assert_eq!(
            parse_custom("my-llm=openai:http://10.0.0.2:8000/v1")
                .unwrap()
                .model,
            None
        );
        for bad in [
            "noequals",
            "x=gemini:https://a",
            "x=openai:ftp://a",
            "X=openai:https://a",
            "x=openai",
        ] {
            assert!(parse_custom(bad).is_err(), "{bad}");
        }
    }
}
