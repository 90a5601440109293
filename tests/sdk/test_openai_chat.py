"""openai SDK, Chat Completions, through the router to a chat_completions upstream."""

from __future__ import annotations

import json

import openai
import pytest

import support
from support import FAULTS_BY_MODE, SCENARIOS

P = "chat"

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string"}},
                "required": ["location"],
            },
        },
    }
]

EXPECTED_CALLS = {
    "tool": [{"location": "Paris"}],
    "parallel": [{"location": "Paris"}, {"location": "London"}],
}


def request(model: str, scenario: str = "text") -> dict:
    if scenario == "text":
        return {"model": model, "messages": [{"role": "user", "content": "Say hello."}]}
    return {
        "model": model,
        "messages": [{"role": "user", "content": "What is the weather in Paris and London?"}],
        "tools": TOOLS,
    }


def check_completion(c, scenario: str) -> None:
    assert c.object == "chat.completion"
    assert len(c.choices) == 1
    choice = c.choices[0]
    assert choice.message.role == "assistant"
    if scenario == "text":
        assert choice.message.content == "Hello!"
        assert not choice.message.tool_calls
        assert choice.finish_reason == "stop"
        return
    calls = choice.message.tool_calls
    assert calls, f"no tool calls in {c}"
    assert [tc.function.name for tc in calls] == ["get_weather"] * len(EXPECTED_CALLS[scenario])
    assert [json.loads(tc.function.arguments) for tc in calls] == EXPECTED_CALLS[scenario]
    ids = [tc.id for tc in calls]
    assert all(ids) and len(set(ids)) == len(ids), ids
    doubled = [i for i in ids if support.is_doubled(i)]
    assert not doubled, f"tool call id repeated on a continuation delta: {doubled}"
    assert choice.finish_reason == "tool_calls"


def read_raw(stream) -> dict:
    """Reassemble a raw chunk stream strictly: one role, one finish, first-delta-only ids."""
    chunks = list(stream)
    assert chunks, "empty stream"
    text, calls, roles, finishes, usage_chunks = "", {}, 0, [], []
    for ch in chunks:
        assert ch.object == "chat.completion.chunk"
        assert ch.id == chunks[0].id, "chunks of one completion must share an id"
        if not ch.choices:
            usage_chunks.append(ch)
            continue
        assert len(ch.choices) == 1
        d = ch.choices[0].delta
        roles += d.role is not None
        text += d.content or ""
        for tc in d.tool_calls or []:
            if tc.index not in calls:
                first = tc.id and tc.function and tc.function.name
                assert first, f"the first delta of a call lacks its id or name: {tc}"
                calls[tc.index] = {"id": tc.id, "name": tc.function.name, "args": tc.function.arguments or ""}
            else:
                assert tc.id is None, f"id repeated on a continuation delta: {tc}"
                calls[tc.index]["args"] += (tc.function.arguments or "") if tc.function else ""
        if ch.choices[0].finish_reason is not None:
            finishes.append(ch.choices[0].finish_reason)
    return {
        "chunks": chunks,
        "text": text,
        "calls": [calls[i] for i in sorted(calls)],
        "roles": roles,
        "finishes": finishes,
        "usage_chunks": usage_chunks,
    }


def check_raw(r: dict, scenario: str) -> None:
    assert r["roles"] == 1, f"{r['roles']} role chunks: one lifecycle expected"
    assert len(r["finishes"]) == 1, f"finish reasons: {r['finishes']}"
    if scenario == "text":
        assert r["text"] == "Hello!"
        assert r["calls"] == []
        assert r["finishes"] == ["stop"]
    else:
        assert [c["name"] for c in r["calls"]] == ["get_weather"] * len(EXPECTED_CALLS[scenario])
        assert [json.loads(c["args"]) for c in r["calls"]] == EXPECTED_CALLS[scenario]
        assert len({c["id"] for c in r["calls"]}) == len(r["calls"])
        assert r["finishes"] == ["tool_calls"]


def stream_helper(client, **kw):
    with client.chat.completions.stream(**kw) as s:
        events = list(s)
        final = s.get_final_completion()
    role_chunks = [
        e for e in events if e.type == "chunk" and e.chunk.choices and e.chunk.choices[0].delta.role
    ]
    assert len(role_chunks) == 1, f"{len(role_chunks)} role chunks: one lifecycle expected"
    return final


# --------------------------------------------------------------------------------------------
# Happy paths


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_create(oai, mock, scenario):
    raw = oai.chat.completions.with_raw_response.create(**request(f"{P}-{scenario}", scenario))
    assert raw.headers.get("x-bitrouter-provider") == P
    assert raw.headers.get("x-bitrouter-model") in (f"{P}-{scenario}", support.upstream_model(P, scenario))
    c = raw.parse()
    check_completion(c, scenario)
    assert c.usage is not None and c.usage.total_tokens > 0


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_stream_helper(oai, scenario):
    final = stream_helper(oai, **request(f"{P}-{scenario}", scenario))
    check_completion(final, scenario)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_stream_raw(oai, scenario):
    r = read_raw(oai.chat.completions.create(**request(f"{P}-{scenario}", scenario), stream=True))
    check_raw(r, scenario)


def test_stream_without_include_usage_has_no_usage_chunk(oai, mock):
    r = read_raw(oai.chat.completions.create(**request(f"{P}-text"), stream=True))
    check_raw(r, "text")
    assert r["usage_chunks"] == [], "usage chunk sent although the client did not ask for it"
    assert all(ch.usage is None for ch in r["chunks"])
    (req,) = mock.requests()
    assert req["body"].get("stream_options", {}).get("include_usage") is True, (
        f"the router should always ask a chat upstream for usage: {req['body']}"
    )


def test_stream_with_include_usage_has_one_usage_chunk(oai):
    r = read_raw(
        oai.chat.completions.create(
            **request(f"{P}-text"), stream=True, stream_options={"include_usage": True}
        )
    )
    check_raw(r, "text")
    assert len(r["usage_chunks"]) == 1, "exactly one `choices: []` usage chunk expected"
    assert r["chunks"][-1] is r["usage_chunks"][0], "the usage chunk must come last"
    u = r["usage_chunks"][0].usage
    assert u is not None and u.total_tokens == u.prompt_tokens + u.completion_tokens > 0


def test_stream_helper_with_include_usage(oai):
    final = stream_helper(oai, **request(f"{P}-text"), stream_options={"include_usage": True})
    check_completion(final, "text")
    assert final.usage is not None and final.usage.total_tokens > 0


@pytest.mark.parametrize("stream", [False, True], ids=["ns", "st"])
def test_upstream_sees_provider_key_and_upstream_model(oai, mock, stream):
    if stream:
        read_raw(oai.chat.completions.create(**request(f"{P}-tool", "tool"), stream=True))
    else:
        oai.chat.completions.create(**request(f"{P}-tool", "tool"))
    reqs = mock.requests()
    assert len(reqs) == 1
    support.assert_upstream_auth(P, reqs)
    assert reqs[0]["path"].split("?")[0] == "/v1/chat/completions"
    assert support.upstream_model_of(P, reqs[0]) == support.upstream_model(P, "tool")


def test_provider_colon_model_name(oai, mock):
    c = oai.chat.completions.create(**request(f"{P}:{P}-text"))
    check_completion(c, "text")
    assert support.upstream_model_of(P, mock.requests()[0]) == support.upstream_model(P, "text")


# --------------------------------------------------------------------------------------------
# Failover before commit is invisible


@pytest.mark.parametrize(
    "mode,fault", [(m, f) for m, faults in FAULTS_BY_MODE.items() for f in faults]
)
def test_failover_is_invisible(oai, mock, mode, fault):
    kw = request(support.failover_model(P, fault, mode))
    if mode == "ns":
        raw = oai.chat.completions.with_raw_response.create(**kw)
        assert raw.headers.get("x-bitrouter-provider") in (P, support.fault_provider(P, fault, mode))
        check_completion(raw.parse(), "text")
    elif mode == "sh":
        check_completion(stream_helper(oai, **kw), "text")
    else:
        check_raw(read_raw(oai.chat.completions.create(**kw, stream=True)), "text")
    support.assert_failed_over(mock, P, fault)


# --------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize("stream", [False, True], ids=["ns", "st"])
def test_upstream_400_is_bad_request(oai, mock, stream):
    message = mock.upstream_error_message(P, "status=400")
    mock.reset()
    with pytest.raises(openai.BadRequestError) as exc:
        if stream:
            read_raw(oai.chat.completions.create(**request(support.badreq_model(P)), stream=True))
        else:
            oai.chat.completions.create(**request(support.badreq_model(P)))
    assert exc.value.status_code == 400
    support.assert_carries_message(exc.value, message)
    reqs = mock.requests()
    assert [support.fault_of(r) for r in reqs] == ["status=400"], "a 400 must not fail over"


@pytest.mark.parametrize("stream", [False, True], ids=["ns", "st"])
def test_unknown_model_is_not_found(oai, mock, stream):
    with pytest.raises(openai.NotFoundError) as exc:
        oai.chat.completions.create(**request("no-such-model"), stream=stream)
    assert exc.value.status_code == 404
    assert isinstance(exc.value.body, dict) and exc.value.body.get("message"), exc.value.body
    assert mock.requests() == []


def test_cut_after_commit_raises_raw(oai):
    received = []
    with pytest.raises(openai.APIError) as exc:
        for ch in oai.chat.completions.create(**request(support.cut_model(P, "st")), stream=True):
            assert not (ch.choices and ch.choices[0].finish_reason), f"truncated stream finished: {ch}"
            if ch.choices and ch.choices[0].delta.content:
                received.append(ch.choices[0].delta.content)
    assert received, "the stream failed before its first content delta (not after commit)"
    assert not isinstance(exc.value, openai.APIConnectionError), (
        f"the stream was cut instead of ending with an error chunk: {exc.value!r}"
    )


def test_cut_after_commit_raises_helper(oai):
    received = []
    with pytest.raises(openai.APIError) as exc:
        with oai.chat.completions.stream(**request(support.cut_model(P, "sh"))) as s:
            for e in s:
                if e.type == "content.delta":
                    received.append(e.delta)
            s.get_final_completion()
    assert received, "the stream failed before its first content delta (not after commit)"
    assert not isinstance(exc.value, openai.APIConnectionError), (
        f"the stream was cut instead of ending with an error chunk: {exc.value!r}"
    )
