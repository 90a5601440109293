//! The Response object a Responses stream carries in its lifecycle events, and the
//! `response.failed` event that ends a stream after a failure — written here once for the
//! translating encoder and for the passthrough relay, so both end a failed stream the same way.

use bytes::BufMut;

use super::wire;
use crate::ir::{ErrorKind, Usage};
use crate::json::{push_json_str, push_u64};

/// The fields of a Response object snapshot that vary.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Snapshot<'a> {
    pub(crate) id: &'a str,
    pub(crate) created_at: u64,
    pub(crate) model: &'a str,
    pub(crate) status: &'a str,
    pub(crate) incomplete: Option<&'a str>,
    /// `error.code` and `error.message` of a failed response.
    pub(crate) error: Option<(&'a str, &'a str)>,
    /// The finished output items, as JSON joined by commas.
    pub(crate) output: &'a [u8],
    /// Terminal events carry the usage; the others `null`.
    pub(crate) usage: Option<&'a Usage>,
}

/// Writes the Response object.
pub(crate) fn snapshot<B: BufMut>(out: &mut B, s: &Snapshot<'_>) {
    out.put_slice(b"{\"id\":");
    push_json_str(out, s.id);
    out.put_slice(b",\"object\":\"response\",\"created_at\":");
    push_u64(out, s.created_at);
    out.put_slice(b",\"status\":");
    push_json_str(out, s.status);
    out.put_slice(b",\"error\":");
    match s.error {
        Some((code, message)) => {
            out.put_slice(b"{\"code\":");
            push_json_str(out, code);
            out.put_slice(b",\"message\":");
            push_json_str(out, message);
            out.put_slice(b"}");
        }
        None => out.put_slice(b"null"),
    }
    out.put_slice(b",\"incomplete_details\":");
    match s.incomplete {
        Some(reason) => {
            out.put_slice(b"{\"reason\":");
            push_json_str(out, reason);
            out.put_slice(b"}");
        }
        None => out.put_slice(b"null"),
    }
    out.put_slice(b",\"instructions\":null,\"max_output_tokens\":null,\"model\":");
    push_json_str(out, s.model);
    out.put_slice(b",\"output\":[");
    out.put_slice(s.output);
    out.put_slice(
        b"],\"parallel_tool_calls\":true,\"previous_response_id\":null,\
          \"reasoning\":{\"effort\":null,\"summary\":null},\"store\":false,\
          \"temperature\":null,\"text\":{\"format\":{\"type\":\"text\"}},\
          \"tool_choice\":\"auto\",\"tools\":[],\"top_p\":null,\
          \"truncation\":\"disabled\",\"usage\":",
    );
    match s.usage {
        Some(u) => wire::write_usage(out, u),
        None => out.put_slice(b"null"),
    }
    out.put_slice(b",\"user\":null,\"metadata\":{}}");
}

/// `event: <ty>` and the event's opening up to its `sequence_number`.
pub(crate) fn event_head<B: BufMut>(out: &mut B, ty: &str, seq: u64) {
    out.put_slice(b"event: ");
    out.put_slice(ty.as_bytes());
    out.put_slice(b"\ndata: {\"type\":");
    push_json_str(out, ty);
    out.put_slice(b",\"sequence_number\":");
    push_u64(out, seq);
}

/// The `response.failed` event that ends a stream after a failure (after the commit point).
#[derive(Debug)]
pub(crate) struct Failed<'a> {
    pub(crate) seq: u64,
    pub(crate) id: &'a str,
    pub(crate) created_at: u64,
    pub(crate) model: &'a str,
    /// The items finished before the failure (empty when the router does not track them).
    pub(crate) output: &'a [u8],
}

pub(crate) fn failed<B: BufMut>(out: &mut B, f: &Failed<'_>, kind: ErrorKind, message: &str) {
    event_head(out, "response.failed", f.seq);
    out.put_slice(b",\"response\":");
    snapshot(
        out,
        &Snapshot {
            id: f.id,
            created_at: f.created_at,
            model: f.model,
            status: "failed",
            incomplete: None,
            error: Some((wire::failed_code(kind), message)),
            output: f.output,
            usage: None,
        },
    );
    out.put_slice(b"}\n\n");
}
