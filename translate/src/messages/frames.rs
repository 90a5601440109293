//! The frames the router itself writes into an Anthropic stream: the `error` event that ends
//! a stream after a failure and the `ping` keep-alive — the same bytes whether the stream is
//! translated or passed through.

use bytes::BufMut;

use super::wire;
use crate::ir::ErrorKind;

/// `event: error` with the error envelope: ends a stream after a failure.
pub(crate) fn stream_error<B: BufMut>(out: &mut B, kind: ErrorKind, message: &str) {
    out.put_slice(b"event: error\ndata: ");
    wire::error_body(out, kind, message);
    out.put_slice(b"\n\n");
}

/// Anthropic's own keep-alive event, which the SDKs skip.
pub(crate) const KEEPALIVE: &[u8] = b"event: ping\ndata: {\"type\":\"ping\"}\n\n";
