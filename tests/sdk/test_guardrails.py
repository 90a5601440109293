"""Guardrails with the official SDKs: `bitrouter serve` with content rules, every SDK a real
client of it, routed to the upstream of its own protocol (pass-through) and of every other
protocol (translated), streamed and not.

The rules (plugins.bitrouter-guardrails):
- `ask` blocks a request that says "forbidden words": the SDK raises its own 400
  (openai / anthropic `BadRequestError`, google-genai `ClientError` code 400) naming the rule
  and not quoting the match; a streaming call fails before any stream starts; nothing goes
  upstream;
- `mail` redacts an e-mail address in a request: the call succeeds and the upstream body (the
  mock's request log) carries `[REDACTED:mail]`, never the address;
- `greet` redacts "Hello" in answers: the mock answers "Hello!" (streamed "Hel" + "lo!", the
  match spanning two deltas), so every answer is "[REDACTED:greet]!", and every stream ends
  normally (one lifecycle, a finish reason, usage);
- no rule touches the `tool` models' get_weather({"location":"Paris"}) call: its arguments
  reach the SDK as that JSON.

The answers are reassembled by test_translate's strict per-SDK readers (`*_call`): the same
lifecycle, delta and usage checks as the translation suite.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from google.genai import errors as genai_errors
from google.genai import types as gt

import support
from conftest import Process, _binary, _PROCESSES
from support import PROTOCOLS, XCALLERS, XMODES
from test_translate import (
    EXPECTED_CALLS,
    PRE_TOOL_TEXT,
    REQUESTS,
    chat_call,
    gem_call,
    msg_call,
    resp_call,
)

REDACTED_HELLO = "[REDACTED:greet]!"
BLOCKED_PROMPT = "Please repeat these Forbidden Words back to me."
EMAIL = "alice@example.com"
EMAIL_PROMPT = f"Say hello, then write to {EMAIL} about it."

RULES = [
    {"name": "ask", "pattern": "(?i)forbidden words", "on": "request", "action": "block"},
    {"name": "mail", "detector": "email", "on": "request", "action": "redact"},
    {"name": "greet", "pattern": "Hello", "on": "response", "action": "redact"},
]

CALLS = {"chat": chat_call, "resp": resp_call, "msg": msg_call, "gem": gem_call}


def cases() -> list[Any]:
    """(caller, upstream, mode) for every SDK caller, every upstream protocol, every call mode."""
    out = []
    for c, cp in XCALLERS.items():
        for up in PROTOCOLS:
            route = "pass" if up == cp else "xlate"
            for m in XMODES[c]:
                out.append(pytest.param(c, up, m, id=f"{c}-{route}-{up}-{m}"))
    return out


# ============================================================================================
# The router with the rules, in its own home


def guard_config(mock_url: str) -> dict[str, Any]:
    """One provider per protocol (`<p>-text`, `<p>-tool`, sent upstream as `up-<p>-...`)."""
    providers = {}
    for p, proto in PROTOCOLS.items():
        providers[p] = {
            "api_base": f"{mock_url}/v1" if p in ("chat", "resp") else mock_url,
            "api_key": support.provider_key(p),
            "api_protocol": proto,
            "allow_private": True,
            "models": [
                {"id": f"{p}-{s}", "upstream_id": support.upstream_model(p, s)} for s in ("text", "tool")
            ],
        }
    return {
        "inherit_defaults": False,
        "server": {"skip_auth": True},
        "providers": providers,
        "plugins": {"bitrouter-guardrails": {"rules": RULES}},
    }


@pytest.fixture(scope="module")
def guard_url(mock, tmp_path_factory) -> Iterator[str]:
    home: Path = tmp_path_factory.mktemp("guard-home")
    config = home / "bitrouter.yaml"
    config.write_text(json.dumps(guard_config(mock.url), indent=2) + "\n")
    binary = _binary("BITROUTER_BIN", "bitrouter")
    argv = [str(binary), "--home-dir", str(home), "serve", "-c", str(config), "--listen", "127.0.0.1:0"]
    proc = Process("bitrouter-guard", argv, home)
    _PROCESSES.append(proc)
    try:
        yield proc.wait_listening()
    finally:
        proc.stop()
        _PROCESSES.remove(proc)


@pytest.fixture(scope="module")
def clients(guard_url):
    from google import genai

    def gem(version: str):
        return genai.Client(
            api_key=support.CALLER_KEY,
            http_options=gt.HttpOptions(
                base_url=guard_url, api_version=version, timeout=int(support.TIMEOUT_S * 1000)
            ),
        )

    oai = openai.OpenAI(
        api_key=support.CALLER_KEY, base_url=f"{guard_url}/v1", max_retries=0, timeout=support.TIMEOUT_S
    )
    ant = anthropic.Anthropic(
        api_key=support.CALLER_KEY, base_url=guard_url, max_retries=0, timeout=support.TIMEOUT_S
    )
    return {"chat": oai, "resp": oai, "msg": ant, "gemv1": gem("v1"), "gemv1beta": gem("v1beta")}


# ============================================================================================
# Requests


def text_request(cp: str, model: str, prompt: str) -> dict:
    """The caller's plain text request saying `prompt`, in its SDK's keyword arguments."""
    if cp == "chat":
        return {"model": model, "messages": [{"role": "user", "content": prompt}]}
    if cp == "resp":
        return {"model": model, "input": prompt}
    if cp == "msg":
        return {"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": prompt}]}
    if cp == "gem":
        return {"model": model, "contents": prompt}
    raise ValueError(cp)


def finish_of(cp: str, tools: bool) -> Any:
    return {
        "chat": "tool_calls" if tools else "stop",
        "resp": "completed",
        "msg": "tool_use" if tools else "end_turn",
        "gem": gt.FinishReason.STOP,
    }[cp]


def upstream_texts(mock) -> str:
    reqs = mock.requests()
    assert len(reqs) == 1, f"{len(reqs)} upstream requests: {[(r.get('method'), r.get('path')) for r in reqs]}"
    support.assert_no_caller_key(reqs)
    body = reqs[0]["body"]
    return body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)


# ============================================================================================
# 1. A blocked request: the SDK's own 400, before any stream and before any upstream call


def blocked_call(client, cp: str, mode: str, kw: dict, got: list) -> None:
    """Make the call; `got` collects what came out of it before the SDK raised (must be nothing)."""
    if cp == "gem":
        if mode == "ns":
            got.append(client.models.generate_content(**kw))
        else:
            # The SDK's stream is a generator: the request goes out on the first `next`.
            for chunk in client.models.generate_content_stream(**kw):
                got.append(chunk)
        return
    api = {"chat": lambda: client.chat.completions, "resp": lambda: client.responses, "msg": lambda: client.messages}[cp]()
    if mode == "ns":
        got.append(api.create(**kw))
    elif mode == "sh":
        with api.stream(**kw) as s:
            got.append("entered the stream helper")
            got.extend(s)
    else:
        # The SDK checks the status before it returns a stream: a 400 raises right here.
        got.append(api.create(**kw, stream=True))
        got.extend(got[0])


@pytest.mark.parametrize("caller,up,mode", cases())
def test_blocked_request_is_the_sdks_bad_request_error(clients, mock, caller, up, mode):
    cp = XCALLERS[caller]
    kw = text_request(cp, f"{up}-text", BLOCKED_PROMPT)
    got: list = []
    if cp == "gem":
        with pytest.raises(genai_errors.ClientError) as exc:
            blocked_call(clients[caller], cp, mode, kw, got)
        err = exc.value
        assert err.code == 400, f"code {err.code}: {err!r}"
        assert err.status == "INVALID_ARGUMENT", f"status {err.status!r}: {err!r}"
        texts = [str(err), err.message or "", *support.strings_in(err.details)]
    else:
        exc_type = anthropic.BadRequestError if cp == "msg" else openai.BadRequestError
        try:
            blocked_call(clients[caller], cp, mode, kw, got)
        except exc_type as e:
            err = e
        else:
            raise AssertionError(f"no {exc_type.__name__}; the SDK returned {got!r}")
        assert err.status_code == 400
        texts = [str(err), *support.strings_in(err.body)]
        if cp != "msg":
            assert err.code == "content_filter", f"code {err.code!r}: {err.body!r}"
    assert not got, f"the SDK yielded something before the error (a half stream): {got!r}"
    assert any("`ask`" in t for t in texts), f"the error does not name the rule `ask`: {texts}"
    assert not any("forbidden words" in t.lower() for t in texts), f"the error quotes the match: {texts}"
    assert mock.requests() == [], "a blocked request reached the upstream"


# ============================================================================================
# 2. An e-mail address is redacted on its way upstream; the call succeeds


@pytest.mark.parametrize("caller,up,mode", cases())
def test_email_is_redacted_upstream_and_the_answer_is_normal(clients, mock, caller, up, mode):
    cp = XCALLERS[caller]
    a = CALLS[cp](clients[caller], mode, text_request(cp, f"{up}-text", EMAIL_PROMPT))
    assert a.text == REDACTED_HELLO, f"text {a.text!r}"
    assert a.calls == []
    assert a.finish == finish_of(cp, False), f"finish {a.finish!r}"
    assert a.usage is not None, "no usage"
    seen = upstream_texts(mock)
    assert "[REDACTED:mail]" in seen, f"the upstream body has no [REDACTED:mail]: {seen}"
    assert EMAIL not in seen, f"the e-mail address reached the upstream: {seen}"
    assert "Say hello, then write to" in seen, f"the rest of the prompt was lost: {seen}"


# ============================================================================================
# 3. "Hello" in the answer is redacted, even split across two stream deltas


@pytest.mark.parametrize("caller,up,mode", cases())
def test_answer_match_is_redacted_and_the_stream_ends_normally(clients, mock, caller, up, mode):
    cp = XCALLERS[caller]
    a = CALLS[cp](clients[caller], mode, REQUESTS[cp](f"{up}-text", "text"))
    assert a.text == REDACTED_HELLO, f"text {a.text!r}, expected {REDACTED_HELLO!r}"
    assert a.calls == []
    assert a.finish == finish_of(cp, False), f"finish {a.finish!r}"
    assert a.usage is not None, "no usage"
    seen = upstream_texts(mock)
    assert "[REDACTED" not in seen, f"an answer rule changed the request: {seen}"


# ============================================================================================
# 4. Tool-call arguments pass through every rule unchanged


@pytest.mark.parametrize("caller,up,mode", cases())
def test_tool_call_arguments_are_unchanged(clients, mock, caller, up, mode):
    cp = XCALLERS[caller]
    a = CALLS[cp](clients[caller], mode, REQUESTS[cp](f"{up}-tool", "tool"))
    assert [(c[1], c[2]) for c in a.calls] == [("get_weather", args) for args in EXPECTED_CALLS["tool"]], (
        f"calls {a.calls}"
    )
    assert a.text == PRE_TOOL_TEXT.get(up, ""), f"text {a.text!r}"
    assert a.finish == finish_of(cp, True), f"finish {a.finish!r}"
    assert len(mock.requests()) == 1
