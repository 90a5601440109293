"""anthropic SDK, Messages, through the router to a messages upstream."""

from __future__ import annotations

import json

import anthropic
import pytest

import support
from support import FAULTS_BY_MODE, SCENARIOS

P = "msg"

TOOLS = [
    {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "input_schema": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    }
]

EXPECTED_CALLS = {
    "tool": [{"location": "Paris"}],
    "parallel": [{"location": "Paris"}, {"location": "London"}],
}


def request(model: str, scenario: str = "text") -> dict:
    if scenario == "text":
        return {"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": "Say hello."}]}
    return {
        "model": model,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "What is the weather in Paris and London?"}],
        "tools": TOOLS,
    }


def check_message(m, scenario: str) -> None:
    assert m.type == "message" and m.role == "assistant"
    if scenario == "text":
        assert [b.text for b in m.content if b.type == "text"] == ["Hello!"]
        assert not [b for b in m.content if b.type == "tool_use"]
        assert m.stop_reason == "end_turn"
        return
    calls = [b for b in m.content if b.type == "tool_use"]
    assert [c.name for c in calls] == ["get_weather"] * len(EXPECTED_CALLS[scenario])
    assert [c.input for c in calls] == EXPECTED_CALLS[scenario]
    ids = [c.id for c in calls]
    assert all(ids) and len(set(ids)) == len(ids), ids
    assert m.stop_reason == "tool_use"


def check_lifecycle(types: list[str]) -> None:
    types = [t for t in types if t != "ping"]
    assert types[0] == "message_start", types
    assert types.count("message_start") == 1, f"more than one lifecycle: {types}"
    assert types.count("message_stop") == 1 and types[-1] == "message_stop", types
    assert types.count("message_delta") >= 1, types


def stream_helper(client, **kw):
    with client.messages.stream(**kw) as s:
        types = [e.type for e in s]
        final = s.get_final_message()
    check_lifecycle([t for t in types if t.startswith(("message_", "content_block_"))])
    return final


def stream_raw(client, scenario: str, **kw) -> None:
    """Reassemble a raw event stream strictly: block indices from 0, contiguous, in start order."""
    events = list(client.messages.create(**kw, stream=True))
    check_lifecycle([e.type for e in events])
    blocks: list[dict] = []
    open_index = None
    for e in events:
        if e.type == "content_block_start":
            assert e.index == len(blocks), f"block index {e.index} after {len(blocks)} blocks"
            assert open_index is None, "a block started before the previous one stopped"
            open_index = e.index
            cb = e.content_block
            blocks.append({"type": cb.type, "text": "", "json": "", "name": getattr(cb, "name", None)})
        elif e.type == "content_block_delta":
            assert e.index == open_index, f"delta for block {e.index} while {open_index} is open"
            if e.delta.type == "text_delta":
                blocks[e.index]["text"] += e.delta.text
            elif e.delta.type == "input_json_delta":
                blocks[e.index]["json"] += e.delta.partial_json
        elif e.type == "content_block_stop":
            assert e.index == open_index
            open_index = None
    stop = [e.delta.stop_reason for e in events if e.type == "message_delta"][-1]
    if scenario == "text":
        assert [b["text"] for b in blocks if b["type"] == "text"] == ["Hello!"]
        assert stop == "end_turn"
    else:
        calls = [b for b in blocks if b["type"] == "tool_use"]
        assert [c["name"] for c in calls] == ["get_weather"] * len(EXPECTED_CALLS[scenario])
        assert [json.loads(c["json"] or "{}") for c in calls] == EXPECTED_CALLS[scenario]
        assert stop == "tool_use"


# --------------------------------------------------------------------------------------------
# Happy paths


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_create(ant, scenario):
    raw = ant.messages.with_raw_response.create(**request(f"{P}-{scenario}", scenario))
    assert raw.headers.get("x-bitrouter-provider") == P
    assert raw.headers.get("x-bitrouter-model") in (f"{P}-{scenario}", support.upstream_model(P, scenario))
    m = raw.parse()
    check_message(m, scenario)
    assert m.usage.output_tokens > 0


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_stream_helper(ant, scenario):
    final = stream_helper(ant, **request(f"{P}-{scenario}", scenario))
    check_message(final, scenario)
    assert final.usage.output_tokens > 0


def test_stream_helper_text_stream(ant):
    with ant.messages.stream(**request(f"{P}-text")) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "Hello!"
    check_message(final, "text")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_stream_raw(ant, scenario):
    stream_raw(ant, scenario, **request(f"{P}-{scenario}", scenario))


@pytest.mark.parametrize("stream", [False, True], ids=["ns", "st"])
def test_upstream_sees_provider_key_and_upstream_model(ant, mock, stream):
    if stream:
        stream_raw(ant, "tool", **request(f"{P}-tool", "tool"))
    else:
        ant.messages.create(**request(f"{P}-tool", "tool"))
    reqs = mock.requests()
    assert len(reqs) == 1
    support.assert_upstream_auth(P, reqs)
    assert reqs[0]["path"].split("?")[0] == "/v1/messages"
    assert support.upstream_model_of(P, reqs[0]) == support.upstream_model(P, "tool")
    assert "anthropic-version" in reqs[0]["headers"], "an Anthropic upstream needs anthropic-version"


# --------------------------------------------------------------------------------------------
# Failover before commit is invisible


@pytest.mark.parametrize(
    "mode,fault", [(m, f) for m, faults in FAULTS_BY_MODE.items() for f in faults]
)
def test_failover_is_invisible(ant, mock, mode, fault):
    kw = request(support.failover_model(P, fault, mode))
    if mode == "ns":
        raw = ant.messages.with_raw_response.create(**kw)
        assert raw.headers.get("x-bitrouter-provider") in (P, support.fault_provider(P, fault, mode))
        check_message(raw.parse(), "text")
    elif mode == "sh":
        check_message(stream_helper(ant, **kw), "text")
    else:
        stream_raw(ant, "text", **kw)
    support.assert_failed_over(mock, P, fault)


# --------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize("stream", [False, True], ids=["ns", "st"])
def test_upstream_400_is_bad_request(ant, mock, stream):
    message = mock.upstream_error_message(P, "status=400")
    mock.reset()
    with pytest.raises(anthropic.BadRequestError) as exc:
        if stream:
            list(ant.messages.create(**request(support.badreq_model(P)), stream=True))
        else:
            ant.messages.create(**request(support.badreq_model(P)))
    assert exc.value.status_code == 400
    support.assert_carries_message(exc.value, message)
    body = exc.value.body
    assert isinstance(body, dict) and body.get("type") == "error", f"not an Anthropic error body: {body}"
    reqs = mock.requests()
    assert [support.fault_of(r) for r in reqs] == ["status=400"], "a 400 must not fail over"


@pytest.mark.parametrize("stream", [False, True], ids=["ns", "st"])
def test_unknown_model_is_not_found(ant, mock, stream):
    with pytest.raises(anthropic.NotFoundError) as exc:
        ant.messages.create(**request("no-such-model"), stream=stream)
    assert exc.value.status_code == 404
    body = exc.value.body
    assert isinstance(body, dict) and body.get("type") == "error", f"not an Anthropic error body: {body}"
    assert body["error"].get("type") == "not_found_error", body
    assert mock.requests() == []


def test_cut_after_commit_raises_raw(ant):
    received = []
    with pytest.raises(anthropic.APIStatusError):
        for e in ant.messages.create(**request(support.cut_model(P, "st")), stream=True):
            assert e.type != "message_stop", "truncated stream reported as complete"
            if e.type == "content_block_delta" and e.delta.type == "text_delta":
                received.append(e.delta.text)
    assert received, "the stream failed before its first content delta (not after commit)"


def test_cut_after_commit_raises_helper(ant):
    received = []
    with pytest.raises(anthropic.APIStatusError):
        with ant.messages.stream(**request(support.cut_model(P, "sh"))) as s:
            for text in s.text_stream:
                received.append(text)
            s.get_final_message()
    assert received, "the stream failed before its first content delta (not after commit)"
