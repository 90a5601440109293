//! The observability settings of the file format: `server.log_format` and the
//! `bitrouter-observe` plugin's `otel` block (OTLP export of traces and metrics).

use serde::Deserialize;

#[cfg(feature = "schema")]
use schemars::JsonSchema;

use super::{Field, NameMap, SecretText};

/// The shape of log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// OTLP export (`plugins.bitrouter-observe.otel`). The standard `OTEL_*` environment variables
/// override these keys one by one.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Otel {
    /// The collector's base URL, e.g. `http://127.0.0.1:4318` (HTTP) or `http://127.0.0.1:4317`
    /// (gRPC); `OTEL_EXPORTER_OTLP_ENDPOINT` wins. Without one nothing is exported.
    pub endpoint: Field<String>,
    /// `http` (OTLP/HTTP with protobuf bodies, default) or `grpc`;
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, `grpc`) wins.
    pub protocol: Field<OtlpProtocol>,
    /// Headers sent with every export (e.g. a backend's API key, normally `${VAR}`); merged with
    /// `OTEL_EXPORTER_OTLP_HEADERS`, which wins per header. Never printed.
    pub headers: NameMap<Field<SecretText>>,
    /// `service.name` of the exported resource (default `bitrouter`); `OTEL_SERVICE_NAME` wins.
    pub service_name: Field<String>,
    /// Which traces are kept (default `parentbased_always_on`); `OTEL_TRACES_SAMPLER` wins.
    pub sampler: Field<Sampler>,
    /// The ratio for the `traceidratio` samplers, between 0 and 1 (default 1);
    /// `OTEL_TRACES_SAMPLER_ARG` wins.
    pub sampler_arg: Field<f64>,
}

/// The OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OtlpProtocol {
    /// OTLP/HTTP, protobuf bodies (`/v1/traces`, `/v1/metrics`).
    Http,
    /// OTLP/gRPC.
    Grpc,
}

/// A trace sampler, named as `OTEL_TRACES_SAMPLER` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Sampler {
    AlwaysOn,
    AlwaysOff,
    /// Keeps `sampler_arg` of the traces, chosen by trace id.
    Traceidratio,
    /// The caller's `traceparent` decides; new traces are kept.
    ParentbasedAlwaysOn,
    /// The caller's `traceparent` decides; new traces are dropped.
    ParentbasedAlwaysOff,
    /// The caller's `traceparent` decides; new traces by ratio.
    ParentbasedTraceidratio,
}

impl Sampler {
    /// The name `OTEL_TRACES_SAMPLER` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Sampler::AlwaysOn => "always_on",
            Sampler::AlwaysOff => "always_off",
            Sampler::Traceidratio => "traceidratio",
            Sampler::ParentbasedAlwaysOn => "parentbased_always_on",
            Sampler::ParentbasedAlwaysOff => "parentbased_always_off",
            Sampler::ParentbasedTraceidratio => "parentbased_traceidratio",
        }
    }

    pub const ALL: [Sampler; 6] = [
        Sampler::AlwaysOn,
        Sampler::AlwaysOff,
        Sampler::Traceidratio,
        Sampler::ParentbasedAlwaysOn,
        Sampler::ParentbasedAlwaysOff,
        Sampler::ParentbasedTraceidratio,
    ];
}
