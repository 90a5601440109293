//! Tests for commit-point classification and terminal error frames.

use super::*;
use crate::json::PooledScratch;
use crate::responses::classify::find_u64;

fn err(kind: ErrorKind, message: &str) -> Class {
    Class::Error(ErrorInfo {
        kind,
        message: message.into(),
    })
}

fn classes(p: Protocol, strip: bool, events: &[&str]) -> Vec<Class> {
    let mut s = PooledScratch::take();
    let mut i = Inspector::new(p, strip, false, "m");
    events
        .iter()
        .map(|e| i.classify(e.as_bytes(), s.get(), true))
        .collect()
}

#[test]
fn chat_commits_on_content_not_on_the_role_chunk() {
    let c = classes(
        Protocol::ChatCompletions,
        true,
        &[
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0}]}}]}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\n",
            "data: {\"error\":{\"message\":\"quota\"}}\n\n",
            "data: {nope\n\n",
            "data: [DONE]\n\n",
        ],
    );
    assert_eq!(
        c,
        [
            Class::Lifecycle,
            Class::Content,
            Class::Content,
            Class::Drop,
            err(ErrorKind::Server, "quota"),
            Class::Malformed,
            Class::Terminal
        ]
    );
}

#[test]
fn usage_chunk_is_kept_when_the_caller_asked() {
    let c = classes(
        Protocol::ChatCompletions,
        false,
        &["data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\n"],
    );
    assert_eq!(c, [Class::Lifecycle]);
    let mut s = PooledScratch::take();
    let mut i = Inspector::new(Protocol::ChatCompletions, true, false, "m");
    let usage = "data: {\"choices\": [], \"usage\" : {\"prompt_tokens\":1}}\n\n";
    assert_eq!(i.classify(usage.as_bytes(), s.get(), false), Class::Drop);
    let null = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":null}\n\n";
    assert_eq!(i.classify(null.as_bytes(), s.get(), false), Class::Content);
}

#[test]
fn anthropic_lifecycle_and_errors() {
    let c = classes(
        Protocol::Messages,
        false,
        &[
            "event: message_start\ndata: {\"type\":\"message_start\"}\n\n",
            "event: ping\ndata: {\"type\":\"ping\"}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\"}\n\n",
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\"}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
            "data: {\"type\":\"ping\"}\n\n",
        ],
    );
    assert_eq!(
        c,
        [
            Class::Lifecycle,
            Class::Lifecycle,
            Class::Lifecycle,
            err(ErrorKind::Overloaded, "Overloaded"),
            Class::Content,
            Class::Terminal,
            Class::Malformed
        ]
    );
}

#[test]
fn responses_lifecycle_and_failed_frame_continues_the_sequence() {
    let mut s = PooledScratch::take();
    let mut i = Inspector::new(Protocol::Responses, false, false, "gpt");
    let created = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"created_at\":7}}\n\n";
    assert_eq!(
        i.classify(created.as_bytes(), s.get(), true),
        Class::Lifecycle
    );
    let delta = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":4,\"delta\":\"Hi\"}\n\n";
    assert_eq!(i.classify(delta.as_bytes(), s.get(), false), Class::Content);
    let frame = i.terminal_error(ErrorKind::BadGateway, "cut");
    let text = std::str::from_utf8(&frame).unwrap();
    let data: serde_json::Value =
        serde_json::from_str(text.split_once("data: ").unwrap().1.trim()).unwrap();
    assert!(text.starts_with("event: response.failed\n"));
    assert_eq!(data["sequence_number"], 5);
    assert_eq!(data["response"]["id"], "resp_1");
    assert_eq!(data["response"]["status"], "failed");
}

#[test]
fn gemini_content_finish_and_errors() {
    let c = classes(
        Protocol::GenerateContent,
        false,
        &[
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\"}],\"role\":\"model\"}}]}\r\n\r\n",
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hel\"}],\"role\":\"model\"}}]}\r\n\r\n",
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{}}}]}}]}\r\n\r\n",
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\"}]},\"finishReason\":\"STOP\"}]}\r\n\r\n",
            "data: {\"error\":{\"code\":500,\"message\":\"boom\",\"status\":\"INTERNAL\"}}\r\n\r\n",
        ],
    );
    assert_eq!(
        c,
        [
            Class::Lifecycle,
            Class::Content,
            Class::Content,
            Class::Terminal,
            err(ErrorKind::Server, "boom")
        ]
    );
}

#[test]
fn terminal_errors_are_each_protocols_own_frame() {
    let frame = |p: Protocol, json_array: bool| {
        let mut i = Inspector::new(p, false, json_array, "m");
        let f = i.terminal_error(ErrorKind::BadGateway, "x");
        assert_eq!(i.ending(), Ending::Failed);
        f
    };
    let f = frame(Protocol::ChatCompletions, false);
    assert!(f.starts_with(b"data: {\"error\":"));
    assert!(memchr::memmem::find(&f, b"[DONE]").is_none());
    assert!(frame(Protocol::Messages, false).starts_with(b"event: error\ndata: "));
    let g = frame(Protocol::GenerateContent, false);
    assert_eq!(
        &g[..],
        b"data: {\"error\":{\"code\":502,\"message\":\"x\",\"status\":\"UNAVAILABLE\"}}\n\n"
    );
    // A JSON-array caller that got nothing yet still gets a whole array.
    let a = frame(Protocol::GenerateContent, true);
    assert_eq!(
        &a[..],
        b"[{\"error\":{\"code\":502,\"message\":\"x\",\"status\":\"UNAVAILABLE\"}}]"
    );
    let mut i = Inspector::new(Protocol::GenerateContent, false, true, "m");
    assert_eq!(
        i.forward(Bytes::from_static(b"data: {\"a\":1}\r\n\r\n"))
            .as_deref(),
        Some(&b"[{\"a\":1}"[..])
    );
    assert_eq!(
        &i.terminal_error(ErrorKind::Timeout, "y")[..],
        b",\r\n{\"error\":{\"code\":504,\"message\":\"y\",\"status\":\"DEADLINE_EXCEEDED\"}}]"
    );
}

/// The same failure ends a passthrough stream and a translated stream with the same frame: the
/// router writes both with one function per protocol.
#[test]
fn passthrough_and_translated_streams_fail_alike() {
    use crate::stream::{Ctx, Translator};
    let ctx = Ctx {
        model: "m",
        include_usage: false,
        json_array: false,
        created: 1,
        seed: 7,
    };
    let upstream_of = |p: Protocol| {
        if p == Protocol::ChatCompletions {
            Protocol::Messages
        } else {
            Protocol::ChatCompletions
        }
    };
    for caller in Protocol::ALL {
        for kind in [
            ErrorKind::BadGateway,
            ErrorKind::Timeout,
            ErrorKind::Overloaded,
        ] {
            let mut i = Inspector::new(caller, false, false, "m");
            let passthrough = i.terminal_error(kind, "upstream cut");
            let mut t = Translator::new(upstream_of(caller), caller, &ctx);
            t.fail(kind, "upstream cut");
            let translated = t.take().unwrap_or_default();
            let last = |b: &[u8]| {
                let text = String::from_utf8(b.to_vec()).unwrap();
                let frame = text.trim_end().rsplit("\n\n").next().unwrap().to_owned();
                let data = frame.rsplit("data: ").next().unwrap().to_owned();
                let mut v: serde_json::Value = serde_json::from_str(&data).unwrap();
                // Ids, sequence numbers and timestamps differ by construction.
                if let Some(r) = v.get_mut("response") {
                    for k in ["id", "created_at", "output"] {
                        r.as_object_mut().unwrap().remove(k);
                    }
                }
                v.as_object_mut().unwrap().remove("sequence_number");
                (frame.lines().next().unwrap().to_owned(), v)
            };
            let (pe, pv) = last(&passthrough);
            let (te, tv) = last(&translated);
            assert_eq!(pv, tv, "{caller:?} {kind:?}");
            assert_eq!(
                pe.starts_with("event:"),
                te.starts_with("event:"),
                "{caller:?}"
            );
        }
    }
}

#[test]
fn numbers_after_keys() {
    assert_eq!(
        find_u64(b"{\"sequence_number\": 12,", b"\"sequence_number\""),
        Some(12)
    );
    assert_eq!(find_u64(b"{}", b"\"sequence_number\""), None);
}
