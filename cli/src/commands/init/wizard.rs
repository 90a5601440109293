//! The interactive half of `bitrouter init` (dialoguer prompts on the terminal; keys are read
//! without echo and never printed).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Result, anyhow};
use compiler::registry::ProviderInfo;
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, MultiSelect, Password, Select};

use runtime::home::setup::{Custom, Setup, key_var_for};

use super::{check_name, check_url, check_var, from_process};
use crate::args::InitArgs;

fn cancelled(e: dialoguer::Error) -> anyhow::Error {
    anyhow!("setup cancelled, nothing was written ({e})")
}

pub(super) fn run(
    registry: &[ProviderInfo],
    a: &InitArgs,
    mut customs: Vec<Custom>,
    existing: &HashMap<String, String>,
    env_file: &Path,
) -> Result<Setup> {
    let theme = ColorfulTheme::default();
    let items: Vec<String> = registry
        .iter()
        .map(|p| {
            let key = p.key_var.map_or_else(
                || String::from("no key"),
                |v| {
                    if p.key_optional {
                        format!("{v}, optional")
                    } else {
                        v.to_owned()
                    }
                },
            );
            format!("{:<11} {} ({key})", p.id, p.api_base)
        })
        .collect();
    let defaults: Vec<bool> = registry
        .iter()
        .map(|p| {
            a.providers.iter().any(|id| id == p.id)
                || (a.providers.is_empty()
                    && !p.key_optional
                    && p.key_var.is_some_and(|v| from_process(v).is_some()))
        })
        .collect();
    let picked = MultiSelect::with_theme(&theme)
        .with_prompt("Which providers? (space to select, enter to confirm, esc to cancel)")
        .items(&items)
        .defaults(&defaults)
        .interact_opt()
        .map_err(cancelled)?
        .ok_or_else(|| anyhow!("setup cancelled, nothing was written"))?;
    let providers: Vec<String> = picked
        .iter()
        .filter_map(|&i| registry.get(i))
        .map(|p| p.id.to_owned())
        .collect();

    let mut keys = Vec::new();
    let env_name = env_file.display().to_string();
    for id in &providers {
        let Some(var) = registry.iter().find(|p| p.id == id).and_then(|p| p.key_var) else {
            continue;
        };
        if let Some(k) = ask_key(&theme, var, existing, &env_name)? {
            keys.push((var.to_owned(), k));
        }
    }

    let mut another = Confirm::with_theme(&theme)
        .with_prompt("Add a custom OpenAI- or Anthropic-compatible provider?")
        .default(false)
        .interact()
        .map_err(cancelled)?;
    while another {
        let c = ask_custom(&theme, &providers, &customs)?;
        if let Some(k) = ask_key(&theme, &c.key_var, existing, &env_name)? {
            keys.push((c.key_var.clone(), k));
        }
        customs.push(c);
        another = Confirm::with_theme(&theme)
            .with_prompt("Add another custom provider?")
            .default(false)
            .interact()
            .map_err(cancelled)?;
    }
    let require_keys = a.require_keys
        || Confirm::with_theme(&theme)
            .with_prompt(
                "Require an API key from callers? (yes for a router others can reach; a key is minted for you)",
            )
            .default(false)
            .interact()
            .map_err(cancelled)?;
    Ok(Setup {
        providers,
        customs,
        keys,
        require_keys,
    })
}

/// The key to store for `var`, or `None` to leave `.env` as it is.
fn ask_key(
    theme: &ColorfulTheme,
    var: &str,
    existing: &HashMap<String, String>,
    env_name: &str,
) -> Result<Option<String>> {
    if existing.contains_key(var) {
        let keep = Confirm::with_theme(theme)
            .with_prompt(format!("{var} is already in {env_name}. Keep it?"))
            .default(true)
            .interact()
            .map_err(cancelled)?;
        if keep {
            return Ok(None);
        }
    } else if let Some(v) = from_process(var) {
        let save = Confirm::with_theme(theme)
            .with_prompt(format!(
                "{var} is set in your environment. Save it in {env_name}?"
            ))
            .default(true)
            .interact()
            .map_err(cancelled)?;
        if save {
            return Ok(Some(v));
        }
    }
    let k = Password::with_theme(theme)
        .with_prompt(format!("{var} (hidden; empty to set it later)"))
        .allow_empty_password(true)
        .interact()
        .map_err(cancelled)?;
    let k = k.trim().to_owned();
    Ok(Some(k).filter(|k| !k.is_empty()))
}

fn ask_custom(theme: &ColorfulTheme, providers: &[String], customs: &[Custom]) -> Result<Custom> {
    let taken: Vec<String> = providers
        .iter()
        .cloned()
        .chain(customs.iter().map(|c| c.name.clone()))
        .collect();
    let name: String = Input::with_theme(theme)
        .with_prompt("Provider id (e.g. moonshot)")
        .validate_with(|s: &String| -> Result<(), String> {
            check_name(s)?;
            if taken.contains(s) {
                return Err(format!("`{s}` is already configured"));
            }
            Ok(())
        })
        .interact_text()
        .map_err(cancelled)?;
    let kinds = [
        "openai (OpenAI-compatible)",
        "anthropic (Anthropic-compatible)",
    ];
    let kind = Select::with_theme(theme)
        .with_prompt("Compatible with")
        .items(kinds)
        .default(0)
        .interact()
        .map_err(cancelled)?;
    let derives = if kind == 1 { "anthropic" } else { "openai" };
    let api_base: String = Input::with_theme(theme)
        .with_prompt("Base URL (e.g. https://api.example.com/v1)")
        .validate_with(|s: &String| check_url(s.trim()))
        .interact_text()
        .map_err(cancelled)?;
    let model: String = Input::with_theme(theme)
        .with_prompt("A model id to route to (empty to skip)")
        .allow_empty(true)
        .interact_text()
        .map_err(cancelled)?;
    let key_var: String = Input::with_theme(theme)
        .with_prompt("Key variable")
        .default(key_var_for(&name))
        .validate_with(|s: &String| check_var(s))
        .interact_text()
        .map_err(cancelled)?;
    Ok(Custom {
        name,
        derives: derives.to_owned(),
        api_base: api_base.trim().to_owned(),
        model: Some(model.trim().to_owned()).filter(|m| !m.is_empty()),
        key_var,
    })
}
