//! Checks on virtual models, presets, variants, and every model name written in the file
//! (presets and agents), resolved by the same rules as `RoutingTable::route`.

use rustc_hash::FxHashSet;

use super::{Cx, check_name};
use crate::diagnostic::{Code, Diagnostic, Diagnostics, did_you_mean, suggest};
use crate::resolved::{self, Spanned, Strategy};

pub(super) fn check(acc: &mut Diagnostics, cx: &Cx<'_>, cfg: &resolved::Config) {
    for m in &cfg.models {
        virtual_model(acc, cx, m);
    }
    for v in &cfg.variants {
        check_name(acc, "variants", &v.name);
        let path = format!("variants.{}", v.name.value);
        for (key, list) in [
            ("providers", &v.providers),
            ("exclude_providers", &v.exclude_providers),
        ] {
            for (i, p) in list.iter().enumerate() {
                cx.provider_ref(acc, &format!("{path}.{key}[{i}]"), p);
            }
        }
    }
    variant_clashes(acc, cfg);
    let names = Names::new(cx, cfg);
    for p in &cfg.presets {
        let name = &p.name;
        check_name(acc, "presets", name);
        let path = format!("presets.{}.model", name.value);
        match &p.model {
            Some(m) => names.check(
                acc,
                &path,
                m,
                Allow {
                    preset: false,
                    variant: false,
                },
            ),
            // Written but invalid: reported at this path already, which silences this.
            None => acc.push(
                Diagnostic::error(
                    Code::MissingKey,
                    path,
                    format!("preset `{}` has no `model`", name.value),
                )
                .at(name.span)
                .help("add `model: <virtual model, provider:model or model id>`"),
            ),
        }
    }
    for a in &cfg.agents {
        if let Some(m) = &a.model {
            let path = format!("agents.{}.model", a.name.value);
            names.check(
                acc,
                &path,
                m,
                Allow {
                    preset: true,
                    variant: true,
                },
            );
        }
    }
}

/// A model name ending in `:v` where `v` is a variant could never be reached: lookup strips
/// the suffix as the variant.
fn variant_clashes(acc: &mut Diagnostics, cfg: &resolved::Config) {
    let variants: FxHashSet<&str> = cfg.variants.iter().map(|v| v.name.value.as_str()).collect();
    fn clash<'n>(variants: &FxHashSet<&str>, name: &'n str) -> Option<&'n str> {
        name.rsplit_once(':')
            .map(|(_, v)| v)
            .filter(|v| variants.contains(v))
    }
    let virtuals = cfg.models.iter().map(|m| {
        (
            format!("models.{}", m.name.value),
            m.name.value.as_str(),
            Some(m.name.span),
        )
    });
    let declared = cfg.providers.iter().flat_map(|p| {
        p.models
            .iter()
            .enumerate()
            .filter(|(_, m)| m.span.is_some())
            .map(move |(i, m)| {
                (
                    format!("{}.models[{i}].id", p.path()),
                    m.id.as_str(),
                    m.span,
                )
            })
    });
    for (path, name, span) in virtuals.chain(declared) {
        if let Some(v) = clash(&variants, name) {
            acc.push(
                Diagnostic::error(
                    Code::Conflict,
                    path,
                    format!("model `{name}` cannot be reached: `:{v}` selects variant `{v}`"),
                )
                .at_opt(span)
                .help(format!("rename the model or the variant `{v}`")),
            );
        }
    }
}

fn virtual_model(acc: &mut Diagnostics, cx: &Cx<'_>, m: &resolved::VirtualModel) {
    let name = &m.name;
    check_name(acc, "models", name);
    let path = format!("models.{}", name.value);
    for (i, e) in m.endpoints.iter().enumerate() {
        let epath = format!("{path}.endpoints[{i}]");
        let known = match &e.provider {
            Some(p) => cx.provider_ref(acc, &format!("{epath}.provider"), p),
            None => {
                acc.push(
                    Diagnostic::error(
                        Code::MissingKey,
                        format!("{epath}.provider"),
                        "endpoint has no `provider`",
                    )
                    .at(e.span)
                    .help("add `provider: <provider id>`"),
                );
                false
            }
        };
        let model = e.model.as_ref();
        if let Some(model) = model.filter(|m| m.value.trim().is_empty()) {
            acc.push(
                Diagnostic::error(
                    Code::InvalidName,
                    format!("{epath}.service_id"),
                    "a model id cannot be empty",
                )
                .at(model.span),
            );
        } else if let (true, Some(model), Some(p)) = (known, model, &e.provider) {
            let p = &p.value;
            // A provider that declares no models at all is one whose list the operator chose not
            // to keep (a local server, a pass-through); only a declared list is checked.
            let prov = cx.providers[p.as_str()];
            // An unreadable `providers` section may declare the model.
            let unreadable = acc.is_unreadable("providers");
            if !unreadable
                && !prov.models.is_empty()
                && !prov.models.iter().any(|d| d.id == model.value)
            {
                let ids: Vec<&str> = prov.models.iter().map(|d| d.id.as_str()).collect();
                acc.push(
                    Diagnostic::warning(
                        Code::UndeclaredModel,
                        format!("{epath}.service_id"),
                        format!("provider `{p}` does not declare model `{}`", model.value),
                    )
                    .at(model.span)
                    .label("sent upstream as written")
                    .help_opt(suggest(&model.value, &ids).or_else(|| {
                        Some(format!(
                            "declare it under `providers.{p}.models` to give it pricing and limits"
                        ))
                    })),
                );
            }
        }
        match (e.weight.written(), m.strategy) {
            (Some((0, span)), Strategy::Weighted) => {
                acc.push(
                    Diagnostic::error(
                        Code::InvalidWeight,
                        format!("{epath}.weight"),
                        "weight 0 would never start at this endpoint",
                    )
                    .at(span)
                    .help("use a positive weight, or remove the endpoint"),
                );
            }
            (Some((_, span)), Strategy::Priority | Strategy::RoundRobin) => {
                acc.push(
                    Diagnostic::warning(
                        Code::WeightIgnored,
                        format!("{epath}.weight"),
                        "`weight` has no effect with this strategy",
                    )
                    .at(span)
                    .help("set `strategy: weighted` on the model to use weights"),
                );
            }
            _ => {}
        }
    }
}

/// What a model name may use where it is written.
#[derive(Clone, Copy)]
struct Allow {
    preset: bool,
    variant: bool,
}

/// Every name a caller could route to, for checking names written in the file.
struct Names<'a> {
    cx: &'a Cx<'a>,
    bare: FxHashSet<&'a str>,
    presets: FxHashSet<&'a str>,
    variants: FxHashSet<&'a str>,
}

impl<'a> Names<'a> {
    fn new(cx: &'a Cx<'a>, cfg: &'a resolved::Config) -> Names<'a> {
        let declared = cfg
            .providers
            .iter()
            .flat_map(|p| p.models.iter().map(|m| m.id.as_str()));
        Names {
            cx,
            bare: cfg
                .models
                .iter()
                .map(|m| m.name.value.as_str())
                .chain(declared)
                .collect(),
            presets: cfg.presets.iter().map(|p| p.name.value.as_str()).collect(),
            variants: cfg.variants.iter().map(|v| v.name.value.as_str()).collect(),
        }
    }

    fn check(&self, acc: &mut Diagnostics, path: &str, m: &Spanned<String>, allow: Allow) {
        if let Err((message, help)) = self.resolve(&m.value, allow) {
            // A section that could define the name is unreadable (a YAML syntax error in it),
            // and already reported.
            if ["providers", "models", "presets", "variants"]
                .iter()
                .any(|s| acc.is_unreadable(s))
            {
                return;
            }
            acc.push(
                Diagnostic::error(Code::UnknownModel, path, message)
                    .at(m.span)
                    .help_opt(help),
            );
        }
    }

    /// Mirrors `RoutingTable::route`: `:variant`, `@preset`, virtual or declared id,
    /// `provider:model`, `provider/model`.
    fn resolve(&self, name: &str, allow: Allow) -> Result<(), (String, Option<String>)> {
        if name.trim().is_empty() {
            return Err((
                "the model name is empty".to_owned(),
                Some("name a virtual model, `provider:model` or a declared model id".to_owned()),
            ));
        }
        let mut base = name;
        if let Some((b, suffix)) = name.rsplit_once(':') {
            if self.variants.contains(suffix) {
                if !allow.variant {
                    return Err((
                        format!(
                            "`{name}` uses the variant suffix `:{suffix}`, which a preset cannot"
                        ),
                        Some("name the model without `:variant`".to_owned()),
                    ));
                }
                base = b;
            }
        }
        if let Some(preset) = base.strip_prefix('@') {
            if !allow.preset {
                return Err((
                    format!("`{name}` names a preset; a preset cannot refer to another preset"),
                    Some("name a model here".to_owned()),
                ));
            }
            if self.presets.contains(preset) {
                return Ok(());
            }
            let help = did_you_mean(preset, self.presets.iter().copied())
                .map(|s| format!("did you mean `@{s}`?"));
            return Err((format!("unknown preset `@{preset}`"), help));
        }
        if self.bare.contains(base) {
            return Ok(());
        }
        for sep in [':', '/'] {
            if let Some((p, model)) = base.split_once(sep) {
                if self.cx.providers.contains_key(p) && !model.is_empty() {
                    return Ok(());
                }
            }
        }
        let help = did_you_mean(base, self.bare.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| Some("use a virtual model, `provider:model`, `provider/model` or a model id a provider declares".to_owned()));
        Err((format!("unknown model `{base}`"), help))
    }
}
