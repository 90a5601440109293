//! Observability after `resolve`: the OTLP export settings, from the `bitrouter-observe`
//! plugin's `otel` block with the `OTEL_*` environment over it, each value with where it came
//! from (so a diagnostic points at the file or names the variable).

use crate::ast::{OtlpProtocol, Sampler, SecretText};
use crate::source::Span;

/// Where an OTLP setting came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum From {
    /// Written in the file, here.
    File(Span),
    /// The environment variable of that name (it wins over the file).
    Env(&'static str),
    Default,
}

/// A value and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Sourced<T> {
    pub value: T,
    pub from: From,
}

impl<T> Sourced<T> {
    pub fn default(value: T) -> Sourced<T> {
        Sourced {
            value,
            from: From::Default,
        }
    }
}

/// An environment value that is not one the setting takes (reported by `validate`).
#[derive(Clone, Debug, PartialEq)]
pub struct BadEnv {
    pub var: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// `plugins.bitrouter-observe.otel` merged with `OTEL_*`.
#[derive(Clone, Debug)]
pub struct Otel {
    /// Where the block is written, if it is (the plugin's `otel` key).
    pub span: Option<Span>,
    /// `OTEL_SDK_DISABLED=true`, or the plugin has `enabled: false`.
    pub disabled: bool,
    /// `None`: export is off.
    pub endpoint: Option<Sourced<String>>,
    pub protocol: Sourced<OtlpProtocol>,
    /// Header name, value and where it came from.
    pub headers: Vec<(String, SecretText, From)>,
    pub service_name: Sourced<String>,
    pub sampler: Sourced<Sampler>,
    pub sampler_arg: Sourced<f64>,
    /// Environment values that could not be read.
    pub bad_env: Vec<BadEnv>,
}
