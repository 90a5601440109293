"""google-genai SDK, generateContent, through the router to a generate_content upstream.

Happy paths run on both API versions the SDK can use (`v1`, its 3.x default, and `v1beta`);
the failure paths use the default.
"""

from __future__ import annotations

import re

import pytest
from google.genai import errors, types

import support
from support import FAULTS_BY_MODE, SCENARIOS

P = "gem"

TOOLS = [
    types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="get_weather",
                description="Current weather for a city.",
                parameters_json_schema={
                    "type": "object",
                    "properties": {"location": {"type": "string"}},
                    "required": ["location"],
                },
            )
        ]
    )
]

EXPECTED_CALLS = {
    "tool": [{"location": "Paris"}],
    "parallel": [{"location": "Paris"}, {"location": "London"}],
}


def request(model: str, scenario: str = "text") -> dict:
    if scenario == "text":
        return {"model": model, "contents": "Say hello."}
    return {
        "model": model,
        "contents": "What is the weather in Paris and London?",
        "config": types.GenerateContentConfig(
            tools=TOOLS,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        ),
    }


def header(r, name: str) -> str | None:
    headers = (r.sdk_http_response.headers or {}) if r.sdk_http_response else {}
    return {k.lower(): v for k, v in headers.items()}.get(name)


def check_response(r, scenario: str) -> None:
    assert r.candidates and len(r.candidates) == 1, r
    cand = r.candidates[0]
    assert cand.finish_reason == types.FinishReason.STOP, cand.finish_reason
    if scenario == "text":
        assert r.text == "Hello!"
        assert not r.function_calls
        return
    calls = r.function_calls
    assert [c.name for c in calls] == ["get_weather"] * len(EXPECTED_CALLS[scenario])
    assert [c.args for c in calls] == EXPECTED_CALLS[scenario]


def stream(client, scenario: str, **kw) -> list:
    """Read a stream strictly: the text adds up exactly, exactly one chunk finishes."""
    chunks = list(client.models.generate_content_stream(**kw))
    assert chunks, "empty stream"
    text, calls, finishes = "", [], []
    for ch in chunks:
        for cand in ch.candidates or []:
            for part in (cand.content.parts or []) if cand.content else []:
                if part.text and not part.thought:
                    text += part.text
                if part.function_call:
                    calls.append(part.function_call)
            if cand.finish_reason is not None:
                finishes.append(cand.finish_reason)
    assert finishes == [types.FinishReason.STOP], f"finish reasons: {finishes}"
    if scenario == "text":
        assert text == "Hello!", "one lifecycle, the text exactly once"
        assert calls == []
    else:
        assert [c.name for c in calls] == ["get_weather"] * len(EXPECTED_CALLS[scenario])
        assert [c.args for c in calls] == EXPECTED_CALLS[scenario]
    assert chunks[-1].usage_metadata is not None
    return chunks


# --------------------------------------------------------------------------------------------
# Happy paths (both API versions)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_generate_content(gem, scenario):
    r = gem.models.generate_content(**request(f"{P}-{scenario}", scenario))
    check_response(r, scenario)
    assert header(r, "x-bitrouter-provider") == P
    assert header(r, "x-bitrouter-model") in (f"{P}-{scenario}", support.upstream_model(P, scenario))
    assert r.usage_metadata is not None and r.usage_metadata.total_token_count > 0


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_generate_content_stream(gem, scenario):
    stream(gem, scenario, **request(f"{P}-{scenario}", scenario))


@pytest.mark.parametrize("streaming", [False, True], ids=["ns", "st"])
def test_upstream_sees_provider_key_and_upstream_model(gem, mock, streaming):
    if streaming:
        stream(gem, "tool", **request(f"{P}-tool", "tool"))
    else:
        gem.models.generate_content(**request(f"{P}-tool", "tool"))
    reqs = mock.requests()
    assert len(reqs) == 1
    support.assert_upstream_auth(P, reqs)
    action = "streamGenerateContent" if streaming else "generateContent"
    path = reqs[0]["path"]
    assert re.match(rf"^/(v1|v1beta)/models/{support.upstream_model(P, 'tool')}:{action}(\?|$)", path), path
    if streaming:
        assert "alt=sse" in path, f"a streaming upstream call must ask for SSE: {path}"


# --------------------------------------------------------------------------------------------
# Failover before commit is invisible (generate_content_stream is the SDK's only stream API, so
# the helper and raw modes are the same call here).


@pytest.mark.parametrize(
    "mode,fault", [(m, f) for m, faults in FAULTS_BY_MODE.items() for f in faults if m != "sh"]
)
def test_failover_is_invisible(gem_v1, mock, mode, fault):
    kw = request(support.failover_model(P, fault, mode))
    if mode == "ns":
        r = gem_v1.models.generate_content(**kw)
        check_response(r, "text")
        assert header(r, "x-bitrouter-provider") in (P, support.fault_provider(P, fault, mode))
    else:
        stream(gem_v1, "text", **kw)
    support.assert_failed_over(mock, P, fault)


# --------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize("streaming", [False, True], ids=["ns", "st"])
def test_upstream_400_is_client_error(gem_v1, mock, streaming):
    message = mock.upstream_error_message(P, "status=400")
    mock.reset()
    with pytest.raises(errors.ClientError) as exc:
        if streaming:
            list(gem_v1.models.generate_content_stream(**request(support.badreq_model(P))))
        else:
            gem_v1.models.generate_content(**request(support.badreq_model(P)))
    assert exc.value.code == 400
    assert message in (exc.value.message or ""), f"{message!r} not in {exc.value!r}"
    reqs = mock.requests()
    assert [support.fault_of(r) for r in reqs] == ["status=400"], "a 400 must not fail over"


@pytest.mark.parametrize("streaming", [False, True], ids=["ns", "st"])
def test_unknown_model_is_not_found(gem_v1, mock, streaming):
    with pytest.raises(errors.ClientError) as exc:
        if streaming:
            list(gem_v1.models.generate_content_stream(**request("no-such-model")))
        else:
            gem_v1.models.generate_content(**request("no-such-model"))
    assert exc.value.code == 404
    assert exc.value.status == "NOT_FOUND", exc.value.details
    assert mock.requests() == []


def test_cut_after_commit_raises(gem_v1):
    received = []
    with pytest.raises(errors.APIError):
        for ch in gem_v1.models.generate_content_stream(**request(support.cut_model(P, "st"))):
            for cand in ch.candidates or []:
                assert cand.finish_reason is None, f"truncated stream finished: {ch}"
                for part in (cand.content.parts or []) if cand.content else []:
                    if part.text:
                        received.append(part.text)
    assert received, "the stream failed before its first content chunk (not after commit)"
