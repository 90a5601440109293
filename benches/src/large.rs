//! A deterministic generator of large `bitrouter.yaml` files, for compile and lookup benches.
//!
//! [`LargeSpec::DEFAULT`] gives 1,000 providers × 10 declared models (10,000 model entries), 1,000
//! virtual models of 2–4 endpoints each, 5 presets and 4 variants. The built-in registry is kept
//! (`inherit_defaults` is left at its default, `true`), as in a real deployment: the table also
//! holds the registry's providers, and some generated providers `derive` from them.
//!
//! Providers cycle through ten shapes (`i % 10`) so every compiler path is exercised:
//!
//! | `i % 10` | shape |
//! |---|---|
//! | 0 | `api_protocol` patterns: `"claude*": messages`, `"gpt-4*": [chat_completions, responses]`, `"*": [chat_completions, responses]` |
//! | 1 | patterns with an exact model id, `"llama*"` and `"*"` |
//! | 2 | `api_protocol: chat_completions` |
//! | 3 | `api_protocol: [responses, chat_completions]` |
//! | 4 | `derives` the shape-0 provider before it (inherits its patterns and headers) |
//! | 5 | `derives: anthropic` (the registry entry), own `api_base` and headers |
//! | 6 | no `api_protocol` (inferred from the host), private address with `allow_private`, no key |
//! | 7 | `api_protocol: messages`, headers and timeouts |
//! | 8 | `derives` the shape-4 provider before it (a chain of three) |
//! | 9 | `api_protocol: generate_content` on a `googleapis.com` host (Gemini URLs precomputed) |
//!
//! Randomness is a fixed-seed LCG: the same spec always gives byte-identical text.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::Fixture;

/// Sizes and seed of a generated configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LargeSpec {
    pub providers: usize,
    pub models_per_provider: usize,
    pub virtual_models: usize,
    pub seed: u64,
}

impl LargeSpec {
    /// 1,000 providers, 10,000 declared models, 1,000 virtual models.
    pub const DEFAULT: LargeSpec = LargeSpec {
        providers: 1_000,
        models_per_provider: 10,
        virtual_models: 1_000,
        seed: 0x5eed_b17e,
    };
}

impl Default for LargeSpec {
    fn default() -> Self {
        LargeSpec::DEFAULT
    }
}

/// Model names of every form, valid in the table generated from the same spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupNames {
    /// A virtual model (`vm-NNNN`).
    pub virtual_model: String,
    /// `provider:model` for a declared model.
    pub provider_colon: String,
    /// `provider/model` for a declared model.
    pub provider_slash: String,
    /// A bare id declared by exactly one provider.
    pub declared: String,
    /// A bare id declared by several providers (a multi-hop chain once there are over 100).
    pub declared_shared: String,
    /// `@preset`.
    pub preset: String,
    /// `virtual:variant`.
    pub variant: String,
    /// `provider:model` for a model the provider does not declare (routes, sent as written).
    pub undeclared: String,
    /// A name that does not route at all (the error path, which computes a suggestion).
    pub unknown: String,
}

impl LookupNames {
    /// `(label, name)` for every name that must route.
    pub fn routable(&self) -> [(&'static str, &str); 8] {
        [
            ("virtual", &self.virtual_model),
            ("provider:model", &self.provider_colon),
            ("provider/model", &self.provider_slash),
            ("declared", &self.declared),
            ("declared-shared", &self.declared_shared),
            ("@preset", &self.preset),
            ("virtual:variant", &self.variant),
            ("provider:undeclared", &self.undeclared),
        ]
    }
}

/// A generated configuration and names to look up in it.
#[derive(Clone, Debug)]
pub struct Large {
    pub fixture: Fixture,
    pub names: LookupNames,
    pub spec: LargeSpec,
}

/// Number of distinct `${BENCH_KEY_N}` variables the providers read.
const KEYS: usize = 32;

/// Ids shared by several providers: model 0 of provider `i` is `shared-{i % SHARED}`.
const SHARED: usize = 100;

/// Knuth's MMIX LCG; the high bits are the output.
#[derive(Clone, Debug)]
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn provider_name(i: usize) -> String {
    format!("p{i:04}")
}

/// The id of provider `i`'s `j`th declared model.
fn model_id(i: usize, j: usize) -> String {
    match j % 10 {
        0 if j == 0 => format!("shared-{:02}", i % SHARED),
        1 | 2 => format!("claude-{i:04}-{j}"),
        3 | 4 => format!("gpt-4o-{i:04}-{j}"),
        5 => format!("gemini-{i:04}-{j}"),
        6 | 7 => format!("llama-{i:04}-{j}"),
        8 => format!("mistral-{i:04}-{j}"),
        _ => format!("qwen-{i:04}-{j}"),
    }
}

fn virtual_name(k: usize) -> String {
    if k % 50 == 0 {
        format!("team-{}/vm-{k:04}", k / 50 % 5)
    } else {
        format!("vm-{k:04}")
    }
}

/// Appends one formatted line (writing to a `String` cannot fail).
macro_rules! line {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

/// Generates the configuration for `spec`.
pub fn generate(spec: LargeSpec) -> Large {
    assert!(
        spec.providers >= 20,
        "the shapes and presets need at least 20 providers"
    );
    assert!(
        spec.models_per_provider >= 10,
        "every model family needs a slot"
    );
    assert!(spec.virtual_models >= 4, "need a few virtual models");
    let mut rng = Lcg(spec.seed);
    let mut out = String::with_capacity(
        spec.providers * spec.models_per_provider * 110 + spec.virtual_models * 300,
    );
    line!(
        out,
        "# Generated by benches::large::generate({spec:?}); do not edit."
    );
    line!(
        out,
        "server:\n  listen: 127.0.0.1:4356\n  log_level: info\n  timeouts:\n    connect: 5s\n    first_byte: 60s"
    );
    line!(out, "providers:");
    for i in 0..spec.providers {
        provider(&mut out, &mut rng, spec, i);
    }
    line!(out, "models:");
    for k in 0..spec.virtual_models {
        virtual_model(&mut out, &mut rng, spec, k);
    }
    presets_and_variants(&mut out, spec);

    let mut env: HashMap<String, String> = (0..KEYS)
        .map(|n| (format!("BENCH_KEY_{n}"), format!("sk-bench-{n:02}")))
        .collect();
    env.insert("OPENAI_API_KEY".into(), "sk-bench-openai".into());
    env.insert("ANTHROPIC_API_KEY".into(), "sk-bench-anthropic".into());

    let at = |frac: usize| spec.providers * frac / 1000;
    let (colon, slash, declared) = (at(123), at(456), at(787));
    let names = LookupNames {
        virtual_model: virtual_name(spec.virtual_models / 2 + 1),
        provider_colon: format!("{}:{}", provider_name(colon), model_id(colon, 3)),
        provider_slash: format!("{}/{}", provider_name(slash), model_id(slash, 1)),
        declared: model_id(declared, 6),
        declared_shared: model_id(at(42), 0),
        preset: "@coder".into(),
        variant: format!("{}:rr", virtual_name(spec.virtual_models / 2 + 1)),
        undeclared: format!("{}:unknown-model", provider_name(colon)),
        unknown: "no-such-model".into(),
    };
    Large {
        fixture: Fixture::new(
            format!("large-{}x{}.yaml", spec.providers, spec.models_per_provider),
            out,
            env,
        ),
        names,
        spec,
    }
}

fn provider(out: &mut String, rng: &mut Lcg, spec: LargeSpec, i: usize) {
    let name = provider_name(i);
    line!(out, "  {name}:");
    let shape = i % 10;
    match shape {
        6 => {
            line!(
                out,
                "    api_base: http://10.{}.{}.{}:8000/v1",
                i / 65536 % 256,
                i / 256 % 256,
                i % 256
            );
            line!(out, "    allow_private: true");
        }
        9 => line!(out, "    api_base: https://gen-{i:04}.googleapis.com"),
        5 => line!(out, "    api_base: https://{name}.example.com"),
        7 => line!(out, "    api_base: https://{name}.example.com/anthropic/"),
        _ => line!(out, "    api_base: https://api.{name}.example.com/v1"),
    }
    if shape != 6 {
        if rng.below(10) == 0 {
            line!(out, "    api_key: sk-literal-{name}");
        } else {
            line!(out, "    api_key: ${{BENCH_KEY_{}}}", i % KEYS);
        }
    }
    match shape {
        0 => {
            line!(out, "    api_protocol:");
            line!(out, "      - \"claude*\": messages");
            line!(out, "      - \"gpt-4*\": [chat_completions, responses]");
            line!(out, "      - \"*\": [chat_completions, responses]");
            line!(out, "    headers:\n      x-bench-tenant: tenant-{}", i % 7);
        }
        1 => {
            line!(out, "    api_protocol:");
            line!(
                out,
                "      - \"{}\": [responses, chat_completions]",
                model_id(i, 8)
            );
            line!(out, "      - \"llama*\": chat_completions");
            line!(out, "      - \"claude-{i:04}*\": messages");
            line!(out, "      - \"*\": chat_completions");
        }
        2 => line!(out, "    api_protocol: chat_completions"),
        3 => line!(out, "    api_protocol: [responses, chat_completions]"),
        4 | 8 => line!(out, "    derives: {}", provider_name(i - 4)),
        5 => {
            line!(out, "    derives: anthropic");
            line!(
                out,
                "    headers:\n      anthropic-beta: prompt-caching-2024-07-31"
            );
        }
        7 => {
            line!(out, "    api_protocol: messages");
            line!(out, "    headers:\n      x-bench-route: \"{i}\"");
            line!(out, "    timeouts:\n      connect: 2s\n      total: 5m");
        }
        9 => line!(out, "    api_protocol: generate_content"),
        _ => {}
    }
    line!(out, "    models:");
    let flow = i % 2 == 0;
    for j in 0..spec.models_per_provider {
        model(out, i, j, flow);
    }
}

fn model(out: &mut String, i: usize, j: usize, flow: bool) {
    let id = model_id(i, j);
    let mut fields: Vec<String> = vec![format!("id: {id}")];
    if j % 3 == 1 {
        fields.push(format!("upstream_id: vendor-{}/{id}-latest", i % 7));
    }
    if j % 10 == 9 {
        fields.push("api_protocol: responses".into());
    }
    if j % 2 == 0 {
        let input = (i * (j + 1) % 50) as f64 / 10.0 + 0.1;
        fields.push(format!(
            "pricing: {{ input: {input:.2}, output: {:.2}, cache_read: {:.3} }}",
            input * 4.0,
            input / 10.0
        ));
    }
    if j % 4 == 0 {
        fields.push(format!("context_window: {}", 32_768 << (j % 3)));
        fields.push("max_output_tokens: 8192".into());
    }
    if j % 5 == 0 {
        fields.push("capabilities: [tools, vision]".into());
    }
    if flow {
        line!(out, "      - {{ {} }}", fields.join(", "));
    } else {
        for (n, f) in fields.iter().enumerate() {
            line!(out, "      {} {f}", if n == 0 { "-" } else { " " });
        }
    }
}

fn virtual_model(out: &mut String, rng: &mut Lcg, spec: LargeSpec, k: usize) {
    line!(out, "  {}:", virtual_name(k));
    let strategy = ["priority", "round_robin", "weighted"][k % 3];
    line!(out, "    strategy: {strategy}");
    if k % 4 == 0 {
        line!(out, "    description: generated virtual model {k}");
    }
    line!(out, "    endpoints:");
    let n = 2 + rng.below(3);
    for e in 0..n {
        let (provider, model) = if k % 100 == 0 && e == n - 1 {
            ("openai".to_owned(), "gpt-4o".to_owned())
        } else {
            let p = rng.below(spec.providers);
            (
                provider_name(p),
                model_id(p, rng.below(spec.models_per_provider)),
            )
        };
        let key = if rng.below(5) == 0 {
            "model_id"
        } else {
            "service_id"
        };
        line!(out, "      - provider: {provider}");
        line!(out, "        {key}: {model}");
        if strategy == "weighted" {
            line!(out, "        weight: {}", 1 + rng.below(5));
        }
    }
}

fn presets_and_variants(out: &mut String, spec: LargeSpec) {
    line!(out, "presets:");
    line!(out, "  coder:\n    model: {}", virtual_name(1));
    line!(out, "    system_prompt: You are a careful programmer.");
    line!(
        out,
        "    params:\n      temperature: 0.2\n      max_tokens: 4096"
    );
    line!(
        out,
        "  direct:\n    model: {}:{}",
        provider_name(2),
        model_id(2, 3)
    );
    line!(
        out,
        "  slash:\n    model: {}/{}",
        provider_name(3),
        model_id(3, 1)
    );
    line!(out, "  bare:\n    model: {}", model_id(7, 0));
    line!(
        out,
        "  adhoc:\n    model: {}:not-declared-anywhere",
        provider_name(4)
    );
    line!(out, "variants:");
    line!(out, "  rr:\n    strategy: round_robin");
    line!(
        out,
        "  no-first-ten:\n    exclude_providers: [{}]",
        (0..10).map(provider_name).collect::<Vec<_>>().join(", ")
    );
    let half = spec.providers / 2;
    line!(
        out,
        "  second-half:\n    providers: [{}]",
        (half..half + 10)
            .map(provider_name)
            .collect::<Vec<_>>()
            .join(", ")
    );
    line!(out, "    strategy: priority");
    line!(out, "  wide:\n    providers:");
    for p in (0..spec.providers).step_by(7) {
        line!(out, "      - {}", provider_name(p));
    }
}
