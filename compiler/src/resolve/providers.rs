//! Providers: the built-in registry merge (`inherit_defaults`) and `derives` chains, giving
//! every provider its effective fields and recording where each came from.
//!
//! Precedence, field by field: what the file writes; then the `derives` parent (resolved the
//! same way first); then the registry entry with the same id; then, for timeouts,
//! `server.timeouts`. `derives` never passes on `api_key` or `api_base`. Environment
//! references in the user's file were expanded on the syntax tree already; those inherited
//! from the registry are expanded here, only for providers the configuration declares or
//! references.

use rustc_hash::{FxHashMap, FxHashSet};

use super::{Context, add_header, defaults, headers_into};
use crate::ast::{self, Field, NameMap};
use crate::diagnostic::{Code, Diagnostic, Diagnostics, suggest};
use crate::env::{self, EnvMode};
use crate::registry;
use crate::resolved::{self, Credential, Origin, Val};
use crate::source::Span;

/// Longest `derives` chain followed (keeps resolution's recursion shallow).
pub const MAX_DERIVES: usize = 16;

/// Every provider the file declares, then (with `inherit_defaults`) every other built-in.
pub(super) fn resolve(
    acc: &mut Diagnostics,
    cx: &Context<'_>,
    file: &ast::Config,
    inherit: bool,
    server_timeouts: &resolved::Timeouts,
) -> Vec<resolved::Provider> {
    let registry = registry::get();
    let used = referenced_providers(file);

    let mut names: Vec<&str> = file.providers.names().collect();
    if inherit {
        for name in registry.providers.names() {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }

    let index = |m: &'_ NameMap<ast::Provider>| -> FxHashMap<String, usize> {
        m.entries
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (k.value.clone(), i))
            .collect()
    };
    let mut r = Resolver {
        file: &file.providers,
        registry: &registry.providers,
        file_index: index(&file.providers),
        registry_index: index(&registry.providers),
        inherit,
        cx,
        used: &used,
        server_timeouts,
        done: FxHashMap::default(),
        stack: Vec::new(),
    };
    let names: Vec<String> = names.into_iter().map(str::to_owned).collect();
    for name in &names {
        r.resolve_rc(acc, name);
    }
    // Every child has dropped its parent's `Rc` by now: taking each out of the cache leaves it
    // the only owner, so nothing is copied.
    let mut done = std::mem::take(&mut r.done);
    names
        .iter()
        .filter_map(|n| done.remove(n).flatten())
        .map(|rc| std::rc::Rc::try_unwrap(rc).unwrap_or_else(|rc| (*rc).clone()))
        .collect()
}

struct Resolver<'a> {
    file: &'a NameMap<ast::Provider>,
    registry: &'a NameMap<ast::Provider>,
    file_index: FxHashMap<String, usize>,
    registry_index: FxHashMap<String, usize>,
    inherit: bool,
    cx: &'a Context<'a>,
    used: &'a FxHashMap<String, Span>,
    server_timeouts: &'a resolved::Timeouts,
    /// Providers resolved so far (derives parents are resolved before their children).
    done: FxHashMap<String, Option<std::rc::Rc<resolved::Provider>>>,
    /// The providers whose `derives` are being followed, for cycle detection.
    stack: Vec<String>,
}

impl Resolver<'_> {
    fn resolve_rc(
        &mut self,
        acc: &mut Diagnostics,
        name: &str,
    ) -> Option<std::rc::Rc<resolved::Provider>> {
        if let Some(done) = self.done.get(name) {
            return done.clone();
        }
        let p = self.resolve_uncached(acc, name).map(std::rc::Rc::new);
        self.done.insert(name.to_owned(), p.clone());
        p
    }

    fn resolve_uncached(
        &mut self,
        acc: &mut Diagnostics,
        name: &str,
    ) -> Option<resolved::Provider> {
        let own = self.file_index.get(name).map(|&i| &self.file.entries[i]);
        let builtin = self
            .registry_index
            .get(name)
            .map(|&i| &self.registry.entries[i].1);
        // With `inherit_defaults: false` a built-in is still there to be derived from.
        let base_builtin = if self.inherit || own.is_none() {
            builtin
        } else {
            None
        };
        if own.is_none() && builtin.is_none() {
            return None;
        }
        let path = format!("providers.{name}");
        let span = own.map(|(k, _)| k.span);
        let empty = ast::Provider::default();
        let file = own.map_or(&empty, |(_, p)| p);
        // A built-in used without a file entry is resolved from the registry alone.
        let from_registry_only = own.is_none();
        let written = |f: &dyn Fn(&ast::Provider) -> bool| !from_registry_only && f(file);

        // --- derives ---------------------------------------------------------------------
        let mut parent: Option<std::rc::Rc<resolved::Provider>> = None;
        let mut chain = vec![name.to_owned()];
        let derives = if from_registry_only {
            None
        } else {
            file.derives.spanned().cloned()
        };
        if let Some(d) = &derives {
            let pname = d.value.as_str();
            if let Some(pos) = self
                .stack
                .iter()
                .position(|n| n == pname)
                .or((pname == name).then_some(self.stack.len()))
            {
                let mut cycle: Vec<&str> = self.stack[pos..].iter().map(String::as_str).collect();
                cycle.push(name);
                cycle.push(pname);
                acc.push(
                    Diagnostic::error(Code::DerivesCycle, format!("{path}.derives"), format!("`derives` forms a cycle: {}", cycle.join(" -> ")))
                        .at(d.span)
                        .label("cycle closes here")
                        .help("a provider cannot inherit from itself, directly or through other providers"),
                );
            } else if self.chain_len(name) > MAX_DERIVES {
                // Reported once, where the chain crosses the limit, whatever the file's order;
                // providers further down are silenced. Keeps the recursion below shallow.
                if self.chain_len(pname) == MAX_DERIVES {
                    acc.push(
                        Diagnostic::error(Code::DerivesTooDeep, format!("{path}.derives"), format!("`derives` chain from `{name}` is longer than {MAX_DERIVES} providers"))
                            .at(d.span)
                            .help("derive from a provider nearer the end of the chain"),
                    );
                } else {
                    acc.poison(path.clone());
                }
            } else if !self.file_index.contains_key(pname)
                && !self.registry_index.contains_key(pname)
            {
                let candidates: Vec<&str> = self
                    .file
                    .names()
                    .chain(self.registry.names())
                    .filter(|n| *n != name)
                    .collect();
                acc.push(
                    Diagnostic::error(
                        Code::UnknownParent,
                        format!("{path}.derives"),
                        format!("provider `{name}` derives from unknown provider `{pname}`"),
                    )
                    .at(d.span)
                    .label("not a provider in this file or the built-in registry")
                    .help_opt(suggest(pname, &candidates)),
                );
            } else {
                self.stack.push(name.to_owned());
                parent = self.resolve_rc(acc, pname);
                self.stack.pop();
                if let Some(pp) = &parent {
                    chain.extend(pp.derives_chain.iter().cloned());
                }
            }
        }
        let pname = derives
            .as_ref()
            .map(|d| d.value.clone())
            .unwrap_or_default();

        // --- api_base and api_key: the file, else the registry (never the parent) ------------
        let api_base = match (&file.api_base, base_builtin.and_then(|b| b.api_base.get())) {
            (Field::Set(s), _) if !from_registry_only => Some(Val {
                value: s.value.clone(),
                origin: Origin::File(s.span),
            }),
            (Field::Invalid, _) if !from_registry_only => None,
            (_, Some(b)) => Some(Val {
                value: b.clone(),
                origin: Origin::Builtin,
            }),
            _ => None,
        };
        let credential = match (&file.api_key, base_builtin.and_then(|b| b.api_key.get())) {
            (Field::Set(s), _) if !from_registry_only => {
                if acc.is_poisoned(&format!("{path}.api_key")) {
                    // An unset `${VAR}`, already reported; the provider is unusable until it is set.
                    match env::expand(&s.value.0, &()).1.into_iter().next() {
                        Some(env::ExpandError::Unset { var, .. }) => Credential::Missing { var },
                        _ => Credential::None,
                    }
                } else if s.value.0.is_empty() {
                    Credential::None
                } else {
                    Credential::Set(s.value.0.clone())
                }
            }
            (Field::Invalid, _) if !from_registry_only => Credential::None,
            (_, Some(template)) => self.builtin_credential(acc, name, &path, span, &template.0),
            _ => Credential::None,
        };

        // --- protocol handling: file, parent, registry ---------------------------------------
        let api_protocol =
            if let (false, Some(s)) = (from_registry_only, file.api_protocol.spanned()) {
                Some(Val {
                    value: api_protocol(&s.value),
                    origin: Origin::File(s.span),
                })
            } else if written(&|f| f.api_protocol.is_invalid()) {
                None
            } else if let Some(pp) = parent.as_ref().and_then(|p| p.api_protocol.as_ref()) {
                Some(Val {
                    value: pp.value.clone(),
                    origin: Origin::Parent(pname.clone()),
                })
            } else {
                base_builtin
                    .and_then(|b| b.api_protocol.get())
                    .map(|v| Val {
                        value: api_protocol(v),
                        origin: Origin::Builtin,
                    })
            };

        // --- models: file, else parent's (if the file declares none), else registry ----------
        let (models, models_origin) =
            if let (false, Some(list)) = (from_registry_only, file.models.spanned()) {
                (
                    models_of(acc, &path, &list.value.0, true),
                    Some(Origin::File(list.span)),
                )
            } else if let Some(pp) = parent.as_ref().filter(|p| !p.models.is_empty()) {
                (pp.models.clone(), Some(Origin::Parent(pname.clone())))
            } else if let Some(list) = base_builtin.and_then(|b| b.models.get()) {
                (models_of(acc, &path, &list.0, false), Some(Origin::Builtin))
            } else {
                (Vec::new(), None)
            };

        // --- headers: union, the nearer definition winning per header ------------------------
        let mut headers: Vec<(String, ast::SecretText)> = Vec::new();
        if !from_registry_only {
            headers_into(acc, &format!("{path}.headers"), &file.headers, &mut headers);
        }
        if let Some(pp) = &parent {
            for (k, v) in &pp.headers {
                if !headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(k)) {
                    headers.push((k.clone(), v.clone()));
                }
            }
        }
        if let Some(b) = base_builtin {
            for (k, v) in b.headers.iter() {
                add_header(&mut headers, &k.value, v);
            }
        }

        // --- timeouts: file, else registry, else `server.timeouts`; allow_private: file, else
        // registry, else off ------------------------------------------------------------------
        let under = match base_builtin {
            Some(b) => defaults::timeouts(&b.timeouts, self.server_timeouts, false),
            None => *self.server_timeouts,
        };
        let timeouts = if from_registry_only {
            under
        } else {
            defaults::timeouts(&file.timeouts, &under, true)
        };
        let allow_private = match (from_registry_only, file.allow_private.get()) {
            (false, Some(&v)) => v,
            _ => base_builtin
                .and_then(|b| b.allow_private.get())
                .copied()
                .unwrap_or(defaults::ALLOW_PRIVATE),
        };

        Some(resolved::Provider {
            name: name.to_owned(),
            span,
            builtin: base_builtin.is_some(),
            api_base,
            credential,
            api_protocol,
            models,
            models_origin,
            derives,
            derives_chain: chain,
            headers,
            timeouts,
            allow_private,
        })
    }

    /// Number of `derives` steps from `name` (stops past the limit, and at a cycle).
    fn chain_len(&self, name: &str) -> usize {
        let mut seen: Vec<&str> = Vec::new();
        let mut cur = name;
        while let Some(parent) = self
            .file_index
            .get(cur)
            .and_then(|&i| self.file.entries[i].1.derives.get())
        {
            if seen.contains(&cur) || seen.len() > MAX_DERIVES {
                break;
            }
            seen.push(cur);
            cur = parent;
        }
        seen.len()
    }

    /// Expands the registry's `${VAR}` credential. Reported only for providers the file
    /// declares or references: an unused built-in without a key is simply unusable.
    fn builtin_credential(
        &self,
        acc: &mut Diagnostics,
        name: &str,
        path: &str,
        span: Option<Span>,
        template: &str,
    ) -> Credential {
        let (value, problems) = env::expand(template, self.cx.env);
        let Some(env::ExpandError::Unset { var, .. }) = problems.into_iter().next() else {
            return if value.is_empty() {
                Credential::None
            } else {
                Credential::Set(value)
            };
        };
        let blame = span.or_else(|| self.used.get(name).copied());
        if blame.is_some() {
            let msg = format!("provider `{name}` needs `{var}`, which is not set");
            let d = match self.cx.mode {
                EnvMode::Strict => Diagnostic::error(Code::EnvUnset, path, msg),
                EnvMode::Lenient => Diagnostic::warning(Code::EnvUnsetWarning, path, msg),
            };
            acc.push(
                d.at_opt(blame)
                    .label(format!("the built-in `{name}` provider reads its key from `{var}`"))
                    .help(format!("set `{var}` in the environment or the `.env` file, or give `{path}` an `api_key`")),
            );
        }
        Credential::Missing { var }
    }
}

fn models_of(
    acc: &mut Diagnostics,
    path: &str,
    list: &[ast::Spanned<ast::ProviderModel>],
    in_file: bool,
) -> Vec<resolved::Model> {
    let mut out: Vec<resolved::Model> = Vec::with_capacity(list.len());
    let mut seen: FxHashMap<&str, Option<Span>> = FxHashMap::default();
    for (i, entry) in list.iter().enumerate() {
        let m = &entry.value;
        let mpath = format!("{path}.models[{i}]");
        let Some(id) = m.id.spanned() else {
            if !m.id.is_invalid() && in_file {
                acc.push(
                    Diagnostic::error(
                        Code::MissingKey,
                        format!("{mpath}.id"),
                        "model entry has no `id`",
                    )
                    .at(entry.span)
                    .help("every entry under `models` needs `id: <model id>`"),
                );
            }
            continue;
        };
        if id.value.trim().is_empty() {
            if in_file {
                acc.push(
                    Diagnostic::error(
                        Code::InvalidName,
                        format!("{mpath}.id"),
                        "a model id cannot be empty",
                    )
                    .at(id.span),
                );
            }
            continue;
        }
        if let Some(first) = seen.insert(id.value.as_str(), Some(id.span)) {
            if in_file {
                let mut d = Diagnostic::error(
                    Code::DuplicateModel,
                    format!("{mpath}.id"),
                    format!("model `{}` is declared twice", id.value),
                )
                .at(id.span)
                .label("declared again here");
                if let Some(f) = first {
                    d = d.note(f, "first declared here");
                }
                acc.push(d.help("remove one of the entries"));
            }
            continue;
        }
        let price = |f: &Field<f64>, key: &str, acc: &mut Diagnostics| match f.spanned() {
            Some(s) if s.value < 0.0 || !s.value.is_finite() => {
                acc.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("{mpath}.pricing.{key}"),
                        "a price must be a non-negative number",
                    )
                    .at(s.span)
                    .help("prices are USD per million tokens"),
                );
                None
            }
            Some(s) => Some(s.value),
            None => None,
        };
        let pricing = resolved::Pricing {
            input: price(&m.pricing.input, "input", acc),
            output: price(&m.pricing.output, "output", acc),
            cache_read: price(&m.pricing.cache_read, "cache_read", acc),
            cache_write: price(&m.pricing.cache_write, "cache_write", acc),
        };
        out.push(resolved::Model {
            id: id.value.clone(),
            span: in_file.then_some(id.span),
            upstream_id: m.upstream_id.get().cloned(),
            api_protocol: m.api_protocol.get().map(protocols),
            pricing,
            context_window: m.context_window.get().copied(),
            max_output_tokens: m.max_output_tokens.get().copied(),
            capabilities: m
                .capabilities
                .get()
                .map(|c| c.iter().map(|s| s.value).collect())
                .unwrap_or_default(),
        });
    }
    out
}

/// Provider names the file refers to outside `providers` (first reference wins), so a built-in
/// pulled in only by reference still gets its missing key reported at that reference.
fn referenced_providers(file: &ast::Config) -> FxHashMap<String, Span> {
    let mut used: FxHashMap<String, Span> = FxHashMap::default();
    let mut add = |name: &str, span: Span| {
        used.entry(name.to_owned()).or_insert(span);
    };
    for (_, m) in file.models.iter() {
        for e in m.endpoints.items() {
            if let Some(p) = e.value.provider.spanned() {
                add(&p.value, p.span);
            }
        }
    }
    for (_, v) in file.variants.iter() {
        for p in v.providers.items() {
            add(&p.value, p.span);
        }
    }
    for (_, t) in file.server_tools.iter() {
        if let Some(p) = t.provider.spanned() {
            add(&p.value, p.span);
        }
    }
    let model_refs = file
        .presets
        .iter()
        .filter_map(|(_, p)| p.model.spanned())
        .chain(file.agents.iter().filter_map(|(_, a)| a.model.spanned()));
    let mut seen = FxHashSet::default();
    for m in model_refs {
        for sep in [':', '/'] {
            if let Some((p, _)) = m.value.split_once(sep) {
                if seen.insert((p.to_owned(), m.span)) {
                    add(p, m.span);
                }
            }
        }
    }
    used
}

fn protocols(list: &ast::ProtocolList) -> Vec<resolved::ProtocolName> {
    list.0.iter().map(|p| p.value).collect()
}

fn api_protocol(p: &ast::ApiProtocol) -> resolved::ApiProtocol {
    match p {
        ast::ApiProtocol::Protocols(list) => resolved::ApiProtocol::Protocols(protocols(list)),
        ast::ApiProtocol::Patterns(entries) => resolved::ApiProtocol::Patterns(
            entries
                .iter()
                .map(|e| resolved::PatternRule {
                    pattern: e.value.pattern.clone(),
                    protocols: protocols(&e.value.protocols.value),
                })
                .collect(),
        ),
    }
}
