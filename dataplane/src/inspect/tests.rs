//! Tests for commit-point classification and terminal error frames.

use super::*;
use crate::json::PooledScratch;

fn classes(p: Protocol, strip: bool, events: &[&str]) -> Vec<Class> {
    let mut s = PooledScratch::take();
    let mut i = Inspector::new(p, strip, "m");
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
            Class::Error("quota".into()),
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
    let mut i = Inspector::new(Protocol::ChatCompletions, true, "m");
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
            Class::Error("Overloaded".into()),
            Class::Content,
            Class::Terminal,
            Class::Malformed
        ]
    );
}

#[test]
fn responses_lifecycle_and_failed_frame_continues_the_sequence() {
    let mut s = PooledScratch::take();
    let mut i = Inspector::new(Protocol::Responses, false, "gpt");
    let created = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"created_at\":7}}\n\n";
    assert_eq!(
        i.classify(created.as_bytes(), s.get(), true),
        Class::Lifecycle
    );
    let delta = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":4,\"delta\":\"Hi\"}\n\n";
    assert_eq!(i.classify(delta.as_bytes(), s.get(), false), Class::Content);
    let frame = i.terminal_error("cut", false);
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
            Class::Error("boom".into())
        ]
    );
}

#[test]
fn terminal_errors_are_each_protocols_own_frame() {
    let mut chat = Inspector::new(Protocol::ChatCompletions, false, "m");
    let f = chat.terminal_error("x", false);
    assert!(f.starts_with(b"data: {\"error\":"));
    assert!(memchr::memmem::find(&f, b"[DONE]").is_none());
    let mut ant = Inspector::new(Protocol::Messages, false, "m");
    assert!(
        ant.terminal_error("x", false)
            .starts_with(b"event: error\ndata: ")
    );
    let mut gem = Inspector::new(Protocol::GenerateContent, false, "m");
    assert!(
        gem.terminal_error("x", false)
            .starts_with(b"data: {\"error\"")
    );
    assert!(
        gem.terminal_error("x", true)
            .starts_with(b",\r\n{\"error\"")
    );
}

#[test]
fn numbers_after_keys() {
    assert_eq!(
        find_u64(b"{\"sequence_number\": 12,", b"\"sequence_number\""),
        Some(12)
    );
    assert_eq!(find_u64(b"{}", b"\"sequence_number\""), None);
}
