//! `bitrouter init`: the setup wizard. Choose built-in providers, enter their keys (into the
//! `.env` next to the config, mode 0600, never into the YAML), optionally add custom OpenAI- or
//! Anthropic-compatible providers, and write a commented `bitrouter.yaml`. Interactive on a
//! terminal; `--yes` with `--provider`/`--custom` for scripts.

mod wizard;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use compiler::registry::{self, ProviderInfo};

use crate::args::{Global, InitArgs};
use crate::home::template::{self, Endpoint, ProviderEntry};
use crate::home::{self, files};
use crate::output::{self, Hinted};

/// A custom compatible provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Custom {
    pub(crate) name: String,
    /// `openai` or `anthropic`.
    pub(crate) derives: String,
    pub(crate) api_base: String,
    pub(crate) model: Option<String>,
    pub(crate) key_var: String,
}

/// Everything the wizard or the flags decided.
#[derive(Debug, Default)]
pub(crate) struct Choices {
    /// Built-in provider ids, in the order chosen.
    pub(crate) providers: Vec<String>,
    pub(crate) customs: Vec<Custom>,
    /// Keys to store in `.env`. Never printed.
    pub(crate) keys: Vec<(String, String)>,
}

pub(crate) fn run(g: &Global, a: &InitArgs) -> Result<ExitCode> {
    let paths = home::resolve_for_init(g);
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
    write(&registry, &choices, &config, &dir, &env_file, &existing)
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

pub(crate) fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !url.contains(char::is_whitespace) => {
            Ok(())
        }
        _ => Err(format!(
            "`{url}` is not a base URL: it must start with https:// (or http://)"
        )),
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

/// `my-llm` → `MY_LLM_API_KEY`.
pub(crate) fn key_var_for(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{stem}_API_KEY")
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
) -> Choices {
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
    Choices {
        providers,
        customs,
        keys,
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

/// The generated file's providers and starter virtual model.
fn render(registry: &[ProviderInfo], c: &Choices) -> String {
    let mut providers = Vec::new();
    let mut endpoints = Vec::new();
    for id in &c.providers {
        let Some(info) = registry.iter().find(|p| p.id == id) else {
            continue;
        };
        providers.push(ProviderEntry {
            id: id.clone(),
            derives: None,
            api_base: None,
            api_key_ref: info.api_key_ref.map(str::to_owned),
            models: Vec::new(),
        });
        if let Some(m) = info.models.first() {
            endpoints.push(Endpoint {
                provider: id.clone(),
                service_id: (*m).to_owned(),
            });
        }
    }
    for cu in &c.customs {
        providers.push(ProviderEntry {
            id: cu.name.clone(),
            derives: Some(cu.derives.clone()),
            api_base: Some(cu.api_base.clone()),
            api_key_ref: Some(format!("${{{}}}", cu.key_var)),
            models: cu.model.iter().cloned().collect(),
        });
        if let Some(m) = &cu.model {
            endpoints.push(Endpoint {
                provider: cu.name.clone(),
                service_id: m.clone(),
            });
        }
    }
    template::config(&providers, &endpoints)
}

fn write(
    registry: &[ProviderInfo],
    c: &Choices,
    config: &Path,
    dir: &Path,
    env_file: &Path,
    existing: &HashMap<String, String>,
) -> Result<ExitCode> {
    let text = render(registry, c);
    // The file must compile (keys may be unset): a wizard that writes a broken file is a bug.
    let source = compiler::SourceFile::new(config.display().to_string(), text.clone());
    if let Err(d) = compiler::compile(&source, &HashMap::new(), compiler::EnvMode::Lenient) {
        bail!(
            "the generated configuration does not compile:\n{}",
            compiler::diagnostic::render::render_human(&source, &d, false)
        );
    }
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
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    std::fs::write(config, &text)
        .with_context(|| format!("cannot write `{}`", config.display()))?;
    output::message(&format!("wrote {} ({summary})", config.display()));
    if !c.keys.is_empty() || !env_file.exists() {
        files::merge_env(env_file, &c.keys)?;
    }
    if !c.keys.is_empty() {
        let names: Vec<&str> = c.keys.iter().map(|(k, _)| k.as_str()).collect();
        output::message(&format!(
            "saved {} in {} (mode 0600)",
            names.join(", "),
            env_file.display()
        ));
    }
    if let Some(env_dir) = env_file.parent() {
        let env_dir = if env_dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            env_dir
        };
        files::ensure_env_ignored(env_dir)?;
    }
    let unset: Vec<String> = c
        .providers
        .iter()
        .filter_map(|id| registry.iter().find(|p| p.id == id))
        .filter(|p| !p.key_optional)
        .filter_map(|p| p.key_var.map(str::to_owned))
        .chain(c.customs.iter().map(|cu| cu.key_var.clone()))
        .filter(|v| {
            !c.keys.iter().any(|(k, _)| k == v)
                && !existing.contains_key(v)
                && from_process(v).is_none()
        })
        .collect();
    if !unset.is_empty() {
        output::message(&format!(
            "hint: set {} in {} or the environment before `bitrouter serve`",
            unset.join(", "),
            env_file.display()
        ));
    }
    output::message(&format!(
        "next: bitrouter config validate -c {0} && bitrouter serve -c {0}",
        config.display()
    ));
    Ok(ExitCode::SUCCESS)
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

    #[test]
    fn every_combination_renders_a_valid_file() {
        let registry = registry::providers();
        let c = Choices {
            providers: registry.iter().map(|p| p.id.to_owned()).collect(),
            customs: vec![
                parse_custom("moonshot=anthropic:https://api.moonshot.ai/anthropic#kimi-k2")
                    .unwrap(),
            ],
            keys: Vec::new(),
        };
        let text = render(&registry, &c);
        let src = compiler::SourceFile::new("t", text.clone());
        let r = compiler::compile(&src, &HashMap::new(), compiler::EnvMode::Lenient);
        assert!(r.is_ok(), "{text}");
        assert!(
            text.contains("  openai:\n    api_key: ${OPENAI_API_KEY}\n"),
            "{text}"
        );
        assert!(text.contains("  ollama: {}\n"), "{text}");
    }
}
