//! How a Gemini stream is framed, written once for the translating encoder and the passthrough
//! relay: SSE (`alt=sse`) carries each `GenerateContentResponse` as a `data:` line and nothing
//! else — no comments, `event:` lines or `[DONE]`, which google-genai rejects (E30, E34); without
//! `alt=sse` the whole stream is one JSON array (E35). There is no keep-alive frame.

use bytes::BufMut;

use super::wire;
use crate::ir::ErrorKind;

/// Framing state for one stream.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Framing {
    json_array: bool,
    /// An array element has been written (the next one is preceded by a comma).
    written: bool,
}

impl Framing {
    pub(crate) fn new(json_array: bool) -> Framing {
        Framing {
            json_array,
            written: false,
        }
    }

    pub(crate) fn json_array(&self) -> bool {
        self.json_array
    }

    /// Before one response object: `data: `, or the array's `[` / `,\r\n`.
    pub(crate) fn open<B: BufMut>(&mut self, out: &mut B) {
        if !self.json_array {
            out.put_slice(b"data: ");
        } else if self.written {
            out.put_slice(b",\r\n");
        } else {
            out.put_slice(b"[");
        }
        self.written = true;
    }

    /// After one response object.
    pub(crate) fn close<B: BufMut>(&self, out: &mut B) {
        if !self.json_array {
            out.put_slice(b"\n\n");
        }
    }

    /// One whole response object, framed.
    pub(crate) fn element<B: BufMut>(&mut self, out: &mut B, object: &[u8]) {
        self.open(out);
        out.put_slice(object);
        self.close(out);
    }

    /// The end of a stream: the array's `]` (`[]` when it had no element).
    pub(crate) fn finish<B: BufMut>(&mut self, out: &mut B) {
        if self.json_array {
            if !self.written {
                out.put_slice(b"[");
                self.written = true;
            }
            out.put_slice(b"]");
        }
    }
}

/// The error object that ends a stream after a failure, framed, and the stream's end.
pub(crate) fn stream_error<B: BufMut>(
    out: &mut B,
    framing: &mut Framing,
    kind: ErrorKind,
    message: &str,
) {
    framing.open(out);
    wire::error_body(out, kind, kind.status(), message);
    framing.close(out);
    framing.finish(out);
}
