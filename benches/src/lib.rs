//! Shared fixtures for the benchmarks: the self-host guide's config, a generator for large
//! configs ([`large`]), the measured lookup operations ([`cases`]), a counting allocator
//! ([`alloc`]) and the allocations per translated stream event it measures
//! ([`alloc_per_event`]), the reload benchmark's configs ([`reload`]) and the bare hyper proxy
//! the load benchmark compares the data plane with ([`bare_proxy`]).

pub mod alloc;
pub mod alloc_per_event;
pub mod bare_proxy;
pub mod cases;
pub mod large;
pub mod reload;

use std::collections::HashMap;

use compiler::diagnostic::render::render_human;
use compiler::{Compiled, Diagnostic, EnvMode, RoutingTable, SourceFile};

pub use large::{Large, LargeSpec, LookupNames};

/// The self-host guide's example (a copy of `compiler/test_data/ok/001_self_host_guide.yaml`, so
/// the benches do not move when the golden tests are edited).
pub const SELF_HOST_GUIDE: &str = include_str!("../data/self_host_guide.yaml");

/// A configuration text with the environment it compiles in.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub source: SourceFile,
    pub env: HashMap<String, String>,
}

impl Fixture {
    pub fn new(
        name: impl Into<String>,
        text: impl Into<String>,
        env: HashMap<String, String>,
    ) -> Fixture {
        Fixture {
            source: SourceFile::new(name, text),
            env,
        }
    }

    /// The text's size in bytes (for `Throughput::Bytes`).
    pub fn len(&self) -> usize {
        self.source.text().len()
    }

    pub fn is_empty(&self) -> bool {
        self.source.text().is_empty()
    }

    /// Compiles in strict mode, as `serve` does.
    pub fn compile(&self) -> Result<Compiled, Vec<Diagnostic>> {
        compiler::compile(&self.source, &self.env, EnvMode::Strict)
    }

    /// Compiles in strict mode and returns the table; panics with the rendered diagnostics if
    /// there are any errors.
    pub fn table(&self) -> RoutingTable {
        match self.compile() {
            Ok(c) => c.table,
            Err(d) => panic!(
                "{} does not compile:\n{}",
                self.source.name(),
                self.render(&d)
            ),
        }
    }

    /// Diagnostics rendered as the CLI prints them (no colour).
    pub fn render(&self, diagnostics: &[Diagnostic]) -> String {
        render_human(&self.source, diagnostics, false)
    }
}

/// The small config: the self-host guide's two providers and one virtual model.
pub fn small() -> Fixture {
    let env = [
        ("OPENAI_API_KEY", "sk-bench-openai"),
        ("ANTHROPIC_API_KEY", "sk-bench-anthropic"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Fixture::new("self_host_guide.yaml", SELF_HOST_GUIDE, env)
}

/// The large config of [`LargeSpec::DEFAULT`]: 1,000 providers, 10,000 declared models, 1,000
/// virtual models.
pub fn large() -> Large {
    large::generate(LargeSpec::DEFAULT)
}
