//! Entry points for `benches/benches/hygiene.rs`, which measures what the request hygiene
//! (`request::shape`) adds to reading a body. Public (hidden) so the bench can reach them;
//! nothing else uses them.

use compiler::table::Protocol;

use crate::json::PooledScratch;
use crate::request::{inspect, shape};

/// simd-json's parse alone: what reading a body cost before the hygiene rules.
pub fn parse(body: &[u8]) -> bool {
    let mut s = PooledScratch::take();
    s.get().parse_tape(body, |t| t.0.len()).is_ok_and(|n| n > 0)
}

/// Parse, then the hygiene rules: the difference from [`parse`] is their cost.
pub fn parse_and_check(protocol: Protocol, body: &[u8]) -> bool {
    let mut s = PooledScratch::take();
    s.get()
        .parse_tape(body, |t| shape::check(&t.0, protocol).is_ok())
        .unwrap_or(false)
}

/// Parses `body` once and hands `f` the hygiene check of that tape, to time it alone.
pub fn with_parsed<R>(
    protocol: Protocol,
    body: &[u8],
    f: impl FnOnce(&dyn Fn() -> bool) -> R,
) -> Option<R> {
    let mut s = PooledScratch::take();
    s.get()
        .parse_tape(body, |t| f(&|| shape::check(&t.0, protocol).is_ok()))
        .ok()
}

/// The whole of `request::inspect` (parse, hygiene, `model` / `stream`, byte positions).
pub fn inspect_body(protocol: Protocol, body: &[u8]) -> bool {
    let mut s = PooledScratch::take();
    let path_model = (protocol == Protocol::GenerateContent).then(|| "m".into());
    inspect(s.get(), protocol, body, path_model, false).is_ok()
}
