//! OTLP export settings: the `bitrouter-observe` plugin's `otel` block with the standard
//! `OTEL_*` environment variables over it, key by key (the environment wins, as every
//! OpenTelemetry SDK does). Values are only read here; `validate` reports the bad ones.

use crate::ast::{self, NameMap, OtlpProtocol, Sampler, SecretText};
use crate::resolved::{self, BadEnv, From, Sourced};

use super::Context;
use super::defaults::{
    OBSERVE_PLUGIN, OTEL_SAMPLER, OTEL_SAMPLER_ARG, OTEL_SERVICE_NAME, OTLP_PROTOCOL,
    PLUGIN_ENABLED,
};

pub(super) const SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
pub(super) const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
pub(super) const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
pub(super) const HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
pub(super) const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
pub(super) const SAMPLER: &str = "OTEL_TRACES_SAMPLER";
pub(super) const SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";

pub(super) fn otel(cx: &Context<'_>, plugins: &NameMap<ast::Plugin>) -> resolved::Otel {
    // An empty variable is unset (the OpenTelemetry specification's rule).
    let env = |name: &'static str| cx.env.get(name).map(str::trim).filter(|v| !v.is_empty());
    let plugin = plugins.get(OBSERVE_PLUGIN);
    let block = plugin.and_then(|p| p.otel.spanned());
    let file = block.map(|b| &b.value);
    let enabled = plugin
        .and_then(|p| p.enabled.get().copied())
        .unwrap_or(PLUGIN_ENABLED);
    let mut bad_env = Vec::new();

    let mut endpoint = file.and_then(|o| o.endpoint.spanned()).map(|s| Sourced {
        value: s.value.clone(),
        from: From::File(s.span),
    });
    if let Some(v) = env(ENDPOINT) {
        endpoint = Some(Sourced {
            value: v.to_owned(),
            from: From::Env(ENDPOINT),
        });
    }

    let mut protocol = file_or(file.map(|o| &o.protocol), OTLP_PROTOCOL);
    if let Some(v) = env(PROTOCOL) {
        match v {
            "grpc" => protocol = env_value(OtlpProtocol::Grpc, PROTOCOL),
            "http/protobuf" => protocol = env_value(OtlpProtocol::Http, PROTOCOL),
            _ => bad_env.push(BadEnv {
                var: PROTOCOL,
                value: v.to_owned(),
                expected: "`grpc` or `http/protobuf` (`http/json` is not supported)",
            }),
        }
    }

    let mut headers: Vec<(String, SecretText, From)> = Vec::new();
    if let Some(v) = env(HEADERS) {
        for pair in v.split(',').filter(|p| !p.trim().is_empty()) {
            match pair.split_once('=') {
                Some((k, val)) if !k.trim().is_empty() => headers.push((
                    k.trim().to_owned(),
                    SecretText(percent_decode(val.trim())),
                    From::Env(HEADERS),
                )),
                // The value may hold a credential: never echoed.
                _ => bad_env.push(BadEnv {
                    var: HEADERS,
                    value: "(not shown)".to_owned(),
                    expected: "comma-separated `name=value` pairs",
                }),
            }
        }
    }
    if let Some(o) = file {
        for (k, v) in o.headers.iter() {
            let Some(value) = v.get() else { continue };
            if !headers
                .iter()
                .any(|(h, _, _)| h.eq_ignore_ascii_case(&k.value))
            {
                headers.push((k.value.clone(), value.clone(), From::File(k.span)));
            }
        }
    }

    let mut service_name = match file.and_then(|o| o.service_name.spanned()) {
        Some(s) => Sourced {
            value: s.value.clone(),
            from: From::File(s.span),
        },
        None => Sourced::default(OTEL_SERVICE_NAME.to_owned()),
    };
    if let Some(v) = env(SERVICE_NAME) {
        service_name = env_value(v.to_owned(), SERVICE_NAME);
    }

    let mut sampler = file_or(file.map(|o| &o.sampler), OTEL_SAMPLER);
    if let Some(v) = env(SAMPLER) {
        match Sampler::ALL.iter().find(|s| s.as_str() == v) {
            Some(&s) => sampler = env_value(s, SAMPLER),
            None => bad_env.push(BadEnv {
                var: SAMPLER,
                value: v.to_owned(),
                expected: "`always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, \
                           `parentbased_always_off` or `parentbased_traceidratio`",
            }),
        }
    }
    let mut sampler_arg = file_or(file.map(|o| &o.sampler_arg), OTEL_SAMPLER_ARG);
    if let Some(v) = env(SAMPLER_ARG) {
        match v.parse::<f64>() {
            Ok(n) => sampler_arg = env_value(n, SAMPLER_ARG),
            Err(_) => bad_env.push(BadEnv {
                var: SAMPLER_ARG,
                value: v.to_owned(),
                expected: "a number between 0 and 1",
            }),
        }
    }

    let sdk_disabled = env(SDK_DISABLED).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    resolved::Otel {
        span: block.map(|b| b.span),
        disabled: sdk_disabled || !enabled,
        endpoint,
        protocol,
        headers,
        service_name,
        sampler,
        sampler_arg,
        bad_env,
    }
}

fn file_or<T: Copy>(field: Option<&ast::Field<T>>, default: T) -> Sourced<T> {
    match field.and_then(|f| f.spanned()) {
        Some(s) => Sourced {
            value: s.value,
            from: From::File(s.span),
        },
        None => Sourced::default(default),
    }
}

fn env_value<T>(value: T, var: &'static str) -> Sourced<T> {
    Sourced {
        value,
        from: From::Env(var),
    }
}

/// `%XX` escapes, as `OTEL_EXPORTER_OTLP_HEADERS` values are written (W3C Baggage style);
/// anything that is not a valid escape is kept as it is.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(h) = b.get(i + 1..i + 3)
            && let Ok(hex) = std::str::from_utf8(h)
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn header_values_are_percent_decoded() {
        assert_eq!(percent_decode("Bearer%20abc"), "Bearer abc");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
