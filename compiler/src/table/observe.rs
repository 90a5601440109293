//! Observability settings of the table: the log format and OTLP export, resolved and checked
//! (file and `OTEL_*` environment merged), ready for the runtime to start an exporter from.

pub use crate::ast::{LogFormat, OtlpProtocol, Sampler};

use super::Secret;

/// OTLP export of traces and metrics (`plugins.bitrouter-observe.otel`, `OTEL_*`).
#[derive(Clone, Debug, PartialEq)]
pub struct Otel {
    /// The collector's base URL (`/v1/traces` and `/v1/metrics` are added for HTTP).
    pub endpoint: Box<str>,
    pub protocol: OtlpProtocol,
    /// Sent with every export; values never print.
    pub headers: Box<[(Box<str>, Secret)]>,
    pub service_name: Box<str>,
    pub sampler: Sampler,
    /// The ratio for the `traceidratio` samplers, in `[0, 1]`.
    pub sampler_arg: f64,
}
