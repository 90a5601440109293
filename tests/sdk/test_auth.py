"""Caller authentication with the official SDKs: a key minted by `bitrouter keygen` is each
SDK's normal `api_key`; a bad one raises the SDK's own `AuthenticationError`, a key for other
models its `PermissionDeniedError`, a key over its rate its `RateLimitError`.

The router here runs with `skip_auth: false` in its own home, with an account made by
`bitrouter account --generate`; the keys are minted by the real CLI.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx2
import openai
import pytest
from google import genai
from google.genai import errors, types

import support
from conftest import Process, _binary, _PROCESSES
from support import PROTOCOLS, TIMEOUT_S

HELLO = "Hello!"


@pytest.fixture(scope="module")
def auth_home(mock, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("auth-home")
    config = support.router_config(mock.url, {p: 1 for p in PROTOCOLS})
    config["server"] = {"skip_auth": False}
    # Priced, so that a budget can be spent (an unpriced route is never held to one).
    for p in PROTOCOLS:
        for m in config["providers"][p]["models"]:
            m["pricing"] = {"input": 1.0, "output": 1.0}
    (home / "bitrouter.yaml").write_text(json.dumps(config, indent=2) + "\n")
    cli(home, "account", "--generate", "--name", "sdk-tests")
    return home


def cli(home: Path, *args: str) -> str:
    binary = _binary("BITROUTER_BIN", "bitrouter")
    done = subprocess.run(
        [str(binary), "--home-dir", str(home), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, f"bitrouter {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


@pytest.fixture(scope="module")
def keys(auth_home) -> dict[str, str]:
    return {
        "good": cli(auth_home, "keygen", "--exp", "1h"),
        "gem-only": cli(auth_home, "keygen", "--exp", "1h", "--models", "gem-*"),
        "admin": cli(auth_home, "keygen", "--exp", "1h", "--scope", "admin"),
        "slow": cli(auth_home, "keygen", "--exp", "1h", "--rpm", "1"),
        "broke": cli(auth_home, "keygen", "--exp", "1h", "--budget", "0", "--budget-window", "day"),
    }


@pytest.fixture(scope="module")
def auth_url(auth_home, keys) -> Iterator[str]:
    binary = _binary("BITROUTER_BIN", "bitrouter")
    argv = [str(binary), "--home-dir", str(auth_home), "serve", "--listen", "127.0.0.1:0"]
    proc = Process("bitrouter-auth", argv, auth_home)
    _PROCESSES.append(proc)
    try:
        yield proc.wait_listening()
    finally:
        proc.stop()
        _PROCESSES.remove(proc)


def tampered(token: str) -> str:
    head, body, sig = token.split(".")
    return f"{head}.{body}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}"


def chat(url: str, key: str, model: str = "chat-text"):
    c = openai.OpenAI(api_key=key, base_url=f"{url}/v1", max_retries=0, timeout=TIMEOUT_S)
    return c.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])


def responses(url: str, key: str, model: str = "resp-text"):
    c = openai.OpenAI(api_key=key, base_url=f"{url}/v1", max_retries=0, timeout=TIMEOUT_S)
    return c.responses.create(model=model, input="hi")


def messages(url: str, key: str, model: str = "msg-text"):
    c = anthropic.Anthropic(api_key=key, base_url=url, max_retries=0, timeout=TIMEOUT_S)
    return c.messages.create(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )


def generate(url: str, key: str, model: str = "gem-text"):
    c = genai.Client(
        api_key=key,
        http_options=types.HttpOptions(
            base_url=url, api_version="v1beta", timeout=int(TIMEOUT_S * 1000)
        ),
    )
    return c.models.generate_content(model=model, contents="hi")


def text_of(kind: str, r) -> str:
    if kind == "chat":
        return r.choices[0].message.content
    if kind == "resp":
        return r.output_text
    if kind == "msg":
        return r.content[0].text
    return r.text


CALLS = {"chat": chat, "resp": responses, "msg": messages, "gem": generate}


@pytest.mark.parametrize("kind", CALLS)
def test_a_minted_key_is_the_sdks_normal_api_key(auth_url, keys, mock, kind):
    r = CALLS[kind](auth_url, keys["good"])
    assert text_of(kind, r) == HELLO
    blob = json.dumps(mock.requests())
    assert keys["good"][:40] not in blob, "the caller's key reached the upstream"


@pytest.mark.parametrize("kind", CALLS)
@pytest.mark.parametrize("which", ["tampered", "garbage", "missing"])
def test_a_bad_key_raises_the_sdks_authentication_error(auth_url, keys, kind, which):
    key = {"tampered": tampered(keys["good"]), "garbage": "sk-not-ours", "missing": ""}[which]
    if kind in ("chat", "resp"):
        with pytest.raises(openai.AuthenticationError) as e:
            CALLS[kind](auth_url, key or "x")
        if which == "missing":
            return
        assert "invalid API key" in str(e.value)
    elif kind == "msg":
        with pytest.raises(anthropic.AuthenticationError):
            CALLS[kind](auth_url, key or "x")
    else:
        with pytest.raises(errors.ClientError) as e:
            CALLS[kind](auth_url, key or "x")
        assert e.value.code == 401
        assert e.value.status == "UNAUTHENTICATED"


@pytest.mark.parametrize("kind", ["chat", "resp", "msg"])
def test_a_key_for_other_models_raises_permission_denied(auth_url, keys, kind):
    err = openai.PermissionDeniedError if kind in ("chat", "resp") else anthropic.PermissionDeniedError
    with pytest.raises(err) as e:
        CALLS[kind](auth_url, keys["gem-only"])
    assert "may not use model" in str(e.value)
    with pytest.raises(err):
        CALLS[kind](auth_url, keys["admin"])


def test_gemini_permission_and_the_allowed_model(auth_url, keys):
    assert generate(auth_url, keys["gem-only"]).text == HELLO
    with pytest.raises(errors.ClientError) as e:
        generate(auth_url, keys["admin"])
    assert e.value.code == 403 and e.value.status == "PERMISSION_DENIED"


def test_a_key_over_its_rate_raises_rate_limit_error(auth_url, keys):
    assert text_of("chat", chat(auth_url, keys["slow"])) == HELLO
    with pytest.raises(openai.RateLimitError) as e:
        chat(auth_url, keys["slow"])
    assert 1 <= int(e.value.response.headers["retry-after"]) <= 60


class Counter:
    """An httpx event hook: how many HTTP requests the SDK sent (its retries included)."""

    def __init__(self) -> None:
        self.sent = 0

    def __call__(self, request: httpx2.Request) -> None:
        self.sent += 1


@pytest.mark.parametrize("kind", ["chat", "resp", "msg"])
def test_a_spent_budget_is_final_for_the_sdks_that_would_retry_a_429(auth_url, keys, mock, kind):
    # max_retries=3: a plain 429 would be sent four times; `x-should-retry: false` stops it.
    count = Counter()
    http = httpx2.Client(event_hooks={"request": [count]}, timeout=TIMEOUT_S)
    if kind == "msg":
        c = anthropic.Anthropic(
            api_key=keys["broke"], base_url=auth_url, max_retries=3, http_client=http
        )
        with pytest.raises(anthropic.RateLimitError) as e:
            c.messages.create(
                model="msg-text", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
            )
    else:
        c = openai.OpenAI(
            api_key=keys["broke"], base_url=f"{auth_url}/v1", max_retries=3, http_client=http
        )
        with pytest.raises(openai.RateLimitError) as e:
            if kind == "chat":
                c.chat.completions.create(
                    model="chat-text", messages=[{"role": "user", "content": "hi"}]
                )
            else:
                c.responses.create(model="resp-text", input="hi")
        # OpenAI's own spelling of a spent quota, which its clients treat as final.
        assert e.value.code == "insufficient_quota"
        assert e.value.type == "insufficient_quota"
    assert count.sent == 1, f"the SDK sent {count.sent} requests"
    assert "used up" in str(e.value) and "resets at" in str(e.value)
    assert e.value.response.headers["x-should-retry"] == "false"
    assert mock.requests() == []


def test_a_spent_budget_is_genais_resource_exhausted(auth_url, keys, mock):
    with pytest.raises(errors.ClientError) as e:
        generate(auth_url, keys["broke"])
    assert e.value.code == 429 and e.value.status == "RESOURCE_EXHAUSTED"
    assert mock.requests() == []
