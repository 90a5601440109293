"""Shared helpers for the SDK suite: the mock's control API, raw SSE probing, the test config.

Everything here talks to 127.0.0.1 only, with the standard library (no SDK), so that a helper
can never hide an SDK parsing problem.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

# The key every SDK client sends to the router. It must never reach an upstream.
CALLER_KEY = "sk-caller-key-must-not-leak-0f1e2d"

TIMEOUT_S = 30.0

# Short names used in provider and model ids, and the wire protocol each stands for.
PROTOCOLS = {
    "chat": "chat_completions",
    "resp": "responses",
    "msg": "messages",
    "gem": "generate_content",
}

# Scenarios the mock picks by (upstream) model name.
SCENARIOS = ("text", "tool", "parallel")

# Faults put on the first endpoint of a two-endpoint virtual model. Each must fail over invisibly.
FAULTS = {
    "s503": "status=503",
    "serr": "stream-error",
    "drop": "drop",
    "r429": "status=429;retry-after=1;times=1",
}

# Call modes of a failover test: non-streaming, the SDK stream helper, the raw `stream=True` iterator.
MODES = ("ns", "sh", "st")

# `stream-error` is a fault inside a 200 stream; it means nothing to a non-streaming call.
FAULTS_BY_MODE = {
    "ns": ("s503", "drop", "r429"),
    "sh": ("s503", "serr", "drop", "r429"),
    "st": ("s503", "serr", "drop", "r429"),
}


def provider_key(p: str) -> str:
    """The upstream credential configured for every provider of protocol `p`."""
    return f"upstream-key-{p}"


def upstream_model(p: str, scenario: str) -> str:
    """The id the router must send upstream for `<p>-<scenario>` (never the caller's name)."""
    return f"up-{p}-{scenario}"


def failover_model(p: str, fault: str, mode: str) -> str:
    return f"failover-{p}-{fault}-{mode}"


def fault_provider(p: str, fault: str, mode: str) -> str:
    return f"{p}-{fault}-{mode}"


def badreq_model(p: str) -> str:
    return f"badreq-{p}"


def cut_model(p: str, mode: str) -> str:
    return f"{p}-cut-{mode}-text"


def cut_provider(p: str, mode: str) -> str:
    return f"{p}-cut-{mode}"


# --------------------------------------------------------------------------------------------
# Plain HTTP and SSE


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None):
    """(status, headers, body bytes). Never raises on an HTTP error status."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=TIMEOUT_S) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def sse_events(raw: bytes) -> list[tuple[str | None, str]]:
    """Split an SSE body into (event name, data) pairs; comments and ids are ignored."""
    events = []
    for block in raw.decode().replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].removeprefix(" "))
        if data:
            events.append((name, "\n".join(data)))
    return events


# --------------------------------------------------------------------------------------------
# The mock upstream's control API


@dataclass
class Mock:
    url: str

    def reset(self) -> None:
        status, _, body = http("POST", f"{self.url}/_mock/reset")
        assert status < 300, f"POST /_mock/reset: {status} {body[:500]!r}"

    def requests(self) -> list[dict[str, Any]]:
        """Recorded requests; `body` decoded from JSON when it was recorded as a string."""
        status, _, body = http("GET", f"{self.url}/_mock/requests")
        assert status == 200, f"GET /_mock/requests: {status} {body[:500]!r}"
        out = json.loads(body)
        for r in out:
            b = r.get("body")
            if isinstance(b, str):
                try:
                    r["body"] = json.loads(b)
                except ValueError:
                    pass
        return [r for r in out if not r.get("path", "").startswith("/_mock/")]

    # Endpoint and request body per protocol, for probing the mock directly (no SDK).
    def probe_request(self, p: str, model: str, stream: bool) -> tuple[str, dict[str, Any]]:
        if p == "chat":
            body = {"model": model, "messages": [{"role": "user", "content": "Say hello."}]}
            if stream:
                body |= {"stream": True, "stream_options": {"include_usage": True}}
            return f"{self.url}/v1/chat/completions", body
        if p == "resp":
            return f"{self.url}/v1/responses", {"model": model, "input": "Say hello.", "stream": stream}
        if p == "msg":
            body = {
                "model": model,
                "max_tokens": 64,
                "messages": [{"role": "user", "content": "Say hello."}],
                "stream": stream,
            }
            return f"{self.url}/v1/messages", body
        if p == "gem":
            action = "streamGenerateContent?alt=sse" if stream else "generateContent"
            body = {"contents": [{"role": "user", "parts": [{"text": "Say hello."}]}]}
            return f"{self.url}/v1beta/models/{model}:{action}", body
        raise ValueError(p)

    def upstream_error_message(self, p: str, fault: str) -> str:
        """The error message the mock itself returns for `fault` on protocol `p`."""
        url, body = self.probe_request(p, upstream_model(p, "text"), stream=False)
        status, _, raw = http("POST", url, body, {"x-mock-fault": fault})
        assert status >= 400, f"mock ignored x-mock-fault {fault!r}: {status}"
        err = json.loads(raw)["error"]
        return err["message"]

    def first_content_event(self, p: str) -> int:
        """0-based index of the first SSE event carrying answer text in the mock's text stream."""
        url, body = self.probe_request(p, upstream_model(p, "text"), stream=True)
        status, _, raw = http("POST", url, body)
        assert status == 200, f"probe {url}: {status} {raw[:500]!r}"
        for i, (name, data) in enumerate(sse_events(raw)):
            if data.startswith("[DONE]"):
                break
            obj = json.loads(data)
            if p == "chat":
                if any(c.get("delta", {}).get("content") for c in obj.get("choices", [])):
                    return i
            elif p == "resp":
                if obj.get("type") == "response.output_text.delta":
                    return i
            elif p == "msg":
                if obj.get("type") == "content_block_delta":
                    return i
            elif p == "gem":
                for cand in obj.get("candidates", []):
                    if any(part.get("text") for part in cand.get("content", {}).get("parts", [])):
                        return i
        raise AssertionError(f"no content event in the mock's {p} stream: {raw[:2000]!r}")


# --------------------------------------------------------------------------------------------
# The router configuration


def router_config(mock_url: str, cut_after: dict[str, int]) -> dict[str, Any]:
    """The test configuration (written as JSON, which is YAML).

    Per protocol `p`:
    - provider `p` (the good one) declares `p-text`, `p-tool`, `p-parallel`, sent upstream as
      `up-p-text` etc. so a test can see the model was rewritten;
    - `failover-p-FAULT-MODE`: a faulty provider first, then `p`; one provider per fault and
      call mode so that no router-side health state carries from one test to another;
    - `badreq-p`: an upstream 400 first, then `p` (a 400 must not fail over);
    - `p-cut-MODE-text`: the only endpoint cuts the stream after its first content event.
    """
    providers: dict[str, Any] = {}
    models: dict[str, Any] = {}

    def base(p: str) -> str:
        return f"{mock_url}/v1" if p in ("chat", "resp") else mock_url

    def provider(p: str, models_: list[dict[str, str]], fault: str | None = None) -> dict[str, Any]:
        prov: dict[str, Any] = {
            "api_base": base(p),
            "api_key": provider_key(p),
            "api_protocol": PROTOCOLS[p],
            "allow_private": True,
            "models": models_,
        }
        if fault is not None:
            prov["headers"] = {"x-mock-fault": fault}
        return prov

    for p in PROTOCOLS:
        providers[p] = provider(
            p, [{"id": f"{p}-{s}", "upstream_id": upstream_model(p, s)} for s in SCENARIOS]
        )
        good = {"provider": p, "model_id": f"{p}-text"}
        for mode, faults in FAULTS_BY_MODE.items():
            for fault in faults:
                name = fault_provider(p, fault, mode)
                mid = f"{name}-text"
                providers[name] = provider(
                    p, [{"id": mid, "upstream_id": upstream_model(p, "text")}], FAULTS[fault]
                )
                models[failover_model(p, fault, mode)] = {
                    "strategy": "priority",
                    "endpoints": [{"provider": name, "model_id": mid}, good],
                }
        bad = f"{p}-bad400"
        providers[bad] = provider(
            p, [{"id": f"{bad}-text", "upstream_id": upstream_model(p, "text")}], "status=400"
        )
        models[badreq_model(p)] = {
            "strategy": "priority",
            "endpoints": [{"provider": bad, "model_id": f"{bad}-text"}, good],
        }
        for mode in ("sh", "st"):
            providers[cut_provider(p, mode)] = provider(
                p,
                [{"id": cut_model(p, mode), "upstream_id": upstream_model(p, "text")}],
                f"cut-after={cut_after[p]}",
            )
    translate_entries(provider, providers, models, cut_after)
    return {
        "inherit_defaults": False,
        "server": {"skip_auth": True},
        "providers": providers,
        "models": models,
    }


# --------------------------------------------------------------------------------------------
# Translation (test_translate.py): callers of one protocol, upstreams of another.

# The SDK callers of the translation suite and the protocol each speaks (google-genai twice:
# `v1`, its 3.x default, and `v1beta`).
XCALLERS = {"chat": "chat", "resp": "resp", "msg": "msg", "gemv1": "gem", "gemv1beta": "gem"}

# Call modes per caller: google-genai has one stream API, so no separate helper mode.
XMODES = {
    "chat": ("ns", "sh", "st"),
    "resp": ("ns", "sh", "st"),
    "msg": ("ns", "sh", "st"),
    "gemv1": ("ns", "st"),
    "gemv1beta": ("ns", "st"),
}

# Faults on the first endpoint of a cross-protocol failover chain.
XFAULTS = {"s500": "status=500", "serr": "stream-error"}

_ORDER = ("chat", "resp", "msg", "gem")


def xfail_chain(caller: str) -> tuple[str, str]:
    """(first, second) endpoint protocols of the caller's failover chain: both differ from the
    caller's protocol and from each other."""
    i = _ORDER.index(XCALLERS[caller])
    return _ORDER[(i + 1) % 4], _ORDER[(i + 2) % 4]


def xfail_cases() -> list[tuple[str, str, str]]:
    """(caller, fault, mode): `stream-error` only where the call streams."""
    return [
        (c, f, m)
        for c, modes in XMODES.items()
        for m in modes
        for f in XFAULTS
        if not (f == "serr" and m == "ns")
    ]


def xfail_model(caller: str, fault: str, mode: str) -> str:
    return f"xfail-{caller}-{fault}-{mode}"


def xbad_model(caller: str, up: str) -> str:
    return f"xbad-{caller}-{up}"


def xcut_model(caller: str, up: str, mode: str) -> str:
    return f"xcut-{caller}-{up}-{mode}"


def xping_model(up: str) -> str:
    return f"xping-{up}"


def x429_model(caller: str, up: str) -> str:
    return f"x429-{caller}-{up}"


def translate_entries(
    provider, providers: dict[str, Any], models: dict[str, Any], cut_after: dict[str, int]
) -> None:
    """Config for the translation suite. The happy paths need nothing new: a caller of any
    protocol names `<p>-<scenario>` of the good provider `p`. Added here (one provider per
    test wherever a failure could leave health state behind):
    - `xfail-CALLER-FAULT-MODE`: a faulty endpoint of one protocol, then a good one of another
      (neither the caller's);
    - `xbad-CALLER-UP`: an upstream 400 of protocol UP first, then a good endpoint of UP;
    - `xcut-CALLER-UP-MODE`: the only endpoint (protocol UP) cuts its stream after the first
      content event;
    - `x429-CALLER-UP`: the only endpoint (protocol UP) answers 429.
    """
    for caller, cp in XCALLERS.items():
        for up in PROTOCOLS:
            if up == cp:
                continue
            for mode in XMODES[caller]:
                if mode == "ns":
                    continue
                name = xcut_model(caller, up, mode)
                providers[name] = provider(
                    up, [{"id": name, "upstream_id": upstream_model(up, "text")}], f"cut-after={cut_after[up]}"
                )
            name = x429_model(caller, up)
            providers[name] = provider(up, [{"id": name, "upstream_id": upstream_model(up, "text")}], "status=429")
    # `xping-UP`: the only endpoint (protocol UP) stalls 1.5 s after its first content event;
    # its idle timeout is 2 s, so the router owes the caller a keep-alive after 1 s (E31).
    for up in PROTOCOLS:
        name = xping_model(up)
        prov = provider(up, [{"id": name, "upstream_id": upstream_model(up, "text")}], "stall-mid=1500")
        prov["timeouts"] = {"idle": "2s"}
        providers[name] = prov
    for caller, fault, mode in xfail_cases():
        first, second = xfail_chain(caller)
        name = f"xf-{caller}-{fault}-{mode}"
        mid = f"{name}-text"
        providers[name] = provider(
            first, [{"id": mid, "upstream_id": upstream_model(first, "text")}], XFAULTS[fault]
        )
        models[xfail_model(caller, fault, mode)] = {
            "strategy": "priority",
            "endpoints": [
                {"provider": name, "model_id": mid},
                {"provider": second, "model_id": f"{second}-text"},
            ],
        }
    for caller, cp in XCALLERS.items():
        for up in PROTOCOLS:
            if up == cp:
                continue
            name = f"xb-{caller}-{up}"
            mid = f"{name}-text"
            providers[name] = provider(
                up, [{"id": mid, "upstream_id": upstream_model(up, "text")}], "status=400"
            )
            models[xbad_model(caller, up)] = {
                "strategy": "priority",
                "endpoints": [
                    {"provider": name, "model_id": mid},
                    {"provider": up, "model_id": f"{up}-text"},
                ],
            }


# --------------------------------------------------------------------------------------------
# Assertions on what the upstream saw


def auth_values(p: str, req: dict[str, Any]) -> list[str]:
    """The credentials in an upstream request, as the provider's protocol carries them."""
    h = req.get("headers", {})
    vals = []
    if "authorization" in h:
        vals.append(h["authorization"].removeprefix("Bearer ").strip())
    for name in ("x-api-key", "x-goog-api-key"):
        if name in h:
            vals.append(h[name])
    path = req.get("path", "")
    if "key=" in path:
        vals.append(path.split("key=", 1)[1].split("&", 1)[0])
    return vals


def assert_no_caller_key(reqs: list[dict[str, Any]]) -> None:
    for r in reqs:
        blob = json.dumps(r)
        assert CALLER_KEY not in blob, f"the caller's API key reached the upstream: {r}"


def assert_upstream_auth(p: str, reqs: list[dict[str, Any]]) -> None:
    assert reqs, "the upstream saw no request"
    assert_no_caller_key(reqs)
    for r in reqs:
        assert provider_key(p) in auth_values(p, r), (
            f"upstream request without the configured provider key {provider_key(p)!r}: "
            f"{r.get('path')} {r.get('headers')}"
        )


def upstream_model_of(p: str, req: dict[str, Any]) -> str:
    """The model an upstream request names (in the body, or in the path for Gemini)."""
    if p == "gem":
        path = req["path"].split("?", 1)[0]
        return path.rsplit("/models/", 1)[1].split(":", 1)[0]
    return req["body"]["model"]


def fault_of(req: dict[str, Any]) -> str | None:
    return req.get("headers", {}).get("x-mock-fault")


def is_doubled(s: str) -> bool:
    """True for an id the openai delta accumulator concatenated (`call_1call_1`)."""
    n = len(s)
    return n > 0 and n % 2 == 0 and s[: n // 2] == s[n // 2 :]


def strings_in(obj: Any) -> list[str]:
    """Every string inside a decoded JSON value (to find an upstream message in an error body)."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in strings_in(v)]
    if isinstance(obj, (list, tuple)):
        return [s for v in obj for s in strings_in(v)]
    return []


def assert_carries_message(exc: BaseException, message: str) -> None:
    """The SDK exception shows the upstream's error message (in its text or its parsed body)."""
    found = [str(exc), *strings_in(getattr(exc, "body", None)), *strings_in(getattr(exc, "details", None))]
    assert any(message in s for s in found), (
        f"upstream message {message!r} not in the SDK error: {exc!r} body={getattr(exc, 'body', None)!r}"
    )


def assert_failed_over(mock: Mock, p: str, fault: str) -> list[dict[str, Any]]:
    """The first upstream attempt carried `fault`, and every attempt asked for the upstream text model."""
    reqs = mock.requests()
    assert reqs, "the upstream saw no request"
    assert fault_of(reqs[0]) == FAULTS[fault], (
        f"first upstream attempt was not the faulty endpoint ({FAULTS[fault]!r}): "
        f"{[(r.get('path'), fault_of(r)) for r in reqs]}"
    )
    assert len(reqs) <= 3, f"too many upstream attempts: {[(r.get('path'), fault_of(r)) for r in reqs]}"
    for r in reqs:
        assert upstream_model_of(p, r) == upstream_model(p, "text")
    assert_upstream_auth(p, reqs)
    return reqs
