//! The configuration after `resolve`: registry merged, `derives` expanded, environment expanded,
//! defaults filled in. Every value that can be wrong still knows where it was written.

use crate::ast::{self, Capability, Strategy};
use crate::source::Span;

/// Where a resolved value came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// Written in the file, here.
    File(Span),
    /// Inherited through `derives` from this provider.
    Parent(String),
    /// From the built-in registry entry of the same id.
    Builtin,
}

impl Origin {
    pub fn span(&self) -> Option<Span> {
        match self {
            Origin::File(s) => Some(*s),
            _ => None,
        }
    }

    /// For `bitrouter route`: "config", "derives openai", "built-in registry".
    pub fn describe(&self) -> String {
        match self {
            Origin::File(_) => "config".to_owned(),
            Origin::Parent(p) => format!("derived from `{p}`"),
            Origin::Builtin => "built-in registry".to_owned(),
        }
    }
}

/// A value and its origin.
#[derive(Clone, Debug, PartialEq)]
pub struct Val<T> {
    pub value: T,
    pub origin: Origin,
}

#[derive(Debug)]
pub struct Config {
    pub providers: Vec<Provider>,
    pub models: Vec<(ast::Spanned<String>, ast::VirtualModel)>,
    pub presets: Vec<(ast::Spanned<String>, ast::Preset)>,
    pub variants: Vec<(ast::Spanned<String>, ast::Variant)>,
    pub inherit_defaults: bool,
    /// The file's other sections (`models`, `presets` and `variants` have moved out above).
    pub ast: ast::Config,
}

/// The credential of a provider after expansion.
#[derive(Clone, PartialEq)]
pub enum Credential {
    /// The provider needs none (local models).
    None,
    Set(String),
    /// It needs `var`, which is not set (the provider is unusable until it is).
    Missing {
        var: String,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::None => f.write_str("None"),
            Credential::Set(_) => f.write_str("Set(***)"),
            Credential::Missing { var } => write!(f, "Missing({var})"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Provider {
    pub name: String,
    /// The key span in the file, when the file declares this provider.
    pub span: Option<Span>,
    /// A built-in of the same id exists and was merged.
    pub builtin: bool,
    pub api_base: Option<Val<String>>,
    pub credential: Credential,
    pub api_protocol: Option<Val<ast::ApiProtocol>>,
    pub models: Vec<Model>,
    pub models_origin: Option<Origin>,
    pub derives: Option<ast::Spanned<String>>,
    /// `self -> parent -> grandparent`, for `route` explanations.
    pub derives_chain: Vec<String>,
    /// Values are secrets as far as printing goes.
    pub headers: Vec<(String, ast::SecretText)>,
    pub timeouts: ast::Timeouts,
    pub allow_private: bool,
}

impl Provider {
    pub fn path(&self) -> String {
        format!("providers.{}", self.name)
    }
}

#[derive(Clone, Debug)]
pub struct Model {
    pub id: String,
    pub span: Option<Span>,
    pub upstream_id: Option<String>,
    pub api_protocol: Option<ast::Spanned<ast::ProtocolList>>,
    pub pricing: Pricing,
    pub context_window: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub capabilities: Vec<Capability>,
}

/// USD per million tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pricing {
    pub input: Option<f64>,
    pub output: Option<f64>,
    pub cache_read: Option<f64>,
    pub cache_write: Option<f64>,
}

/// Strategy of a virtual model, defaulted.
pub fn strategy(m: &ast::VirtualModel) -> Strategy {
    m.strategy.get().copied().unwrap_or(Strategy::Priority)
}
