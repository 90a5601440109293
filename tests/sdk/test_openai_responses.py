"""openai SDK, Responses, through the router to a responses upstream."""

from __future__ import annotations

import json

import openai
import pytest

import support
from support import FAULTS_BY_MODE, SCENARIOS

P = "resp"

TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
        "strict": False,
    }
]

EXPECTED_CALLS = {
    "tool": [{"location": "Paris"}],
    "parallel": [{"location": "Paris"}, {"location": "London"}],
}


def request(model: str, scenario: str = "text") -> dict:
    if scenario == "text":
        return {"model": model, "input": "Say hello."}
    return {"model": model, "input": "What is the weather in Paris and London?", "tools": TOOLS}


def check_response(r, scenario: str) -> None:
    assert r.object == "response"
    assert r.status == "completed", f"status {r.status}: {r.error}"
    if scenario == "text":
        assert r.output_text == "Hello!"
        assert not [o for o in r.output if o.type == "function_call"]
        return
    calls = [o for o in r.output if o.type == "function_call"]
    assert [c.name for c in calls] == ["get_weather"] * len(EXPECTED_CALLS[scenario])
    assert [json.loads(c.arguments) for c in calls] == EXPECTED_CALLS[scenario]
    call_ids = [c.call_id for c in calls]
    assert all(call_ids) and len(set(call_ids)) == len(call_ids), call_ids


def check_lifecycle(events) -> None:
    types = [e.type for e in events]
    assert types[0] == "response.created", types
    assert types.count("response.created") == 1, f"more than one lifecycle: {types}"
    assert types.count("response.in_progress") <= 1, types
    assert types.count("response.completed") == 1, types
    assert types[-1] == "response.completed", types
    seq = [e.sequence_number for e in events]
    assert seq == list(range(seq[0], seq[0] + len(seq))), f"sequence numbers not contiguous: {seq}"
    assert seq[0] == 0, f"the first event must be sequence 0: {seq}"


def stream_helper(client, **kw):
    with client.responses.stream(**kw) as s:
        events = list(s)
        final = s.get_final_response()
    check_lifecycle(events)
    return final


def stream_raw(client, scenario: str, **kw):
    events = list(client.responses.create(**kw, stream=True))
    check_lifecycle(events)
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    done_calls = [
        e.item for e in events if e.type == "response.output_item.done" and e.item.type == "function_call"
    ]
    final = events[-1].response
    check_response(final, scenario)
    if scenario == "text":
        assert text == "Hello!"
    else:
        args = {}
        for e in events:
            if e.type == "response.function_call_arguments.delta":
                args[e.item_id] = args.get(e.item_id, "") + e.delta
        assert [json.loads(args[c.id]) for c in done_calls] == EXPECTED_CALLS[scenario]
    return final


# --------------------------------------------------------------------------------------------
# Happy paths


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_create(oai, scenario):
    raw = oai.responses.with_raw_response.create(**request(f"{P}-{scenario}", scenario))
    assert raw.headers.get("x-bitrouter-provider") == P
    assert raw.headers.get("x-bitrouter-model") in (f"{P}-{scenario}", support.upstream_model(P, scenario))
    r = raw.parse()
    check_response(r, scenario)
    assert r.usage is not None and r.usage.total_tokens > 0


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_stream_helper(oai, scenario):
    final = stream_helper(oai, **request(f"{P}-{scenario}", scenario))
    check_response(final, scenario)
    assert final.usage is not None and final.usage.total_tokens > 0


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_stream_raw(oai, scenario):
    stream_raw(oai, scenario, **request(f"{P}-{scenario}", scenario))


@pytest.mark.parametrize("stream", [False, True], ids=["ns", "st"])
def test_upstream_sees_provider_key_and_upstream_model(oai, mock, stream):
    if stream:
        stream_raw(oai, "tool", **request(f"{P}-tool", "tool"))
    else:
        oai.responses.create(**request(f"{P}-tool", "tool"))
    reqs = mock.requests()
    assert len(reqs) == 1
    support.assert_upstream_auth(P, reqs)
    assert reqs[0]["path"].split("?")[0] == "/v1/responses"
    assert support.upstream_model_of(P, reqs[0]) == support.upstream_model(P, "tool")


# --------------------------------------------------------------------------------------------
# Failover before commit is invisible


@pytest.mark.parametrize(
    "mode,fault", [(m, f) for m, faults in FAULTS_BY_MODE.items() for f in faults]
)
def test_failover_is_invisible(oai, mock, mode, fault):
    kw = request(support.failover_model(P, fault, mode))
    if mode == "ns":
        raw = oai.responses.with_raw_response.create(**kw)
        assert raw.headers.get("x-bitrouter-provider") in (P, support.fault_provider(P, fault, mode))
        check_response(raw.parse(), "text")
    elif mode == "sh":
        check_response(stream_helper(oai, **kw), "text")
    else:
        stream_raw(oai, "text", **kw)
    support.assert_failed_over(mock, P, fault)


# --------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize("stream", [False, True], ids=["ns", "st"])
def test_upstream_400_is_bad_request(oai, mock, stream):
    message = mock.upstream_error_message(P, "status=400")
    mock.reset()
    with pytest.raises(openai.BadRequestError) as exc:
        if stream:
            list(oai.responses.create(**request(support.badreq_model(P)), stream=True))
        else:
            oai.responses.create(**request(support.badreq_model(P)))
    assert exc.value.status_code == 400
    support.assert_carries_message(exc.value, message)
    reqs = mock.requests()
    assert [support.fault_of(r) for r in reqs] == ["status=400"], "a 400 must not fail over"


@pytest.mark.parametrize("stream", [False, True], ids=["ns", "st"])
def test_unknown_model_is_not_found(oai, mock, stream):
    with pytest.raises(openai.NotFoundError) as exc:
        oai.responses.create(**request("no-such-model"), stream=stream)
    assert exc.value.status_code == 404
    assert mock.requests() == []


def test_cut_after_commit_ends_with_an_error_event(oai):
    # The SDK's raw iterator yields `error` / `response.failed` events instead of raising; what
    # matters is that a truncated stream never looks complete.
    events = []
    for e in oai.responses.create(**request(support.cut_model(P, "st")), stream=True):
        events.append(e)
    types = [e.type for e in events]
    assert "response.output_text.delta" in types, f"failed before the first content event: {types}"
    assert "response.completed" not in types, f"truncated stream reported as completed: {types}"
    assert types[-1] in ("error", "response.failed"), f"no terminal error event: {types}"


def test_cut_after_commit_raises_helper(oai):
    received = []
    with pytest.raises((openai.APIError, RuntimeError)) as exc:
        with oai.responses.stream(**request(support.cut_model(P, "sh"))) as s:
            for e in s:
                if e.type == "response.output_text.delta":
                    received.append(e.delta)
            s.get_final_response()
    assert received, "the stream failed before its first content delta (not after commit)"
    assert not isinstance(exc.value, openai.APIConnectionError), (
        f"the stream was cut instead of ending with an error event: {exc.value!r}"
    )
