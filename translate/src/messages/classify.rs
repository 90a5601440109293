//! Anthropic events for a passthrough relay: `message_start`, `ping` and `content_block_start`
//! are lifecycle, any other named event commits, `message_stop` is the end, `error` is an
//! error event; an event without a name is malformed on this wire.

use simd_json::prelude::*;

use crate::ir::ErrorKind;
use crate::json::Scratch;
use crate::passthrough::Class;
use crate::stream::decode::error_of;

pub(crate) fn classify(
    name: Option<&[u8]>,
    data: &[u8],
    scratch: &mut Scratch,
    deep: bool,
) -> Class {
    let Some(name) = name else {
        return Class::Malformed;
    };
    match name {
        b"message_start" | b"ping" | b"content_block_start" => {
            if deep && scratch.parse(data, |_| ()).is_err() {
                return Class::Malformed;
            }
            Class::Lifecycle
        }
        b"message_stop" => Class::Terminal,
        b"error" => scratch
            .parse(data, |v| match v.get("error").filter(|e| !e.is_null()) {
                Some(e) => {
                    let (kind, message) = error_of(&e);
                    Class::error(kind, message)
                }
                None => Class::error(ErrorKind::Server, ""),
            })
            .unwrap_or_else(|_| Class::error(ErrorKind::Server, "")),
        _ => {
            if deep && scratch.parse(data, |_| ()).is_err() {
                return Class::Malformed;
            }
            Class::Content
        }
    }
}
