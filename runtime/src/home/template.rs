//! The `bitrouter.yaml` that `init` writes (and the scaffolded home starts with): commented,
//! with the schema header, loopback listen and `skip_auth: true`. Pure text generation.

use std::fmt::Write as _;

/// The editor header: the JSON Schema of this version, for completion and inline validation.
pub fn schema_header() -> String {
    format!(
        "# yaml-language-server: $schema=https://bitrouter.dev/schema/v{}/config.schema.json",
        env!("CARGO_PKG_VERSION")
    )
}

/// A provider as the generated file writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderEntry {
    pub id: String,
    /// `Some("openai" | "anthropic")` for a custom compatible service.
    pub derives: Option<String>,
    pub api_base: Option<String>,
    /// The `api_key` text, always a `${VAR}` reference.
    pub api_key_ref: Option<String>,
    /// Models to declare (custom providers only; built-ins come with theirs).
    pub models: Vec<String>,
}

/// An endpoint of the starter virtual model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub provider: String,
    pub service_id: String,
}

/// The lines of [`config`] that turn authentication off.
const OPEN: &str = "  # Admits requests without credentials: fine behind loopback, never on a public address.\n  skip_auth: true\n";

/// `text` (from [`config`]) with authentication on: callers need a key.
pub fn require_keys(text: &str) -> String {
    text.replacen(
        OPEN,
        "  # Callers need an API key minted by `bitrouter keygen`, signed by an account in\n  # `.keys/` next to this file (`bitrouter account --list`).\n  skip_auth: false\n",
        1,
    )
}

/// The configuration text. With no providers it is the commented starter.
pub fn config(providers: &[ProviderEntry], endpoints: &[Endpoint]) -> String {
    let mut s = String::new();
    s.push_str(&schema_header());
    s.push_str(
        "
#
# BitRouter configuration. Check it with `bitrouter config validate`; run the router with
# `bitrouter serve` (foreground) or `bitrouter start` (daemon). Keep secrets out of this file:
# `${VAR}` references are resolved at load time from the environment and from the `.env` file
# next to this one (variables already set in the environment win).

server:
  # Loopback by default. Set 0.0.0.0 only when you intend to expose the router on all
  # interfaces, and put authentication in front of it first.
  listen: 127.0.0.1:4356
  # Admits requests without credentials: fine behind loopback, never on a public address.
  skip_auth: true

# Upstream providers, keyed by id. An id that matches a built-in provider (openai, anthropic,
# google, openrouter, deepseek, mistral, groq, xai, together, fireworks, cerebras, ollama,
# vllm) is merged on top of it: what you write wins, the rest (base URL, protocol, models and
# prices) comes from the built-in registry. `derives: openai|anthropic` makes any compatible
# service work; it must name its own `api_base`.
",
    );
    if providers.is_empty() {
        s.push_str(
            "#
# providers:
#   openai:
#     api_key: ${OPENAI_API_KEY}
#   moonshot:
#     derives: anthropic
#     api_base: https://api.moonshot.ai/anthropic
#     api_key: ${MOONSHOT_API_KEY}
",
        );
    } else {
        s.push_str("providers:\n");
        for p in providers {
            write_provider(&mut s, p);
        }
    }
    s.push_str(
        "
# Virtual models: a name callers send, and the endpoints tried in order (`priority`) until
# one answers. Other strategies: `round_robin`, `weighted` (with `weight` on each endpoint).
",
    );
    if endpoints.is_empty() {
        s.push_str(
            "#
# models:
#   default:
#     strategy: priority
#     endpoints:
#       - provider: openai
#         service_id: gpt-4o
",
        );
    } else {
        s.push_str("models:\n  default:\n    strategy: priority\n    endpoints:\n");
        for e in endpoints {
            let _ = write!(
                s,
                "      - provider: {}\n        service_id: {}\n",
                key(&e.provider),
                scalar(&e.service_id)
            );
        }
    }
    s
}

fn write_provider(s: &mut String, p: &ProviderEntry) {
    let fields = p.derives.is_some()
        || p.api_base.is_some()
        || p.api_key_ref.is_some()
        || !p.models.is_empty();
    if !fields {
        let _ = writeln!(s, "  {}: {{}}", key(&p.id));
        return;
    }
    let _ = writeln!(s, "  {}:", key(&p.id));
    if let Some(d) = &p.derives {
        let family = match d.as_str() {
            "openai" => "An OpenAI",
            "anthropic" => "An Anthropic",
            _ => "A",
        };
        let _ = writeln!(
            s,
            "    # {family}-compatible service: protocol handling comes from `{d}`."
        );
        let _ = writeln!(s, "    derives: {}", key(d));
    }
    if let Some(b) = &p.api_base {
        let _ = writeln!(s, "    api_base: {}", scalar(b));
        if compiler::upstream_url::needs_allow_private(b) {
            s.push_str(
                "    # A loopback or private-network address (a model server on this machine or LAN):\n\
                 \x20   # upstream addresses like this are refused unless allowed explicitly.\n\
                 \x20   allow_private: true\n",
            );
        }
    }
    if let Some(k) = &p.api_key_ref {
        let _ = writeln!(s, "    api_key: {}", scalar(k));
    }
    if !p.models.is_empty() {
        s.push_str("    models:\n");
        for m in &p.models {
            let _ = writeln!(s, "      - id: {}", scalar(m));
        }
    }
}

/// A map key: plain when it is a simple identifier YAML cannot read as anything else.
fn key(k: &str) -> String {
    let reserved = [
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~",
    ];
    let plain = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !reserved.contains(&k.to_ascii_lowercase().as_str());
    if plain { k.to_owned() } else { quoted(k) }
}

/// A string value: plain when obviously safe (URLs, ids, `${VAR}`), otherwise double-quoted.
fn scalar(v: &str) -> String {
    let reserved = [
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~",
    ];
    let plain = v
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '$')
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:${}@+".contains(c))
        && !v.ends_with(':')
        && !reserved.contains(&v.to_ascii_lowercase().as_str())
        && v.parse::<f64>().is_err();
    if plain { v.to_owned() } else { quoted(v) }
}

/// A YAML double-quoted scalar (JSON string syntax is a subset).
fn quoted(v: &str) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| String::from("\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_plain_only_when_safe() {
        assert_eq!(scalar("https://api.x.ai/v1"), "https://api.x.ai/v1");
        assert_eq!(scalar("${OPENAI_API_KEY}"), "${OPENAI_API_KEY}");
        assert_eq!(scalar("gpt-4o"), "gpt-4o");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(scalar("#x"), "\"#x\"");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("123"), "\"123\"");
        assert_eq!(key("my-llm"), "my-llm");
        assert_eq!(key("no"), "\"no\"");
    }

    #[test]
    fn the_starter_declares_no_provider() {
        let s = config(&[], &[]);
        assert!(s.starts_with("# yaml-language-server: $schema=https://bitrouter.dev/schema/v"));
        assert!(s.contains("\n  listen: 127.0.0.1:4356\n"));
        assert!(s.contains("\n  skip_auth: true\n"));
        let keyed = require_keys(&s);
        assert!(keyed.contains("\n  skip_auth: false\n") && !keyed.contains("skip_auth: true"));
        assert!(!s.contains("\nproviders:"));
        assert!(!s.contains("\nmodels:"));
        let src = compiler::SourceFile::new("starter", s);
        let env = std::collections::HashMap::new();
        assert!(compiler::compile(&src, &env, compiler::EnvMode::Lenient).is_ok());
    }

    #[test]
    fn private_bases_get_the_opt_in_the_compiler_requires() {
        // 100.64.0.0/10 (CGNAT, e.g. a tailnet) is private to the compiler's SSRF guard too.
        for b in [
            "http://100.101.2.3:8000/v1",
            "http://10.0.0.5/v1",
            "http://[::1]:8000/v1",
        ] {
            let entry = ProviderEntry {
                id: "local".into(),
                derives: Some("openai".into()),
                api_base: Some(b.into()),
                api_key_ref: Some("${LOCAL_API_KEY}".into()),
                models: vec!["m".into()],
            };
            let endpoint = Endpoint {
                provider: "local".into(),
                service_id: "m".into(),
            };
            let text = config(&[entry], &[endpoint]);
            assert!(text.contains("allow_private: true"), "{text}");
            let src = compiler::SourceFile::new("t", text.as_str());
            let env = std::collections::HashMap::new();
            assert!(
                compiler::compile(&src, &env, compiler::EnvMode::Lenient).is_ok(),
                "{text}"
            );
        }
    }
}
