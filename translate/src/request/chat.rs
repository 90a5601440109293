//! Chat Completions request bodies to and from the IR.

use serde_json::{Map, Value};

use super::Error;
use crate::ir;

pub(super) fn decode(obj: Map<String, Value>) -> Result<ir::Request, Error> {
    let _ = obj;
    Err(Error::Unsupported("translation".into()))
}

pub(super) fn encode(req: &ir::Request, model: &str, stream: bool) -> Result<Value, Error> {
    let _ = (req, model, stream);
    Err(Error::Unsupported("translation".into()))
}
