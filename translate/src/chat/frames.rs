//! The frames the router itself writes into a Chat Completions stream: the error chunk that
//! ends a stream after a failure (no `[DONE]` follows it, so the SDKs raise) and the SSE
//! comment keep-alive — the same bytes whether the stream is translated or passed through.

use bytes::BufMut;

use crate::ir::ErrorKind;
use crate::openai;

/// `data: {"error":{…}}`: ends a stream after a failure.
pub(crate) fn stream_error<B: BufMut>(out: &mut B, kind: ErrorKind, message: &str) {
    out.put_slice(b"data: ");
    openai::error_body(out, kind, message, None);
    out.put_slice(b"\n\n");
}

/// The keep-alive for a silent committed stream: an SSE comment, which the OpenAI SDKs skip.
pub(crate) const KEEPALIVE: &[u8] = b": ping\n\n";
