//! Edge cases of whole-answer translation (docs/protocols.md#finish-reasons, #usage; E4, E6, E15,
//! E27, E37): usage, finish mapping, reasoning and refusals.

use compiler::table::Protocol;
use serde_json::json;

use super::{dec, enc, made_up};
use crate::ir::{Finish, Part, Reasoning, Response, ToolCall, Usage};

fn usage() -> Usage {
    Usage {
        input: 100,
        output: 50,
        cache_read: 30,
        cache_write: 10,
        reasoning: 20,
    }
}

#[test]
fn usage_is_written_per_wire_and_normalised_back() {
    let r = Response {
        parts: vec![Part::Text("hi".into())],
        usage: usage(),
        ..Response::default()
    };
    let chat = enc(Protocol::ChatCompletions, &r);
    assert_eq!(
        chat["usage"],
        json!({"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150,
          "prompt_tokens_details": {"cached_tokens": 30, "cache_write_tokens": 10},
          "completion_tokens_details": {"reasoning_tokens": 20}})
    );
    let resp = enc(Protocol::Responses, &r);
    assert_eq!(
        resp["usage"],
        json!({"input_tokens": 100,
          "input_tokens_details": {"cached_tokens": 30, "cache_write_tokens": 10},
          "output_tokens": 50, "output_tokens_details": {"reasoning_tokens": 20},
          "total_tokens": 150})
    );
    let msg = enc(Protocol::Messages, &r);
    assert_eq!(
        msg["usage"],
        json!({"input_tokens": 60, "cache_creation_input_tokens": 10,
          "cache_read_input_tokens": 30, "output_tokens": 50,
          "output_tokens_details": {"thinking_tokens": 20}})
    );
    let gem = enc(Protocol::GenerateContent, &r);
    assert_eq!(
        gem["usageMetadata"],
        json!({"promptTokenCount": 100, "candidatesTokenCount": 30, "totalTokenCount": 150,
          "thoughtsTokenCount": 20, "cachedContentTokenCount": 30})
    );
    for (p, body) in [
        (Protocol::ChatCompletions, chat),
        (Protocol::Responses, resp),
        (Protocol::Messages, msg),
    ] {
        assert_eq!(dec(p, &body).unwrap().usage, usage(), "{p:?}");
    }
    // Gemini has no cache-write count: the writes stay inside the prompt total.
    assert_eq!(
        dec(Protocol::GenerateContent, &gem).unwrap().usage,
        Usage {
            cache_write: 0,
            ..usage()
        }
    );
}

#[test]
fn gemini_candidates_count_that_already_includes_thoughts_is_not_added_twice() {
    let body = |candidates: u64, total: u64| {
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "x"}]},
          "finishReason": "STOP"}],
          "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": candidates,
            "thoughtsTokenCount": 20, "totalTokenCount": total}})
    };
    // Exclusive (documented): 10 + 30 + 20 = 60.
    let u = dec(Protocol::GenerateContent, &body(30, 60)).unwrap().usage;
    assert_eq!((u.output, u.reasoning), (50, 20));
    // Inclusive (older models): 10 + 50 = 60.
    let u = dec(Protocol::GenerateContent, &body(50, 60)).unwrap().usage;
    assert_eq!((u.output, u.reasoning), (50, 20));
}

#[test]
fn anthropic_cache_tokens_are_added_to_the_prompt_total() {
    let body = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "c",
      "content": [{"type": "text", "text": "x"}], "stop_reason": "end_turn", "stop_sequence": null,
      "usage": {"input_tokens": 5, "cache_creation_input_tokens": 7, "cache_read_input_tokens": 11,
        "output_tokens": 3}});
    let r = dec(Protocol::Messages, &body).unwrap();
    assert_eq!(
        r.usage,
        Usage {
            input: 23,
            output: 3,
            cache_read: 11,
            cache_write: 7,
            reasoning: 0
        }
    );
    assert_eq!(
        enc(Protocol::ChatCompletions, &r)["usage"]["prompt_tokens"],
        23
    );
}

#[test]
fn gemini_stop_with_a_call_is_a_tool_turn_for_every_caller() {
    // Gemini 3 style: the call has an id and a thought signature, text comes first.
    let body = json!({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Checking."},
        {"functionCall": {"id": "g1", "name": "get_weather", "args": {"location": "Paris"}},
         "thoughtSignature": "c2ln"}]}, "finishReason": "STOP", "index": 0}],
      "responseId": "r1"});
    let r = dec(Protocol::GenerateContent, &body).unwrap();
    assert_eq!(r.finish, Finish::ToolCalls);
    assert_eq!(
        r.parts[1],
        Part::ToolCall(ToolCall {
            id: "g1".into(),
            name: "get_weather".into(),
            arguments: r#"{"location":"Paris"}"#.into(),
            signature: Some("c2ln".into()),
            namespace: None,
        })
    );
    assert_eq!(
        enc(Protocol::ChatCompletions, &r)["choices"][0]["finish_reason"],
        "tool_calls"
    );
    assert_eq!(enc(Protocol::Messages, &r)["stop_reason"], "tool_use");
    let resp = enc(Protocol::Responses, &r);
    assert_eq!(resp["status"], "completed");
    assert_eq!(resp["output"][1]["type"], "function_call");
    assert_eq!(resp["output"][1]["call_id"], "g1");
    // Back to Gemini: the signature rides on the call part again.
    assert_eq!(
        enc(Protocol::GenerateContent, &r)["candidates"][0]["content"]["parts"][1],
        json!({"functionCall": {"id": "g1", "name": "get_weather", "args": {"location": "Paris"}},
          "thoughtSignature": "c2ln"})
    );
}

#[test]
fn parallel_gemini_calls_without_ids_get_distinct_made_up_ids() {
    let body = json!({"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "a", "args": {}}}, {"functionCall": {"name": "b"}}]},
        "finishReason": "STOP"}]});
    let r = dec(Protocol::GenerateContent, &body).unwrap();
    let ids: Vec<_> = r
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall(c) => Some((c.id.clone(), c.arguments.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        ids,
        vec![
            (made_up("call_", 0), "{}".into()),
            (made_up("call_", 1), "{}".into())
        ]
    );
}

#[test]
fn length_stays_length_even_after_a_call_and_is_incomplete_for_responses() {
    let r = dec(
        Protocol::GenerateContent,
        &json!({"candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {}}}]}, "finishReason": "MAX_TOKENS"}]}),
    )
    .unwrap();
    assert_eq!(r.finish, Finish::Length);
    let resp = enc(
        Protocol::Responses,
        &Response {
            parts: vec![Part::Text("cut".into())],
            finish: Finish::Length,
            ..Response::default()
        },
    );
    assert_eq!(resp["status"], "incomplete");
    assert_eq!(
        resp["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(resp["output"][0]["status"], "incomplete");
    assert_eq!(
        dec(Protocol::Responses, &resp).unwrap().finish,
        Finish::Length
    );
    let chat = enc(Protocol::ChatCompletions, &r);
    assert_eq!(chat["choices"][0]["finish_reason"], "length");
    assert_eq!(enc(Protocol::Messages, &r)["stop_reason"], "max_tokens");
    assert_eq!(
        enc(Protocol::GenerateContent, &r)["candidates"][0]["finishReason"],
        "MAX_TOKENS"
    );
}

#[test]
fn finish_reasons_map_both_ways() {
    let chat = |f: &str| {
        json!({"id": "x", "created": 1, "model": "m", "choices": [{"index": 0,
          "message": {"role": "assistant", "content": "t"}, "finish_reason": f}]})
    };
    let cases = [
        (
            Protocol::ChatCompletions,
            chat("content_filter"),
            Finish::ContentFilter,
        ),
        (
            Protocol::ChatCompletions,
            chat("function_call"),
            Finish::ToolCalls,
        ),
        (Protocol::ChatCompletions, chat("weird"), Finish::Other),
        (
            Protocol::Responses,
            json!({"status": "incomplete", "incomplete_details": {"reason": "content_filter"},
              "output": []}),
            Finish::ContentFilter,
        ),
        (
            Protocol::Messages,
            json!({"content": [], "stop_reason": "model_context_window_exceeded"}),
            Finish::Length,
        ),
        (
            Protocol::Messages,
            json!({"content": [], "stop_reason": "pause_turn"}),
            Finish::Other,
        ),
        (
            Protocol::GenerateContent,
            json!({"candidates": [{"finishReason": "RECITATION"}]}),
            Finish::ContentFilter,
        ),
        (
            Protocol::GenerateContent,
            json!({"candidates": [{"finishReason": "MALFORMED_FUNCTION_CALL"}]}),
            Finish::Other,
        ),
    ];
    for (p, body, want) in cases {
        assert_eq!(dec(p, &body).unwrap().finish, want, "{p:?} {body}");
    }
    let other = Response {
        finish: Finish::Other,
        ..Response::default()
    };
    assert_eq!(
        enc(Protocol::ChatCompletions, &other)["choices"][0]["finish_reason"],
        "stop"
    );
    assert_eq!(enc(Protocol::Responses, &other)["status"], "completed");
    assert_eq!(enc(Protocol::Messages, &other)["stop_reason"], "end_turn");
    assert_eq!(
        enc(Protocol::GenerateContent, &other)["candidates"][0]["finishReason"],
        "OTHER"
    );
}

#[test]
fn stop_sequence_is_kept_for_anthropic_callers() {
    let body = json!({"id": "msg_1", "content": [{"type": "text", "text": "a"}],
      "stop_reason": "stop_sequence", "stop_sequence": "###"});
    let r = dec(Protocol::Messages, &body).unwrap();
    assert_eq!(
        (r.finish, r.stop_sequence.as_deref()),
        (Finish::Stop, Some("###"))
    );
    let m = enc(Protocol::Messages, &r);
    assert_eq!(
        (&m["stop_reason"], &m["stop_sequence"]),
        (&json!("stop_sequence"), &json!("###"))
    );
    assert_eq!(
        enc(Protocol::ChatCompletions, &r)["choices"][0]["finish_reason"],
        "stop"
    );
}

#[test]
fn refusals_are_carried_to_every_caller() {
    let body = json!({"id": "chatcmpl-1", "created": 1, "model": "m", "choices": [{"index": 0,
      "message": {"role": "assistant", "content": null, "refusal": "I can't help with that."},
      "finish_reason": "stop"}]});
    let r = dec(Protocol::ChatCompletions, &body).unwrap();
    assert_eq!(
        r.parts,
        vec![Part::Refusal("I can't help with that.".into())]
    );
    let chat = enc(Protocol::ChatCompletions, &r);
    assert_eq!(
        chat["choices"][0]["message"],
        json!({"role": "assistant", "content": null, "refusal": "I can't help with that."})
    );
    let resp = enc(Protocol::Responses, &r);
    assert_eq!(
        resp["output"][0]["content"],
        json!([{"type": "refusal", "refusal": "I can't help with that."}])
    );
    assert_eq!(dec(Protocol::Responses, &resp).unwrap().parts, r.parts);
    let msg = enc(Protocol::Messages, &r);
    assert_eq!(
        msg["content"],
        json!([{"type": "text", "text": "I can't help with that."}])
    );
    assert_eq!(msg["stop_reason"], "refusal");
    let gem = enc(Protocol::GenerateContent, &r);
    assert_eq!(
        gem["candidates"][0]["content"]["parts"],
        json!([{"text": "I can't help with that."}])
    );
    assert_eq!(gem["candidates"][0]["finishReason"], "SAFETY");

    // Anthropic says it in the stop reason.
    let a = dec(
        Protocol::Messages,
        &json!({"content": [], "stop_reason": "refusal",
      "stop_details": {"type": "refusal"}}),
    )
    .unwrap();
    assert_eq!(a.finish, Finish::ContentFilter);
    assert_eq!(
        enc(Protocol::ChatCompletions, &a)["choices"][0]["finish_reason"],
        "content_filter"
    );
    let resp = enc(Protocol::Responses, &a);
    assert_eq!(
        (&resp["status"], &resp["incomplete_details"]),
        (&json!("incomplete"), &json!({"reason": "content_filter"}))
    );

    // Gemini: a blocked prompt has no candidates.
    let g = dec(
        Protocol::GenerateContent,
        &json!({"promptFeedback": {"blockReason": "SAFETY"},
      "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 4}}),
    )
    .unwrap();
    assert_eq!(
        (g.finish, g.parts.len(), g.usage.input),
        (Finish::ContentFilter, 0, 4)
    );
    let chat = enc(Protocol::ChatCompletions, &g);
    assert_eq!(chat["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(chat["choices"][0]["message"]["content"], json!(null));
    let g = dec(
        Protocol::GenerateContent,
        &json!({"promptFeedback": {"blockReason": "OTHER",
      "blockReasonMessage": "blocked"}}),
    )
    .unwrap();
    assert_eq!(g.parts, vec![Part::Refusal("blocked".into())]);
}

#[test]
fn reasoning_goes_where_each_caller_can_take_it() {
    let body = json!({"id": "msg_1", "content": [
        {"type": "thinking", "thinking": "Let me think.", "signature": "sig1"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "text", "text": "Done."}], "stop_reason": "end_turn"});
    let r = dec(Protocol::Messages, &body).unwrap();
    assert_eq!(
        r.parts[0],
        Part::Reasoning(Reasoning {
            text: "Let me think.".into(),
            signature: Some("sig1".into()),
            redacted: None
        })
    );
    // Anthropic callers get their signed blocks back verbatim.
    assert_eq!(enc(Protocol::Messages, &r)["content"], body["content"]);
    let chat = enc(Protocol::ChatCompletions, &r);
    assert_eq!(
        chat["choices"][0]["message"]["reasoning_content"],
        "Let me think."
    );
    assert_eq!(chat["choices"][0]["message"]["content"], "Done.");
    let resp = enc(Protocol::Responses, &r);
    assert_eq!(
        resp["output"][0],
        json!({"id": made_up("rs_", 1), "type": "reasoning",
          "summary": [{"type": "summary_text", "text": "Let me think."}]})
    );
    assert_eq!(resp["output"][1]["type"], "message");
    assert_eq!(resp["output"][1]["id"], made_up("msg_", 2));
    assert_eq!(
        enc(Protocol::GenerateContent, &r)["candidates"][0]["content"]["parts"],
        json!([{"text": "Let me think.", "thought": true}, {"text": "Done."}])
    );

    // Foreign (unsigned) reasoning is never turned into Anthropic thinking (E27).
    let chat_body = json!({"id": "c", "created": 1, "model": "m", "choices": [{"index": 0,
      "message": {"role": "assistant", "content": "Hi", "reasoning_content": "hmm"},
      "finish_reason": "stop"}]});
    let c = dec(Protocol::ChatCompletions, &chat_body).unwrap();
    assert_eq!(
        c.parts[0],
        Part::Reasoning(Reasoning {
            text: "hmm".into(),
            signature: None,
            redacted: None
        })
    );
    assert_eq!(
        enc(Protocol::Messages, &c)["content"],
        json!([{"type": "text", "text": "Hi"}])
    );

    // Responses summary and Gemini thought parts decode as reasoning.
    let resp = dec(
        Protocol::Responses,
        &json!({"status": "completed", "output": [
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "a"},
          {"type": "summary_text", "text": "b"}]}]}),
    )
    .unwrap();
    assert_eq!(
        resp.parts,
        vec![Part::Reasoning(Reasoning {
            text: "a\n\nb".into(),
            signature: None,
            redacted: None
        })]
    );
    let g = dec(
        Protocol::GenerateContent,
        &json!({"candidates": [{"content": {"parts": [
        {"text": "plan", "thought": true}, {"text": "ok"}]}, "finishReason": "STOP"}]}),
    )
    .unwrap();
    assert_eq!(
        g.parts,
        vec![
            Part::Reasoning(Reasoning {
                text: "plan".into(),
                signature: None,
                redacted: None
            }),
            Part::Text("ok".into())
        ]
    );
}
