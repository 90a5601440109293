"""Each SDK pointed straight at the mock upstream, no router: the mock itself speaks every
protocol as the strict SDK parsers see it. When a router test fails and its twin here passes,
the router is at fault; when both fail, the mock is.
"""

from __future__ import annotations

import anthropic
import openai
import pytest
from google.genai import errors, types

import support
import test_anthropic as msg
import test_genai as gem
import test_openai_chat as chat
import test_openai_responses as resp
from support import SCENARIOS, upstream_model


def model(p: str, scenario: str) -> str:
    return upstream_model(p, scenario)


# --------------------------------------------------------------------------------------------
# Chat Completions


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_chat(oai_direct, mock, scenario):
    kw = chat.request(model("chat", scenario), scenario)
    chat.check_completion(oai_direct.chat.completions.create(**kw), scenario)
    chat.check_completion(chat.stream_helper(oai_direct, **kw), scenario)
    r = chat.read_raw(oai_direct.chat.completions.create(**kw, stream=True))
    chat.check_raw(r, scenario)
    assert r["usage_chunks"] == [], "the mock sent a usage chunk nobody asked for"
    auth = [req["headers"].get("authorization") for req in mock.requests()]
    assert auth == [f"Bearer {support.CALLER_KEY}"] * 3, "the mock records the headers it received"


def test_chat_include_usage(oai_direct):
    r = chat.read_raw(
        oai_direct.chat.completions.create(
            **chat.request(model("chat", "text")), stream=True, stream_options={"include_usage": True}
        )
    )
    chat.check_raw(r, "text")
    assert len(r["usage_chunks"]) == 1 and r["chunks"][-1] is r["usage_chunks"][0]


def test_chat_faults(oai_direct):
    kw = chat.request(model("chat", "text"))
    with pytest.raises(openai.BadRequestError):
        oai_direct.chat.completions.create(**kw, extra_headers={"x-mock-fault": "status=400"})
    with pytest.raises(openai.InternalServerError):
        oai_direct.chat.completions.create(**kw, extra_headers={"x-mock-fault": "status=503"})
    with pytest.raises(openai.APIError) as exc:
        fault = {"x-mock-fault": "stream-error"}
        list(oai_direct.chat.completions.create(**kw, stream=True, extra_headers=fault))
    assert not isinstance(exc.value, openai.APIConnectionError), exc.value


# --------------------------------------------------------------------------------------------
# Responses


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_responses(oai_direct, scenario):
    kw = resp.request(model("resp", scenario), scenario)
    resp.check_response(oai_direct.responses.create(**kw), scenario)
    resp.check_response(resp.stream_helper(oai_direct, **kw), scenario)
    resp.stream_raw(oai_direct, scenario, **kw)


def test_responses_faults(oai_direct):
    kw = resp.request(model("resp", "text"))
    with pytest.raises(openai.BadRequestError):
        oai_direct.responses.create(**kw, extra_headers={"x-mock-fault": "status=400"})
    fault = {"x-mock-fault": "stream-error"}
    events = list(oai_direct.responses.create(**kw, stream=True, extra_headers=fault))
    types_ = [e.type for e in events]
    assert types_[-1] in ("error", "response.failed") and "response.output_text.delta" not in types_, types_


# --------------------------------------------------------------------------------------------
# Messages


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_messages(ant_direct, mock, scenario):
    kw = msg.request(model("msg", scenario), scenario)
    msg.check_message(ant_direct.messages.create(**kw), scenario)
    msg.check_message(msg.stream_helper(ant_direct, **kw), scenario)
    msg.stream_raw(ant_direct, scenario, **kw)


def test_messages_faults(ant_direct):
    kw = msg.request(model("msg", "text"))
    with pytest.raises(anthropic.BadRequestError):
        ant_direct.messages.create(**kw, extra_headers={"x-mock-fault": "status=400"})
    with pytest.raises(anthropic.InternalServerError):
        ant_direct.messages.create(**kw, extra_headers={"x-mock-fault": "status=503"})
    with pytest.raises(anthropic.APIStatusError):
        fault = {"x-mock-fault": "stream-error"}
        list(ant_direct.messages.create(**kw, stream=True, extra_headers=fault))


# --------------------------------------------------------------------------------------------
# generateContent (both API versions)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_generate_content(gem_direct, scenario):
    kw = gem.request(model("gem", scenario), scenario)
    gem.check_response(gem_direct.models.generate_content(**kw), scenario)
    gem.stream(gem_direct, scenario, **kw)


def test_generate_content_faults(gem_direct):
    def fault(value: str) -> dict:
        return {
            "model": model("gem", "text"),
            "contents": "Say hello.",
            "config": types.GenerateContentConfig(
                http_options=types.HttpOptions(headers={"x-mock-fault": value})
            ),
        }

    with pytest.raises(errors.ClientError) as exc:
        gem_direct.models.generate_content(**fault("status=400"))
    assert exc.value.code == 400
    with pytest.raises(errors.ServerError):
        gem_direct.models.generate_content(**fault("status=503"))
    with pytest.raises(errors.APIError):
        list(gem_direct.models.generate_content_stream(**fault("stream-error")))
