//! Anthropic Messages whole answers to and from the IR.

use serde_json::Value;

use crate::ir;
use crate::stream::Ctx;

pub(super) fn decode(v: &Value, ctx: &Ctx<'_>) -> Result<ir::Response, String> {
    let _ = (v, ctx);
    Err("not yet".into())
}

pub(super) fn encode(r: &ir::Response, ctx: &Ctx<'_>) -> Value {
    let _ = (r, ctx);
    Value::Null
}
