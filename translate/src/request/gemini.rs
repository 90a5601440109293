//! Gemini generateContent request bodies to and from the IR.

use serde_json::{Map, Value};

use super::Error;
use crate::ir;

pub(super) fn decode(obj: Map<String, Value>, stream: bool) -> Result<ir::Request, Error> {
    let _ = (obj, stream);
    Err(Error::Unsupported("translation".into()))
}

pub(super) fn encode(req: &ir::Request) -> Result<Value, Error> {
    let _ = req;
    Err(Error::Unsupported("translation".into()))
}
