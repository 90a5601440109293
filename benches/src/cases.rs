//! The lookup operations that are timed (`benches/lookup.rs`) and allocation-counted
//! (`tests/alloc.rs`), defined once so both measure exactly the same thing.

use std::hint::black_box;

use compiler::RoutingTable;
use compiler::table::{HopRef, Protocol, Route};

use crate::LookupNames;

/// One measured operation on a table.
pub struct Case<'a> {
    /// `group/form`, e.g. `route/provider:model`.
    pub label: String,
    /// The model name involved.
    pub name: &'a str,
    /// The operation; results go through `black_box`.
    pub run: Box<dyn Fn() + 'a>,
}

impl std::fmt::Debug for Case<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("label", &self.label)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn case<'a>(label: impl Into<String>, name: &'a str, run: impl Fn() + 'a) -> Case<'a> {
    Case {
        label: label.into(),
        name,
        run: Box::new(run),
    }
}

fn must<'a>(table: &'a RoutingTable, name: &'a str) -> Route<'a> {
    match table.route(name) {
        Ok(r) => r,
        Err(e) => panic!("`{name}` must route: {e}"),
    }
}

/// The first hop of `name` whose preferred protocol is not `generate_content` (the Gemini URL
/// is the one that may be built per request).
fn non_gemini_hop<'a>(table: &'a RoutingTable, name: &'a str) -> HopRef<'a> {
    match must(table, name)
        .hops()
        .find(|h| h.protocols().0.head() != Protocol::GenerateContent)
    {
        Some(h) => h,
        None => panic!("`{name}` has no non-Gemini hop"),
    }
}

/// A name that routes nowhere, 1 KiB long: what a careless or hostile caller can send.
pub fn long_unknown_name() -> String {
    "x".repeat(1024)
}

/// Every measured operation on `table`, a table compiled from the spec that gave `names`.
/// `long_unknown` is [`long_unknown_name`] (passed in so the cases can borrow it).
pub fn cases<'a>(
    table: &'a RoutingTable,
    names: &'a LookupNames,
    long_unknown: &'a str,
) -> Vec<Case<'a>> {
    let mut out = Vec::new();
    for (form, name) in names.routable() {
        out.push(case(format!("route/{form}"), name, move || {
            let _ = black_box(table.route(black_box(name)));
        }));
    }
    for (form, name) in [
        ("virtual", &*names.virtual_model),
        ("virtual:variant", &names.variant),
        ("declared-shared", &names.declared_shared),
        ("provider:undeclared", &names.undeclared),
    ] {
        let route = must(table, name);
        out.push(case(format!("hops/{form}"), name, move || {
            for h in black_box(&route).hops() {
                black_box(h);
            }
        }));
    }
    let declared = non_gemini_hop(table, &names.virtual_model);
    let undeclared = non_gemini_hop(table, &names.undeclared);
    for (form, name, hop) in [
        ("declared", &*names.virtual_model, declared),
        ("undeclared", &names.undeclared, undeclared),
    ] {
        out.push(case(format!("hop.protocols/{form}"), name, move || {
            black_box(black_box(&hop).protocols());
        }));
        let protocol = hop.protocols().0.head();
        out.push(case(format!("hop.url/{form}"), name, move || {
            black_box(black_box(&hop).url(black_box(protocol), false));
        }));
    }
    // What the data plane does per request: route, then every hop's protocol choice and URL.
    for (form, name) in [
        ("virtual", &*names.virtual_model),
        ("provider:model", &names.provider_colon),
    ] {
        out.push(case(format!("request/{form}"), name, move || {
            let Ok(route) = table.route(black_box(name)) else {
                return;
            };
            for h in route.hops() {
                let (protocol, _) = h.protocols().0.choose(Some(Protocol::ChatCompletions));
                black_box(h.url(protocol, false));
            }
        }));
    }
    // Error paths: `LookupError` carries no suggestion (callers ask `suggest` for one), so a
    // bad name allocates nothing either; the 1 KiB name shows the cost does not grow with it.
    for (form, name) in [
        ("unknown", &*names.unknown),
        ("unknown-1KiB", long_unknown),
        ("@unknown-preset", "@no-such-preset"),
    ] {
        out.push(case(format!("error/{form}"), name, move || {
            let _ = black_box(table.route(black_box(name)));
        }));
    }
    out
}
