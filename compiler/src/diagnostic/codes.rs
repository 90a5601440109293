//! Stable diagnostic codes: one documented constant per condition, never reused or renumbered.
//!
//! `E` codes are errors, `W` codes warnings. `E0010`/`W0010` are the same condition (an unset
//! environment variable) at the two severities `serve` and `config validate` give it.

use std::fmt;

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $name:ident = $text:literal,)*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($(#[doc = $doc])* $name,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $text,)*
                }
            }

            pub fn explain(self) -> &'static str {
                match self {
                    $(Code::$name => concat!($($doc),*).trim_start(),)*
                }
            }
        }
    };
}

codes! {
    /// The file is not valid YAML (or uses a YAML feature the loader refuses, such as a duplicate key).
    Syntax = "E0001",
    /// A key that this section does not have.
    UnknownKey = "E0002",
    /// A value of the wrong type (a list where a string belongs, ...).
    WrongType = "E0003",
    /// A value outside the allowed set (strategy, protocol, capability, duration, size, ...).
    InvalidValue = "E0004",
    /// A required key is missing.
    MissingKey = "E0005",
    /// `${VAR}` names a variable that is not set and has no `:-default`.
    EnvUnset = "E0010",
    /// `${VAR}` names a variable that is not set (a warning under `config validate` without `--strict`).
    EnvUnsetWarning = "W0010",
    /// A malformed `${...}` reference.
    EnvSyntax = "E0011",
    /// An `api_protocol` value that is not one of the four protocols.
    UnknownProtocol = "E0020",
    /// Two `api_protocol` entries with the same pattern.
    DuplicatePattern = "E0021",
    /// An `api_protocol` pattern or entry of the wrong shape.
    InvalidPattern = "E0022",
    /// `derives` names a provider that exists neither in the file nor in the built-in registry.
    UnknownParent = "E0030",
    /// `derives` chains that loop.
    DerivesCycle = "E0031",
    /// A `derives` chain longer than the compiler follows.
    DerivesTooDeep = "E0033",
    /// After resolution a provider still has no `api_base`.
    MissingApiBase = "E0032",
    /// An `api_base` that is not a valid absolute URL, or has a query, fragment or credentials.
    InvalidUrl = "E0040",
    /// An upstream URL that targets cloud metadata or link-local addresses (always refused).
    ForbiddenHost = "E0042",
    /// An upstream URL on a private or loopback address without `allow_private: true`.
    PrivateHost = "E0043",
    /// A reference to a provider that does not exist.
    UnknownProvider = "E0050",
    /// An endpoint with both or neither of `service_id` and `model_id`.
    EndpointModel = "E0051",
    /// A virtual model with no endpoints.
    NoEndpoints = "E0052",
    /// A `weighted` endpoint with weight 0, or weights that sum to 0.
    InvalidWeight = "E0053",
    /// `weight` on an endpoint of a model whose strategy is not `weighted`: it has no effect.
    WeightIgnored = "W0054",
    /// An endpoint names a model its provider does not declare (it is sent upstream as written).
    UndeclaredModel = "W0055",
    /// A name that cannot be looked up as written (empty, or starting with `@`, ...).
    InvalidName = "E0056",
    /// The same model id declared twice by one provider.
    DuplicateModel = "E0060",
    /// A model reference (preset, agent) that does not resolve.
    UnknownModel = "E0070",
    /// A guardrail rule that cannot be compiled: a bad or too large regular expression, an
    /// unknown detector, none or more than one of `pattern`, `detector` and `webhook`, a webhook
    /// rule on answers or with `action: redact`.
    InvalidRule = "E0080",
    /// Two guardrail rules with the same name.
    DuplicateRule = "E0081",
    /// A guardrail rule key that has no effect here (`replacement` on a rule that does not redact).
    RuleKeyIgnored = "W0082",
    /// A reference between sections (`mcp`, `agents`, `server_tools`, ...) to something undefined.
    UnknownReference = "E0091",
    /// A setting that is valid on its own but not in combination with another.
    Conflict = "E0092",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {c}");
            assert!(!c.explain().is_empty(), "{c} has no doc");
            let prefix = if c.as_str().starts_with('W') {
                "W"
            } else {
                "E"
            };
            assert!(c.as_str().starts_with(prefix));
        }
    }
}
