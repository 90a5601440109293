//! What `bitrouter init` decided, turned into files: the generated `bitrouter.yaml` (checked by
//! compiling it), keys merged into `.env` (mode 0600), `.env` kept out of version control. The
//! prompts and flags that make the decisions live in the CLI.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use compiler::Diagnostic;
use compiler::registry::ProviderInfo;

use super::files::{self, FileError};
use super::template::{self, Endpoint, ProviderEntry};

/// A custom OpenAI- or Anthropic-compatible provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Custom {
    pub name: String,
    /// `openai` or `anthropic`.
    pub derives: String,
    pub api_base: String,
    pub model: Option<String>,
    pub key_var: String,
}

/// Everything the wizard or the flags decided.
#[derive(Debug, Default)]
pub struct Setup {
    /// Built-in provider ids, in the order chosen.
    pub providers: Vec<String>,
    pub customs: Vec<Custom>,
    /// Keys to store in `.env`. Never printed.
    pub keys: Vec<(String, String)>,
    /// `skip_auth: false`: callers need a key minted by `bitrouter keygen`.
    pub require_keys: bool,
}

/// `my-llm` → `MY_LLM_API_KEY`: the key variable a custom provider gets by default.
pub fn key_var_for(name: &str) -> String {
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

/// Why the setup was not written.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A bug: the generated text must always compile (keys may be unset).
    #[error("the generated configuration does not compile:\n{rendered}")]
    Generated {
        rendered: String,
        diagnostics: Vec<Diagnostic>,
    },
    #[error(transparent)]
    File(#[from] FileError),
}

impl Setup {
    /// The configuration text: the chosen providers and a starter virtual model `default`
    /// over the first model of each.
    pub fn render(&self, registry: &[ProviderInfo]) -> String {
        let mut providers = Vec::new();
        let mut endpoints = Vec::new();
        for id in &self.providers {
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
        for cu in &self.customs {
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
        let text = template::config(&providers, &endpoints);
        if self.require_keys {
            template::require_keys(&text)
        } else {
            text
        }
    }

    /// Writes the configuration to `config` (creating its directory), merges the keys into
    /// `env_file` (creating it when missing) and makes sure `.env` is ignored beside it.
    pub fn write(
        &self,
        registry: &[ProviderInfo],
        config: &Path,
        env_file: &Path,
    ) -> Result<(), SetupError> {
        let text = self.render(registry);
        let source = compiler::SourceFile::new(config.display().to_string(), text.as_str());
        if let Err(diagnostics) =
            compiler::compile(&source, &HashMap::new(), compiler::EnvMode::Lenient)
        {
            let rendered = compiler::diagnostic::render::render_human(&source, &diagnostics, false);
            return Err(SetupError::Generated {
                rendered,
                diagnostics,
            });
        }
        let dir = parent(config);
        std::fs::create_dir_all(&dir).map_err(|e| FileError::new("create", &dir, e))?;
        std::fs::write(config, &text).map_err(|e| FileError::new("write", config, e))?;
        if !self.keys.is_empty() || !env_file.exists() {
            files::merge_env(env_file, &self.keys)?;
        }
        files::ensure_env_ignored(&parent(env_file))?;
        Ok(())
    }

    /// The key variables the chosen providers need that neither the setup, the `.env` file
    /// (`existing`) nor `is_set` (the process environment) provides.
    pub fn unset_keys(
        &self,
        registry: &[ProviderInfo],
        existing: &HashMap<String, String>,
        is_set: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        self.providers
            .iter()
            .filter_map(|id| registry.iter().find(|p| p.id == id))
            .filter(|p| !p.key_optional)
            .filter_map(|p| p.key_var.map(str::to_owned))
            .chain(self.customs.iter().map(|cu| cu.key_var.clone()))
            .filter(|v| {
                !self.keys.iter().any(|(k, _)| k == v) && !existing.contains_key(v) && !is_set(v)
            })
            .collect()
    }
}

/// The directory a file is in (`.` for a bare file name).
fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combination_renders_a_valid_file() {
        let registry = compiler::registry::providers();
        let setup = Setup {
            providers: registry.iter().map(|p| p.id.to_owned()).collect(),
            customs: vec![Custom {
                name: "moonshot".into(),
                derives: "anthropic".into(),
                api_base: "https://api.moonshot.ai/anthropic".into(),
                model: Some("kimi-k2".into()),
                key_var: key_var_for("moonshot"),
            }],
            keys: Vec::new(),
            require_keys: false,
        };
        let text = setup.render(&registry);
        let src = compiler::SourceFile::new("t", text.clone());
        let r = compiler::compile(&src, &HashMap::new(), compiler::EnvMode::Lenient);
        assert!(r.is_ok(), "{text}");
        assert!(
            text.contains("  openai:\n    api_key: ${OPENAI_API_KEY}\n"),
            "{text}"
        );
        assert!(text.contains("  ollama: {}\n"), "{text}");
        assert!(text.contains("${MOONSHOT_API_KEY}"), "{text}");
        assert_eq!(key_var_for("my-llm"), "MY_LLM_API_KEY");
    }
}
