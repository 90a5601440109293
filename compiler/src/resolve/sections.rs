//! Every section besides `server` and `providers`, read into its resolved form with defaults
//! applied: virtual models, presets, variants, and the sections the data plane does not serve
//! yet (which `validate` still checks and the table lists by name).

use super::defaults::{self, setting};
use super::headers_into;
use crate::ast::{self, Field, NameMap, Spanned};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::resolved::{self, McpTransport, Setting};

pub(super) fn models(
    acc: &mut Diagnostics,
    file: NameMap<ast::VirtualModel>,
) -> Vec<resolved::VirtualModel> {
    file.entries
        .into_iter()
        .map(|(name, m)| {
            let endpoints = match m.endpoints {
                Field::Set(list) => {
                    if list.value.is_empty() {
                        acc.push(
                            Diagnostic::error(
                                Code::NoEndpoints,
                                format!("models.{}.endpoints", name.value),
                                format!(
                                    "virtual model `{}` has an empty `endpoints` list",
                                    name.value
                                ),
                            )
                            .at(list.span)
                            .help("add at least one `- provider: <id>` / `service_id: <model>`"),
                        );
                    }
                    let endpoints = list.value.0.into_iter().enumerate();
                    endpoints
                        .map(|(i, e)| endpoint(acc, &name.value, i, e))
                        .collect()
                }
                Field::Invalid => Vec::new(),
                Field::Absent => {
                    acc.push(
                        Diagnostic::error(
                            Code::NoEndpoints,
                            format!("models.{}.endpoints", name.value),
                            format!("virtual model `{}` has no `endpoints`", name.value),
                        )
                        .at(name.span)
                        .help("add `endpoints:` with at least one `- provider: <id>` / `service_id: <model>`"),
                    );
                    Vec::new()
                }
            };
            resolved::VirtualModel {
                strategy: m.strategy.into_value().unwrap_or(defaults::STRATEGY),
                description: m.description.into_value(),
                endpoints,
                name,
            }
        })
        .collect()
}

/// An endpoint names its model with exactly one of `service_id` and `model_id`.
fn endpoint(
    acc: &mut Diagnostics,
    model: &str,
    i: usize,
    entry: Spanned<ast::Endpoint>,
) -> resolved::Endpoint {
    let e = entry.value;
    let epath = || format!("models.{model}.endpoints[{i}]");
    let model_id_invalid = e.model_id.is_invalid();
    let model = match (e.service_id.into_spanned(), e.model_id.into_spanned()) {
        (Some(s), None) | (None, Some(s)) => Some(s),
        (Some(_), Some(m2)) => {
            acc.push(
                Diagnostic::error(
                    Code::EndpointModel,
                    format!("{}.model_id", epath()),
                    "endpoint has both `service_id` and `model_id`",
                )
                .at(m2.span)
                .help("`model_id` is another name for `service_id`; keep one"),
            );
            None
        }
        (None, None) => {
            if !model_id_invalid {
                acc.push(
                    Diagnostic::error(
                        Code::EndpointModel,
                        format!("{}.service_id", epath()),
                        "endpoint has no `service_id`",
                    )
                    .at(entry.span)
                    .help("add `service_id: <the provider's model id>`"),
                );
            }
            None
        }
    };
    resolved::Endpoint {
        span: entry.span,
        weight: setting(&e.weight, defaults::WEIGHT, |&w| w),
        provider: e.provider.into_spanned(),
        model,
    }
}

pub(super) fn presets(file: NameMap<ast::Preset>) -> Vec<resolved::Preset> {
    file.entries
        .into_iter()
        .map(|(name, p)| resolved::Preset {
            name,
            model: p.model.into_spanned(),
            system_prompt: p.system_prompt.into_value(),
            params: p.params.into_value().unwrap_or_default(),
        })
        .collect()
}

pub(super) fn variants(file: NameMap<ast::Variant>) -> Vec<resolved::Variant> {
    file.entries
        .into_iter()
        .map(|(name, v)| resolved::Variant {
            name,
            providers: v.providers.into_items(),
            exclude_providers: v.exclude_providers.into_items(),
            strategy: v.strategy.into_value(),
        })
        .collect()
}

pub(super) fn mcp(m: ast::Mcp) -> resolved::Mcp {
    resolved::Mcp {
        enabled: m.enabled.into_value().unwrap_or(defaults::MCP_ENABLED),
        servers: match m.servers.into_value() {
            Some(list) => resolved::McpServers::Listed(list.0),
            None => resolved::McpServers::All,
        },
    }
}

pub(super) fn mcp_servers(
    acc: &mut Diagnostics,
    file: NameMap<ast::McpServer>,
) -> Vec<resolved::McpServer> {
    file.entries
        .into_iter()
        .map(|(name, s)| {
            let path = format!("mcp_servers.{}", name.value);
            let mut headers = Vec::new();
            headers_into(acc, &format!("{path}.headers"), &s.headers, &mut headers);
            resolved::McpServer {
                transport: transport(acc, &path, &name, &s),
                command: s.command.into_spanned(),
                args: s.args.into_value().map_or_else(Vec::new, |a| a.0),
                env: s
                    .env
                    .entries
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.value, v.into_value()?)))
                    .collect(),
                url: s.url.into_spanned(),
                headers,
                name,
            }
        })
        .collect()
}

/// The transport as written, else `stdio` for a `command` and `http` for a `url`.
fn transport(
    acc: &mut Diagnostics,
    path: &str,
    name: &Spanned<String>,
    s: &ast::McpServer,
) -> Option<Setting<McpTransport>> {
    match (
        s.transport.spanned(),
        s.command.is_written(),
        s.url.is_written(),
    ) {
        (Some(t), _, _) => Some(Setting {
            value: t.value,
            span: Some(t.span),
        }),
        (None, true, true) => {
            acc.push(
                Diagnostic::error(Code::Conflict, format!("{path}.transport"), format!("MCP server `{}` has both `command` and `url`", name.value))
                    .at(name.span)
                    .help("keep `command` for a local (stdio) server or `url` for a remote one, or set `transport`"),
            );
            None
        }
        (None, true, false) => Some(Setting::defaulted(McpTransport::Stdio)),
        (None, false, true) => Some(Setting::defaulted(McpTransport::Http)),
        (None, false, false) => {
            if !s.transport.is_invalid() {
                acc.push(
                    Diagnostic::error(
                        Code::MissingKey,
                        format!("{path}.command"),
                        format!(
                            "MCP server `{}` has neither `command` nor `url`",
                            name.value
                        ),
                    )
                    .at(name.span)
                    .help("set `command:` for a local (stdio) server or `url:` for a remote one"),
                );
            }
            None
        }
    }
}

pub(super) fn agents(file: NameMap<ast::Agent>) -> Vec<resolved::Agent> {
    file.entries
        .into_iter()
        .map(|(name, a)| resolved::Agent {
            name,
            model: a.model.into_spanned(),
            system_prompt: a.system_prompt.into_value(),
            mcp_servers: a.mcp_servers.into_items(),
            server_tools: a.server_tools.into_items(),
            description: a.description.into_value(),
        })
        .collect()
}

pub(super) fn server_tools(file: NameMap<ast::ServerTool>) -> Vec<resolved::ServerTool> {
    file.entries
        .into_iter()
        .map(|(name, t)| resolved::ServerTool {
            name,
            kind: t.kind.into_spanned(),
            provider: t.provider.into_spanned(),
            options: t.options.into_value().unwrap_or_default(),
        })
        .collect()
}

pub(super) fn plugins(file: NameMap<ast::Plugin>) -> Vec<resolved::Plugin> {
    file.entries
        .into_iter()
        .map(|(name, p)| resolved::Plugin {
            name,
            enabled: p.enabled.into_value().unwrap_or(defaults::PLUGIN_ENABLED),
            path: p.path.into_value(),
            otel_span: p.otel.span(),
            rules_span: p.rules.span(),
            config: p.config.into_value().unwrap_or_default(),
        })
        .collect()
}
