//! The control endpoints' JSON: `GET /_mock/requests` renders the request log.
//!
//! (`POST /_mock/reset` and `GET /health` need no body worth a module; see `respond`.)

use serde_json::{Map, Value};

use crate::record::Recorded;

/// `[{"method","path","headers":{name: value},"body": <JSON, or the text>}]`, in arrival order.
/// Repeated header names are joined with `, `.
pub(crate) fn requests_json(requests: &[Recorded]) -> Vec<u8> {
    let list: Vec<Value> = requests
        .iter()
        .map(|r| {
            let mut headers = Map::new();
            for (name, value) in &r.headers {
                match headers.get_mut(name) {
                    Some(Value::String(joined)) => {
                        joined.push_str(", ");
                        joined.push_str(value);
                    }
                    _ => {
                        headers.insert(name.clone(), Value::String(value.clone()));
                    }
                }
            }
            let body = r
                .json()
                .unwrap_or_else(|| Value::String(String::from_utf8_lossy(&r.body).into_owned()));
            let mut o = Map::new();
            o.insert("method".to_owned(), Value::String(r.method.clone()));
            o.insert("path".to_owned(), Value::String(r.path.clone()));
            o.insert("headers".to_owned(), Value::Object(headers));
            o.insert("body".to_owned(), body);
            Value::Object(o)
        })
        .collect();
    Value::Array(list).to_string().into_bytes()
}
