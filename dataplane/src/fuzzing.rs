//! The request-parsing property that fuzzing and the corpus test both hold every input to.
//!
//! For any bytes as a request body, in each inbound protocol: `inspect` does not panic and
//! either refuses with a 400 or returns a model; then the passthrough rewrite does not panic
//! and its output is valid JSON whose top-level `model` (when the protocol carries one in the
//! body) is the new id. The same bytes, cut anywhere, fed to the SSE splitter and each
//! protocol's stream inspector, give the same events as whole and never panic.
//! Public (hidden) so the fuzz target and the corpus test share one copy.

use bytes::Bytes;
use compiler::table::Protocol;

use translate::ir::ErrorKind;
use translate::passthrough::Inspector;

use crate::json::PooledScratch;
use crate::request::{inspect, passthrough_body};
use crate::sse::Splitter;

/// Checks one input; returns what is wrong (a panic propagates as itself).
pub fn check(data: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut scratch = PooledScratch::take();
    let body = Bytes::copy_from_slice(data);
    for p in Protocol::ALL {
        let path_model = (p == Protocol::GenerateContent).then(|| "gemini-x".into());
        match inspect(scratch.get(), p, &body, path_model, false) {
            Err(e) if e.kind != ErrorKind::InvalidRequest => {
                problems.push(format!("{p:?}: refused with {:?}, not 400", e.kind));
            }
            Err(_) => {}
            Ok(info) => {
                if info.model.is_empty() {
                    problems.push(format!("{p:?}: accepted an empty model"));
                }
                let out = passthrough_body(
                    &body,
                    &info,
                    "up\"model\u{e9}",
                    p == Protocol::ChatCompletions,
                );
                match serde_json::from_slice::<serde_json::Value>(&out) {
                    // serde_json is stricter than simd-json (depth 128, lone surrogates):
                    // judge the rewrite only when serde_json accepts the input.
                    Err(_) if serde_json::from_slice::<serde_json::Value>(data).is_err() => {}
                    Err(e) => problems.push(format!("{p:?}: rewrite is not JSON: {e}")),
                    Ok(v) if p != Protocol::GenerateContent && v["model"] != "up\"model\u{e9}" => {
                        problems.push(format!("{p:?}: rewrite lost the model: {}", v["model"]));
                    }
                    Ok(v)
                        if p == Protocol::ChatCompletions
                            && v["stream_options"]["include_usage"] != true =>
                    {
                        problems.push(format!("{p:?}: include_usage not set"));
                    }
                    Ok(_) => {}
                }
            }
        }
    }
    let whole = events(data, &[]);
    let cut = data.len() / 3;
    if events(data, &[cut, cut * 2]) != whole {
        problems.push("SSE events depend on chunk boundaries".into());
    }
    for p in Protocol::ALL {
        for json_array in [false, true] {
            let mut i = Inspector::new(p, true, json_array, "m");
            for e in &whole {
                let _ = i.classify(e, scratch.get(), true);
                let _ = i.classify(e, scratch.get(), false);
                let _ = i.forward(e.clone());
            }
            let _ = i.terminal_error(ErrorKind::BadGateway, "x");
            let _ = i.finish();
        }
    }
    problems
}

fn events(data: &[u8], cuts: &[usize]) -> Vec<Bytes> {
    let mut s = Splitter::default();
    let mut out = Vec::new();
    let mut at = 0;
    for &c in cuts.iter().chain(std::iter::once(&data.len())) {
        let c = c.clamp(at, data.len());
        s.push(Bytes::copy_from_slice(&data[at..c]));
        at = c;
        while let Ok(Some(e)) = s.next_event() {
            out.push(e);
        }
    }
    out.extend(s.finish());
    out
}
