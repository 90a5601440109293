//! The built-in provider registry: `registry/providers.yaml`, compiled into the binary and read
//! with the same parser as a user's file.

use std::sync::OnceLock;

use crate::ast;
use crate::diagnostic::Diagnostics;
use crate::source::SourceFile;
use crate::syntax;

/// The registry text, as shipped.
pub const TEXT: &str = include_str!("registry/providers.yaml");

/// The day the registry's prices were recorded from the providers' public list prices (the
/// header of `registry/providers.yaml` says the same; a test holds them together). Costs
/// of models without `pricing` in the user's file are only as current as this.
pub const PRICES_AS_OF: &str = "2026-11-21";

/// The name diagnostics would use for a value written in the registry.
pub const NAME: &str = "<built-in registry>";

/// The parsed registry. Environment references in it stay unexpanded: they are expanded only
/// for providers a configuration uses.
pub fn get() -> &'static ast::Config {
    static REGISTRY: OnceLock<ast::Config> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let source = SourceFile::new(NAME, TEXT);
        let mut acc = Diagnostics::default();
        syntax::parse(&source)
            .ok()
            .and_then(|node| syntax::de::from_node::<ast::Config>(&node, "", &mut acc))
            .unwrap_or_default()
    })
}

/// A built-in provider as a setup wizard lists it: no secrets, only names and addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderInfo {
    /// The provider id (`openai`, `anthropic`, ...), in registry order.
    pub id: &'static str,
    /// The default base URL.
    pub api_base: &'static str,
    /// The registry's `api_key` text, e.g. `${OPENAI_API_KEY}`; `None` for keyless local
    /// providers.
    pub api_key_ref: Option<&'static str>,
    /// The credential variable named by `api_key`, e.g. `OPENAI_API_KEY`.
    pub key_var: Option<&'static str>,
    /// True when the reference has a default (`${VAR:-}`): the key may stay unset.
    pub key_optional: bool,
    /// The well-known model ids, first is the suggested default.
    pub models: Vec<&'static str>,
}

/// Every built-in provider, in registry order.
pub fn providers() -> Vec<ProviderInfo> {
    get()
        .providers
        .iter()
        .map(|(id, p)| {
            let api_key_ref = p.api_key.get().map(|k| k.0.as_str());
            let (key_var, key_optional) = match api_key_ref
                .and_then(|k| k.strip_prefix("${").and_then(|r| r.strip_suffix('}')))
            {
                Some(inner) => match inner.split_once(":-") {
                    Some((var, _)) => (Some(var), true),
                    None => (Some(inner), false),
                },
                None => (None, true),
            };
            ProviderInfo {
                id: id.value.as_str(),
                api_base: p.api_base.get().map_or("", String::as_str),
                api_key_ref,
                key_var,
                key_optional,
                models: p
                    .models
                    .get()
                    .map(|l| {
                        l.iter()
                            .filter_map(|m| m.value.id.get().map(String::as_str))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// The registry's source, for tests and for rendering a diagnostic inside it.
pub fn source() -> SourceFile {
    SourceFile::new(NAME, TEXT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_parses_cleanly_and_lists_the_required_providers() {
        let source = source();
        let node = syntax::parse(&source).expect("registry is valid YAML");
        let mut acc = Diagnostics::default();
        let cfg = syntax::de::from_node::<ast::Config>(&node, "", &mut acc).unwrap();
        assert!(acc.into_sorted().is_empty());
        for id in [
            "openai",
            "anthropic",
            "google",
            "openrouter",
            "deepseek",
            "mistral",
            "groq",
            "xai",
            "together",
            "fireworks",
            "cerebras",
            "ollama",
            "vllm",
        ] {
            let p = cfg
                .providers
                .get(id)
                .unwrap_or_else(|| panic!("{id} missing"));
            assert!(p.api_base.get().is_some(), "{id} has no api_base");
            assert!(p.api_protocol.get().is_some(), "{id} has no api_protocol");
        }
        assert_eq!(get().providers.len(), cfg.providers.len());
    }

    #[test]
    fn the_price_snapshot_is_dated_where_it_is_written() {
        assert!(
            TEXT.contains(&format!("list prices as of {PRICES_AS_OF}")),
            "registry/providers.yaml's header and PRICES_AS_OF disagree"
        );
        // Every remote model of the snapshot is priced: a cost is unknown only by choice.
        for (id, p) in get().providers.iter() {
            let local = p.allow_private.get().copied().unwrap_or(false);
            for m in p.models.get().map_or(&[][..], |l| &l[..]) {
                let priced =
                    m.value.pricing.input.get().is_some() && m.value.pricing.output.get().is_some();
                assert!(
                    local || priced,
                    "{}: {:?} has no price",
                    id.value,
                    m.value.id.get()
                );
            }
        }
    }

    #[test]
    fn provider_infos_name_the_credential_variables() {
        let all = providers();
        assert_eq!(all.len(), get().providers.len());
        let openai = all.iter().find(|p| p.id == "openai").unwrap();
        assert_eq!(openai.api_base, "https://api.openai.com/v1");
        assert_eq!(openai.api_key_ref, Some("${OPENAI_API_KEY}"));
        assert_eq!(openai.key_var, Some("OPENAI_API_KEY"));
        assert!(!openai.key_optional);
        assert_eq!(openai.models.first(), Some(&"gpt-4o"));
        let google = all.iter().find(|p| p.id == "google").unwrap();
        assert_eq!(google.key_var, Some("GEMINI_API_KEY"));
        let vllm = all.iter().find(|p| p.id == "vllm").unwrap();
        assert_eq!(vllm.key_var, Some("VLLM_API_KEY"));
        assert!(vllm.key_optional);
        let ollama = all.iter().find(|p| p.id == "ollama").unwrap();
        assert_eq!((ollama.key_var, ollama.api_key_ref), (None, None));
        assert!(!ollama.models.is_empty());
    }
}
