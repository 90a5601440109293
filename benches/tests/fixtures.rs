//! The bench fixtures compile cleanly: the small config, the default large config, and large
//! configs of other sizes and seeds; generation is deterministic; every sample name routes.

use benches::{Large, LargeSpec, large};
use compiler::table::RouteKind;

/// Compiles in strict mode and requires no errors and no warnings.
fn compile_clean(l: &Large) -> compiler::RoutingTable {
    let c = match l.fixture.compile() {
        Ok(c) => c,
        Err(d) => panic!("{:?} does not compile:\n{}", l.spec, l.fixture.render(&d)),
    };
    assert!(
        c.warnings.is_empty(),
        "{:?} has warnings:\n{}",
        l.spec,
        l.fixture.render(&c.warnings)
    );
    c.table
}

#[test]
fn small_config_compiles_without_warnings() {
    let f = benches::small();
    let c = f.compile().unwrap_or_else(|d| panic!("{}", f.render(&d)));
    assert!(c.warnings.is_empty(), "{}", f.render(&c.warnings));
    let route = c.table.route("smart").unwrap();
    assert_eq!(route.len(), 2);
}

#[test]
fn default_large_config_compiles_and_has_the_advertised_size() {
    let l = benches::large();
    let table = compile_clean(&l);
    let in_file: Vec<_> = table.providers().iter().filter(|p| p.in_file).collect();
    assert_eq!(in_file.len(), 1_000);
    assert!(
        table.providers().len() > 1_000,
        "the built-in registry is kept"
    );
    let declared_entries: usize = in_file.iter().map(|p| p.declared_models().count()).sum();
    // Every generated model is declared; the `adhoc` preset adds one undeclared target.
    assert_eq!(declared_entries, 10_000 + 1);
    assert_eq!(table.virtual_models().len(), 1_000);
    assert_eq!(table.presets().len(), 5);
    assert_eq!(table.variants().len(), 4);
    assert!(
        in_file.iter().any(|p| p.derives_chain.len() == 3),
        "a derives chain of three"
    );
    assert!(
        in_file
            .iter()
            .any(|p| p.derives_chain.len() == 2 && &*p.derives_chain[1] == "anthropic"),
        "derives from the registry"
    );
    assert!(
        l.fixture.len() > 1_000_000,
        "about a megabyte of YAML, got {}",
        l.fixture.len()
    );
}

#[test]
fn every_sample_name_routes_as_expected() {
    let l = benches::large();
    let table = compile_clean(&l);
    let n = &l.names;
    let kind = |name: &str| {
        table
            .route(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .kind
    };
    assert_eq!(kind(&n.virtual_model), RouteKind::Virtual);
    assert_eq!(kind(&n.provider_colon), RouteKind::Direct);
    assert_eq!(kind(&n.provider_slash), RouteKind::Direct);
    assert_eq!(kind(&n.declared), RouteKind::Declared);
    assert_eq!(kind(&n.declared_shared), RouteKind::Declared);
    assert!(
        table.route(&n.declared_shared).unwrap().len() > 1,
        "a shared id has several hops"
    );
    assert!(table.route(&n.preset).unwrap().preset.is_some());
    let v = table.route(&n.variant).unwrap();
    assert!(v.variant.is_some() && v.len() >= 2);
    let u = table.route(&n.undeclared).unwrap();
    assert!(
        u.hops().all(|h| h.target.is_none()),
        "sent upstream as written"
    );
    assert!(table.route(&n.unknown).is_err());
    for (_, name) in n.routable() {
        assert!(table.route(name).is_ok(), "{name}");
    }
}

#[test]
fn generation_is_deterministic() {
    let a = benches::large();
    let b = benches::large();
    assert_eq!(a.fixture.source.text(), b.fixture.source.text());
    assert_eq!(a.names, b.names);
    let other = large::generate(LargeSpec {
        seed: 7,
        ..LargeSpec::DEFAULT
    });
    assert_ne!(a.fixture.source.text(), other.fixture.source.text());
}

#[test]
fn other_sizes_and_seeds_compile() {
    for seed in 0..8 {
        for (providers, models, virtuals) in [(20, 10, 4), (57, 12, 90), (250, 10, 500)] {
            let spec = LargeSpec {
                providers,
                models_per_provider: models,
                virtual_models: virtuals,
                seed,
            };
            let l = large::generate(spec);
            let table = compile_clean(&l);
            for (label, name) in l.names.routable() {
                assert!(
                    table.route(name).is_ok(),
                    "{spec:?}: {label} `{name}` does not route"
                );
            }
        }
    }
}

#[test]
fn both_yaml_readers_give_the_same_tree_for_the_fixtures() {
    use compiler::syntax::{Reader, compare_readers};
    for f in [&benches::small(), &benches::large().fixture] {
        // The event reader builds them (the fast path the benchmark measures), and its tree is
        // serde-saphyr's, node for node and span for span.
        assert_eq!(
            compare_readers(&f.source),
            Ok(Reader::Events),
            "{}",
            f.source.name()
        );
    }
}
