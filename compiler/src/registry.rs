//! The built-in provider registry: `registry/providers.yaml`, compiled into the binary and read
//! with the same parser as a user's file.

use std::sync::OnceLock;

use crate::ast;
use crate::diagnostic::Diagnostics;
use crate::source::SourceFile;
use crate::syntax;

/// The registry text, as shipped.
pub const TEXT: &str = include_str!("registry/providers.yaml");

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
}
