"""Translation: every official SDK against upstreams of every OTHER protocol.

Each test is one (caller, upstream, call mode, scenario):

- callers: openai Chat Completions (`chat`), openai Responses (`resp`), anthropic Messages
  (`msg`), google-genai on `v1` and on `v1beta` (`gemv1`, `gemv1beta`);
- upstreams: the good provider of each other protocol (`<up>-<scenario>` models of
  support.router_config, pinned by `api_protocol`);
- modes: `ns` non-streaming, `sh` the SDK's stream helper, `st` raw `stream=True` iteration
  (google-genai has one stream API: `ns` and `st` only);
- scenarios: `text` ("Hello!"), `tool` (one get_weather call), `parallel` (two calls),
  `followup` / `followup_parallel` (the caller sends back the assistant's tool call(s) and the
  results in its own format; the upstream must receive a well-formed conversation in ITS
  format with every result paired with its call).

The answer the SDK reconstructs is checked exactly (text, calls, ids, finish reason, usage
equal to what the mock upstream reported), and the one request the upstream received is
decoded strictly by a small per-protocol reader (`read_*` below) that fails on anything a
real provider would reject.

`XLATE_SAME=1` runs the same matrix on the same-protocol pairs instead (pass-through): a
self-check of the readers and the answer checks, usable while translation is broken.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

import anthropic
import openai
import pytest
from google.genai import errors as genai_errors
from google.genai import types as gt

import support
from support import PROTOCOLS, XCALLERS, XFAULTS, XMODES, http, sse_events

SCENARIOS = ("text", "tool", "parallel", "followup", "followup_parallel")
# google-genai callers also send a history whose calls carry ids (what Gemini 3 returns).
GEM_SCENARIOS = (*SCENARIOS, "followup_ids")

PARIS = {"location": "Paris"}
LONDON = {"location": "London"}
EXPECTED_CALLS = {"tool": [PARIS], "parallel": [PARIS, LONDON]}
# The tool results the follow-up turns carry back, per location: a marker word each must keep.
RESULTS = {"Paris": {"temp_c": 18, "sky": "cloudy"}, "London": {"temp_c": 12, "sky": "rain"}}
MARKER = {"Paris": "cloudy", "London": "rain"}
SYSTEM = "You are a terse weather bot."
QUESTION = "What is the weather in Paris and London?"
MAX_TOKENS = 123

# Text the mock sends before its tool calls (only its Messages answers have any).
PRE_TOOL_TEXT = {"msg": "I'll check the weather."}

ANTHROPIC_ID = re.compile(r"^[a-zA-Z0-9_-]+$")

SCHEMA = {
    "type": "object",
    "properties": {"location": {"type": "string"}},
    "required": ["location"],
}


def upstream_scenario(scenario: str) -> str:
    """The mock scenario the upstream model name selects (follow-ups are answered with text)."""
    return scenario if scenario in ("tool", "parallel") else "text"


def history_calls(scenario: str) -> list[dict]:
    return [PARIS] if scenario == "followup" else [PARIS, LONDON]


def pairs() -> list[tuple[str, str]]:
    if os.environ.get("XLATE_SAME"):
        return [(c, u) for c in XCALLERS for u in PROTOCOLS if u == XCALLERS[c]]
    return [(c, u) for c in XCALLERS for u in PROTOCOLS if u != XCALLERS[c]]


def cases() -> list[Any]:
    out = []
    for c, u in pairs():
        for m in XMODES[c]:
            for s in GEM_SCENARIOS if XCALLERS[c] == "gem" else SCENARIOS:
                out.append(pytest.param(c, u, m, s, id=f"{c}-from-{u}-{m}-{s}"))
    return out


# ============================================================================================
# What the SDK reconstructed, in one shape


@dataclass
class Answer:
    text: str
    calls: list[tuple[str | None, str, Any]]  # (id, name, parsed arguments)
    finish: Any
    usage: tuple[int, int] | None  # (prompt incl. cache, completion incl. reasoning)
    notes: dict = field(default_factory=dict)


def parse_args(raw: str, where: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as e:
        raise AssertionError(f"{where}: tool arguments are not JSON: {raw!r} ({e})") from None


# ---------------------------------------------------------------------------- openai chat


def chat_tools() -> list[dict]:
    return [
        {
            "type": "function",
            "function": {"name": "get_weather", "description": "Current weather for a city.", "parameters": SCHEMA},
        }
    ]


def chat_request(model: str, scenario: str) -> dict:
    if scenario == "text":
        return {"model": model, "messages": [{"role": "user", "content": "Say hello."}]}
    kw: dict = {"model": model, "tools": chat_tools()}
    if scenario in ("tool", "parallel"):
        kw["messages"] = [{"role": "user", "content": QUESTION}]
        return kw
    calls = history_calls(scenario)
    ids = [f"call_hist{i}" for i in range(len(calls))]
    kw["max_completion_tokens"] = MAX_TOKENS
    kw["messages"] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": QUESTION},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": i, "type": "function", "function": {"name": "get_weather", "arguments": json.dumps(a)}}
                for i, a in zip(ids, calls)
            ],
        },
        *[
            {"role": "tool", "tool_call_id": i, "content": json.dumps(RESULTS[a["location"]])}
            for i, a in zip(ids, calls)
        ],
    ]
    return kw


def chat_answer_from_completion(c, where: str) -> Answer:
    assert c.object == "chat.completion", c
    assert len(c.choices) == 1, c
    ch = c.choices[0]
    assert ch.message.role == "assistant"
    calls = []
    for tc in ch.message.tool_calls or []:
        assert tc.type == "function", tc
        calls.append((tc.id, tc.function.name, parse_args(tc.function.arguments, where)))
    usage = None
    if c.usage is not None:
        u = c.usage
        assert u.total_tokens == u.prompt_tokens + u.completion_tokens, u
        usage = (u.prompt_tokens, u.completion_tokens)
    return Answer(ch.message.content or "", calls, ch.finish_reason, usage)


def chat_call(client, mode: str, kw: dict) -> Answer:
    if mode == "ns":
        return chat_answer_from_completion(client.chat.completions.create(**kw), "chat ns")
    if mode == "sh":
        with client.chat.completions.stream(**kw, stream_options={"include_usage": True}) as s:
            events = list(s)
            final = s.get_final_completion()
        roles = [e for e in events if e.type == "chunk" and e.chunk.choices and e.chunk.choices[0].delta.role]
        assert len(roles) == 1, f"{len(roles)} role chunks: one lifecycle expected"
        done_args = [e.arguments for e in events if e.type == "tool_calls.function.arguments.done"]
        a = chat_answer_from_completion(final, "chat stream helper")
        assert [parse_args(x, "helper .done") for x in done_args] == [c[2] for c in a.calls]
        return a
    # Raw chunks, reassembled strictly.
    chunks = list(client.chat.completions.create(**kw, stream=True, stream_options={"include_usage": True}))
    assert chunks, "empty stream"
    text, calls, roles, finishes, usage_chunks = "", {}, 0, [], []
    for i, ch in enumerate(chunks):
        assert ch.object == "chat.completion.chunk", ch
        assert ch.id and ch.id == chunks[0].id, "chunks of one completion must share a non-empty id"
        assert isinstance(ch.created, int), f"chunk without `created`: {ch}"
        assert ch.model, f"chunk without `model`: {ch}"
        if not ch.choices:
            usage_chunks.append((i, ch))
            continue
        assert ch.usage is None, f"usage on a choice chunk: {ch}"
        assert len(ch.choices) == 1 and ch.choices[0].index == 0, ch
        d = ch.choices[0].delta
        roles += d.role is not None
        text += d.content or ""
        for tc in d.tool_calls or []:
            if tc.index not in calls:
                assert tc.id and tc.function and tc.function.name, f"first delta of a call lacks id/name: {tc}"
                assert tc.type == "function", tc
                calls[tc.index] = [tc.id, tc.function.name, tc.function.arguments or ""]
            else:
                assert tc.id is None, f"id repeated on a continuation delta: {tc}"
                assert not (tc.function and tc.function.name), f"name repeated on a continuation delta: {tc}"
                calls[tc.index][2] += (tc.function.arguments or "") if tc.function else ""
        if ch.choices[0].finish_reason is not None:
            finishes.append(ch.choices[0].finish_reason)
    assert roles == 1, f"{roles} role chunks: one lifecycle expected"
    assert len(finishes) == 1, f"finish reasons: {finishes}"
    assert sorted(calls) == list(range(len(calls))), f"tool call indices not 0..n: {sorted(calls)}"
    assert len(usage_chunks) == 1, f"{len(usage_chunks)} `choices: []` usage chunks (include_usage asked)"
    idx, uch = usage_chunks[0]
    assert idx == len(chunks) - 1, "the usage chunk must come last"
    u = uch.usage
    assert u is not None and u.total_tokens == u.prompt_tokens + u.completion_tokens, u
    return Answer(
        text,
        [(c[0], c[1], parse_args(c[2], "chat raw")) for _, c in sorted(calls.items())],
        finishes[0],
        (u.prompt_tokens, u.completion_tokens),
    )


# ---------------------------------------------------------------------------- openai responses


def resp_tools() -> list[dict]:
    return [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": SCHEMA,
            "strict": False,
        }
    ]


def resp_request(model: str, scenario: str) -> dict:
    if scenario == "text":
        return {"model": model, "input": "Say hello."}
    kw: dict = {"model": model, "tools": resp_tools()}
    if scenario in ("tool", "parallel"):
        kw["input"] = QUESTION
        return kw
    calls = history_calls(scenario)
    ids = [f"call_hist{i}" for i in range(len(calls))]
    kw["instructions"] = SYSTEM
    kw["max_output_tokens"] = MAX_TOKENS
    kw["input"] = [
        {"role": "user", "content": QUESTION},
        *[
            {"type": "function_call", "call_id": i, "name": "get_weather", "arguments": json.dumps(a)}
            for i, a in zip(ids, calls)
        ],
        *[
            {"type": "function_call_output", "call_id": i, "output": json.dumps(RESULTS[a["location"]])}
            for i, a in zip(ids, calls)
        ],
    ]
    return kw


def resp_answer(r, where: str) -> Answer:
    assert r.object == "response", r
    assert r.status == "completed", f"status {r.status}: {r.error} {r.incomplete_details}"
    calls = [
        (o.call_id, o.name, parse_args(o.arguments, where)) for o in r.output if o.type == "function_call"
    ]
    for o in r.output:
        if o.type == "function_call":
            assert o.call_id and len(o.call_id) <= 64, f"bad call_id {o.call_id!r}"
    usage = None
    if r.usage is not None:
        u = r.usage
        assert u.total_tokens == u.input_tokens + u.output_tokens, u
        usage = (u.input_tokens, u.output_tokens)
    return Answer(r.output_text, calls, r.status, usage)


def resp_lifecycle(events) -> None:
    types = [e.type for e in events]
    assert types and types[0] == "response.created", types
    assert types.count("response.created") == 1, f"more than one lifecycle: {types}"
    assert types.count("response.in_progress") <= 1, types
    assert types.count("response.completed") == 1 and types[-1] == "response.completed", types
    seq = [e.sequence_number for e in events]
    assert seq == list(range(len(seq))), f"sequence numbers not 0,1,2,...: {seq}"
    announced: dict[str, int] = {}
    done: set[str] = set()
    next_index = 0
    for e in events:
        if e.type == "response.output_item.added":
            assert e.output_index == next_index, f"output_index {e.output_index}, expected {next_index}: {types}"
            assert not (set(announced) - done), f"item added while another is open: {types}"
            next_index += 1
            announced[e.item.id] = e.output_index
        elif e.type == "response.output_item.done":
            assert e.item.id in announced, f"output_item.done for an unannounced item: {e}"
            done.add(e.item.id)
        elif hasattr(e, "item_id"):
            assert e.item_id in announced and e.item_id not in done, f"{e.type} outside its item's lifecycle: {e}"
    assert set(announced) == done, f"items never done: {set(announced) - done}"


def resp_call(client, mode: str, kw: dict) -> Answer:
    if mode == "ns":
        return resp_answer(client.responses.create(**kw), "responses ns")
    if mode == "sh":
        with client.responses.stream(**kw) as s:
            events = list(s)
            final = s.get_final_response()
        resp_lifecycle(events)
        a = resp_answer(final, "responses stream helper")
        deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert deltas == a.text, f"text deltas {deltas!r} != final text {a.text!r}"
        return a
    events = list(client.responses.create(**kw, stream=True))
    resp_lifecycle(events)
    final = events[-1].response
    a = resp_answer(final, "responses raw")
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == a.text, f"text deltas {text!r} != final text {a.text!r}"
    args: dict[str, str] = {}
    for e in events:
        if e.type == "response.function_call_arguments.delta":
            args[e.item_id] = args.get(e.item_id, "") + e.delta
    done_calls = [e.item for e in events if e.type == "response.output_item.done" and e.item.type == "function_call"]
    assert [(c.call_id, c.name, parse_args(c.arguments, "output_item.done")) for c in done_calls] == a.calls
    assert [parse_args(args.get(c.id, ""), "argument deltas") for c in done_calls] == [c[2] for c in a.calls], (
        f"argument deltas do not add up: {args}"
    )
    return a


# ---------------------------------------------------------------------------- anthropic


def msg_tools() -> list[dict]:
    return [{"name": "get_weather", "description": "Current weather for a city.", "input_schema": SCHEMA}]


def msg_request(model: str, scenario: str) -> dict:
    if scenario == "text":
        return {"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": "Say hello."}]}
    kw: dict = {"model": model, "max_tokens": 256, "tools": msg_tools()}
    if scenario in ("tool", "parallel"):
        kw["messages"] = [{"role": "user", "content": QUESTION}]
        return kw
    calls = history_calls(scenario)
    ids = [f"toolu_hist{i}" for i in range(len(calls))]
    kw["system"] = SYSTEM
    kw["max_tokens"] = MAX_TOKENS
    kw["messages"] = [
        {"role": "user", "content": QUESTION},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": i, "name": "get_weather", "input": a} for i, a in zip(ids, calls)
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": i, "content": json.dumps(RESULTS[a["location"]])}
                for i, a in zip(ids, calls)
            ],
        },
    ]
    return kw


def msg_answer(m) -> Answer:
    assert m.type == "message" and m.role == "assistant", m
    text = "".join(b.text for b in m.content if b.type == "text")
    calls = [(b.id, b.name, b.input) for b in m.content if b.type == "tool_use"]
    u = m.usage
    prompt = u.input_tokens + (u.cache_read_input_tokens or 0) + (u.cache_creation_input_tokens or 0)
    return Answer(text, calls, m.stop_reason, (prompt, u.output_tokens))


def msg_call(client, mode: str, kw: dict) -> Answer:
    if mode == "ns":
        return msg_answer(client.messages.create(**kw))
    if mode == "sh":
        with client.messages.stream(**kw) as s:
            streamed = "".join(s.text_stream)
            final = s.get_final_message()
        a = msg_answer(final)
        assert streamed == a.text, f"text_stream {streamed!r} != final text {a.text!r}"
        return a
    events = list(client.messages.create(**kw, stream=True))
    types = [e.type for e in events if e.type != "ping"]
    assert types and types[0] == "message_start", types
    assert types.count("message_start") == 1, f"more than one lifecycle: {types}"
    assert types.count("message_stop") == 1 and types[-1] == "message_stop", types
    assert types.count("message_delta") >= 1, types
    blocks: list[dict] = []
    open_index = None
    usage = {"input": None, "cache_read": None, "cache_creation": None, "output": None}
    stop = None
    for e in events:
        if e.type == "message_start":
            mu = e.message.usage
            usage.update(
                input=mu.input_tokens,
                cache_read=mu.cache_read_input_tokens,
                cache_creation=mu.cache_creation_input_tokens,
                output=mu.output_tokens,
            )
            assert e.message.content == [], e
        elif e.type == "content_block_start":
            assert e.index == len(blocks), f"block index {e.index} after {len(blocks)} blocks: {types}"
            assert open_index is None, "a block started before the previous one stopped"
            open_index = e.index
            cb = e.content_block
            blocks.append({"type": cb.type, "text": "", "json": "", "id": getattr(cb, "id", None), "name": getattr(cb, "name", None)})
            if cb.type == "tool_use":
                assert cb.input == {}, f"tool_use block must start with input {{}}: {cb}"
        elif e.type == "content_block_delta":
            assert e.index == open_index, f"delta for block {e.index} while {open_index} is open"
            if e.delta.type == "text_delta":
                blocks[e.index]["text"] += e.delta.text
            elif e.delta.type == "input_json_delta":
                blocks[e.index]["json"] += e.delta.partial_json
        elif e.type == "content_block_stop":
            assert e.index == open_index, f"stop for block {e.index} while {open_index} is open"
            open_index = None
        elif e.type == "message_delta":
            stop = e.delta.stop_reason
            du = e.usage
            usage["output"] = du.output_tokens
            for k, attr in (("input", "input_tokens"), ("cache_read", "cache_read_input_tokens"), ("cache_creation", "cache_creation_input_tokens")):
                if getattr(du, attr, None) is not None:
                    usage[k] = getattr(du, attr)
    assert open_index is None, "a block was never stopped"
    for b in blocks:
        if b["type"] == "text":
            assert b["text"], "empty text block"
    calls = [(b["id"], b["name"], parse_args(b["json"], "input_json_delta")) for b in blocks if b["type"] == "tool_use"]
    prompt = (usage["input"] or 0) + (usage["cache_read"] or 0) + (usage["cache_creation"] or 0)
    text = "".join(b["text"] for b in blocks if b["type"] == "text")
    return Answer(text, calls, stop, (prompt, usage["output"] or 0))


# ---------------------------------------------------------------------------- google-genai


def gem_config(scenario: str) -> gt.GenerateContentConfig | None:
    if scenario == "text":
        return None
    cfg = gt.GenerateContentConfig(
        tools=[
            gt.Tool(
                function_declarations=[
                    gt.FunctionDeclaration(
                        name="get_weather", description="Current weather for a city.", parameters_json_schema=SCHEMA
                    )
                ]
            )
        ],
        automatic_function_calling=gt.AutomaticFunctionCallingConfig(disable=True),
    )
    if scenario.startswith("followup"):
        cfg.system_instruction = SYSTEM
        cfg.max_output_tokens = MAX_TOKENS
    return cfg


def gem_request(model: str, scenario: str) -> dict:
    if scenario == "text":
        return {"model": model, "contents": "Say hello."}
    kw: dict = {"model": model, "config": gem_config(scenario)}
    if scenario in ("tool", "parallel"):
        kw["contents"] = QUESTION
        return kw
    calls = history_calls(scenario)
    # `followup_ids`: calls with ids, echoed in the responses (Gemini 3). Otherwise no ids, what
    # Gemini 2.x returns: the router must pair results with calls by position.
    ids = [f"fc_hist{i}" if scenario == "followup_ids" else None for i in range(len(calls))]
    kw["contents"] = [
        gt.Content(role="user", parts=[gt.Part(text=QUESTION)]),
        gt.Content(
            role="model",
            parts=[gt.Part(function_call=gt.FunctionCall(id=i, name="get_weather", args=a)) for i, a in zip(ids, calls)],
        ),
        gt.Content(
            role="user",
            parts=[
                gt.Part(
                    function_response=gt.FunctionResponse(id=i, name="get_weather", response=RESULTS[a["location"]])
                )
                for i, a in zip(ids, calls)
            ],
        ),
    ]
    return kw


def gem_usage(um) -> tuple[int, int] | None:
    if um is None:
        return None
    prompt = (um.prompt_token_count or 0) + (um.tool_use_prompt_token_count or 0)
    completion = (um.candidates_token_count or 0) + (um.thoughts_token_count or 0)
    if um.total_token_count is not None:
        assert um.total_token_count == prompt + completion, um
    return prompt, completion


def gem_parts(r) -> tuple[str, list, list]:
    text, calls, finishes = "", [], []
    for cand in r.candidates or []:
        assert (cand.index or 0) == 0, cand
        if cand.content is not None:
            assert cand.content.role in (None, "model"), cand.content
            for part in cand.content.parts or []:
                if part.text and not part.thought:
                    text += part.text
                if part.function_call:
                    fc = part.function_call
                    calls.append((fc.id, fc.name, fc.args))
        if cand.finish_reason is not None:
            finishes.append(cand.finish_reason)
    return text, calls, finishes


def gem_call(client, mode: str, kw: dict) -> Answer:
    if mode == "ns":
        r = client.models.generate_content(**kw)
        assert r.candidates and len(r.candidates) == 1, r
        text, calls, finishes = gem_parts(r)
        assert len(finishes) == 1, finishes
        return Answer(text, calls, finishes[0], gem_usage(r.usage_metadata))
    chunks = list(client.models.generate_content_stream(**kw))
    assert chunks, "empty stream"
    text, calls, finishes, usage = "", [], [], None
    for i, ch in enumerate(chunks):
        t, c, f = gem_parts(ch)
        assert not (finishes and (t or c)), f"content after the finishing chunk: chunk {i} {ch}"
        text, calls, finishes = text + t, calls + c, finishes + f
        if ch.usage_metadata is not None:
            usage = gem_usage(ch.usage_metadata)
    assert len(finishes) == 1, f"finish reasons: {finishes}"
    assert chunks[-1].usage_metadata is not None, "the last chunk must carry the final usageMetadata"
    return Answer(text, calls, finishes[0], usage)


# ============================================================================================
# Drivers


REQUESTS = {"chat": chat_request, "resp": resp_request, "msg": msg_request, "gem": gem_request}


@pytest.fixture(scope="module")
def clients(router_url):
    from google import genai

    def gem(version: str):
        return genai.Client(
            api_key=support.CALLER_KEY,
            http_options=gt.HttpOptions(base_url=router_url, api_version=version, timeout=int(support.TIMEOUT_S * 1000)),
        )

    oai = openai.OpenAI(api_key=support.CALLER_KEY, base_url=f"{router_url}/v1", max_retries=0, timeout=support.TIMEOUT_S)
    ant = anthropic.Anthropic(api_key=support.CALLER_KEY, base_url=router_url, max_retries=0, timeout=support.TIMEOUT_S)
    return {"chat": oai, "resp": oai, "msg": ant, "gemv1": gem("v1"), "gemv1beta": gem("v1beta")}


def call(clients, caller: str, mode: str, model: str, scenario: str) -> Answer:
    cp = XCALLERS[caller]
    kw = REQUESTS[cp](model, scenario)
    client = clients[caller]
    return {"chat": chat_call, "resp": resp_call, "msg": msg_call, "gem": gem_call}[cp](client, mode, kw)


_USAGE_CACHE: dict[tuple[str, str, bool], tuple[int, int]] = {}


def mock_usage(mock, up: str, scenario: str, stream: bool) -> tuple[int, int]:
    """(prompt, completion) the mock reports for this scenario, read from the mock directly."""
    key = (up, scenario, stream)
    if key in _USAGE_CACHE:
        return _USAGE_CACHE[key]
    url, body = mock.probe_request(up, support.upstream_model(up, scenario), stream)
    status, _, raw = http("POST", url, body)
    assert status == 200, raw[:500]
    if not stream:
        objs = [json.loads(raw)]
    else:
        objs = [json.loads(d) for _, d in sse_events(raw) if not d.startswith("[DONE]")]
    prompt = completion = None
    for o in objs:
        if up == "chat" and o.get("usage"):
            prompt, completion = o["usage"]["prompt_tokens"], o["usage"]["completion_tokens"]
        elif up == "resp":
            r = o.get("response", o)
            if r.get("usage"):
                prompt, completion = r["usage"]["input_tokens"], r["usage"]["output_tokens"]
        elif up == "msg":
            u = o.get("usage") or (o.get("message") or {}).get("usage") or {}
            if "input_tokens" in u:
                prompt = u["input_tokens"] + u.get("cache_read_input_tokens", 0) + u.get("cache_creation_input_tokens", 0)
            if "output_tokens" in u:
                completion = u["output_tokens"]
        elif up == "gem" and o.get("usageMetadata"):
            um = o["usageMetadata"]
            prompt = um.get("promptTokenCount", 0) + um.get("toolUsePromptTokenCount", 0)
            completion = um.get("candidatesTokenCount", 0) + um.get("thoughtsTokenCount", 0)
    assert prompt and completion, f"no usage in the mock's {up} {scenario} answer: {raw[:800]!r}"
    _USAGE_CACHE[key] = (prompt, completion)
    mock.reset()
    return prompt, completion


def check_answer(caller: str, up: str, scenario: str, a: Answer, usage: tuple[int, int]) -> None:
    cp = XCALLERS[caller]
    us = upstream_scenario(scenario)
    want_calls = EXPECTED_CALLS.get(us, [])
    want_text = "Hello!" if us == "text" else PRE_TOOL_TEXT.get(up, "")
    assert a.text == want_text, f"text {a.text!r}, expected {want_text!r}"
    assert [c[1] for c in a.calls] == ["get_weather"] * len(want_calls), a.calls
    assert [c[2] for c in a.calls] == want_calls, a.calls
    ids = [c[0] for c in a.calls]
    if cp == "gem":
        given = [i for i in ids if i]
        assert len(set(given)) == len(given), f"duplicate function-call ids: {ids}"
    else:
        assert all(isinstance(i, str) and i for i in ids), f"empty tool-call id: {ids}"
        assert len(set(ids)) == len(ids), f"duplicate tool-call ids: {ids}"
        doubled = [i for i in ids if support.is_doubled(i)]
        assert not doubled, f"tool-call id repeated on a continuation delta: {doubled}"
    if cp == "msg":
        bad = [i for i in ids if not ANTHROPIC_ID.match(i)]
        assert not bad, f"tool_use ids outside ^[a-zA-Z0-9_-]+$: {bad}"
    tools = bool(want_calls)
    want_finish = {
        "chat": "tool_calls" if tools else "stop",
        "resp": "completed",
        "msg": "tool_use" if tools else "end_turn",
        "gem": gt.FinishReason.STOP,
    }[cp]
    assert a.finish == want_finish, f"finish {a.finish!r}, expected {want_finish!r}"
    assert a.usage is not None, "no usage"
    assert a.usage == usage, f"usage (prompt, completion) {a.usage}, the upstream reported {usage}"


# ============================================================================================
# Strict readers of what the upstream received, into one conversation shape:
# [(role, [("text", s) | ("call", id, name, args) | ("result", ref, name, content_str)])]
# with role in system/user/assistant/tool.


def _text_parts(content, allowed: tuple[str, ...], where: str) -> str:
    if isinstance(content, str):
        return content
    assert isinstance(content, list) and content, f"{where}: content must be a string or a non-empty list: {content!r}"
    out = []
    for p in content:
        assert isinstance(p, dict) and p.get("type") in allowed, f"{where}: part type not in {allowed}: {p!r}"
        assert isinstance(p.get("text"), str), f"{where}: part without text: {p!r}"
        out.append(p["text"])
    return "".join(out)


def _data_url(url: str, where: str) -> tuple:
    m = re.match(r"^data:([\w.+-]+/[\w.+-]+);base64,(.*)$", url or "", re.S)
    assert m, f"{where}: not a base64 data URL: {url[:80]!r}"
    return ("image", m.group(1), m.group(2))


def _user_items(content, where: str, text_types: tuple[str, ...], image) -> list:
    """A user turn's text and images, in order; `image(part)` reads an image part or returns None."""
    if isinstance(content, str):
        assert content, f"{where}: empty content"
        return [("text", content)]
    assert isinstance(content, list) and content, f"{where}: content must be a string or a non-empty list: {content!r}"
    items = []
    for p in content:
        if isinstance(p, dict) and p.get("type") in text_types and isinstance(p.get("text"), str):
            items.append(("text", p["text"]))
            continue
        img = image(p)
        assert img is not None, f"{where}: unexpected part {p!r}"
        items.append(img)
    return items


def read_chat(body: dict) -> tuple[list, list]:
    msgs = body.get("messages")
    assert isinstance(msgs, list) and msgs, f"chat: no messages: {body}"
    conv: list = []
    open_ids: list[str] = []  # calls of the last assistant message not yet answered
    for i, m in enumerate(msgs):
        role = m.get("role")
        where = f"chat messages[{i}]"
        if role in ("system", "developer"):
            conv.append(("system", [("text", _text_parts(m.get("content"), ("text",), where))]))
        elif role == "user":
            assert not open_ids, f"{where}: user message before the tool results of {open_ids}"
            conv.append(("user", _user_items(m.get("content"), where, ("text",), lambda p: _data_url((p.get("image_url") or {}).get("url"), where) if p.get("type") == "image_url" else None)))
        elif role == "assistant":
            assert not open_ids, f"{where}: assistant message before the tool results of {open_ids}"
            items = []
            if m.get("content") not in (None, ""):
                items.append(("text", _text_parts(m["content"], ("text", "refusal"), where)))
            tcs = m.get("tool_calls")
            if tcs is not None:
                assert isinstance(tcs, list) and tcs, f"{where}: tool_calls must be a non-empty list: {tcs!r}"
            for tc in tcs or []:
                assert tc.get("type") == "function", f"{where}: {tc!r}"
                assert isinstance(tc.get("id"), str) and tc["id"], f"{where}: call without id: {tc!r}"
                fn = tc.get("function") or {}
                assert isinstance(fn.get("arguments"), str), f"{where}: arguments must be a JSON string: {tc!r}"
                items.append(("call", tc["id"], fn.get("name"), parse_args(fn["arguments"], where)))
                open_ids.append(tc["id"])
            assert items, f"{where}: empty assistant message: {m!r}"
            conv.append(("assistant", items))
        elif role == "tool":
            tid = m.get("tool_call_id")
            assert tid in open_ids, f"{where}: tool_call_id {tid!r} answers no call of the preceding assistant message {open_ids}"
            open_ids.remove(tid)
            conv.append(("tool", [("result", tid, None, _text_parts(m.get("content"), ("text",), where))]))
        else:
            raise AssertionError(f"{where}: unknown role {role!r}")
    assert not open_ids, f"chat: calls without results: {open_ids}"
    tools = []
    for t in body.get("tools") or []:
        assert t.get("type") == "function" and isinstance(t.get("function"), dict), f"chat tool: {t!r}"
        fn = t["function"]
        assert isinstance(fn.get("parameters"), dict) and fn["parameters"].get("type") == "object", f"chat tool: {t!r}"
        tools.append(fn.get("name"))
    return conv, tools


def read_resp(body: dict) -> tuple[list, list]:
    assert "previous_response_id" not in body or body["previous_response_id"] is None, body
    conv: list = []
    if body.get("instructions"):
        assert isinstance(body["instructions"], str), body["instructions"]
        conv.append(("system", [("text", body["instructions"])]))
    inp = body.get("input")
    if isinstance(inp, str):
        conv.append(("user", [("text", inp)]))
    else:
        assert isinstance(inp, list) and inp, f"responses: input must be a string or a non-empty list: {inp!r}"
        calls: dict[str, int] = {}
        for i, it in enumerate(inp):
            where = f"responses input[{i}]"
            kind = it.get("type", "message")
            if kind == "message":
                role = it.get("role")
                assert role in ("user", "assistant", "system", "developer"), f"{where}: role {role!r}"
                if role == "assistant":
                    text = _text_parts(it.get("content"), ("output_text", "refusal"), where)
                    conv.append(("assistant", [("text", text)]))
                else:
                    if role == "user":
                        conv.append(("user", _user_items(it.get("content"), where, ("input_text",), lambda p: _data_url(p.get("image_url"), where) if p.get("type") == "input_image" else None)))
                    else:
                        conv.append(("system", [("text", _text_parts(it.get("content"), ("input_text",), where))]))
            elif kind == "function_call":
                cid = it.get("call_id")
                assert isinstance(cid, str) and cid and len(cid) <= 64, f"{where}: bad call_id: {it!r}"
                assert cid not in calls, f"{where}: call_id {cid!r} used twice"
                assert isinstance(it.get("arguments"), str), f"{where}: arguments must be a JSON string: {it!r}"
                calls[cid] = i
                item = ("call", cid, it.get("name"), parse_args(it["arguments"], where))
                if conv and conv[-1][0] == "assistant":
                    conv[-1][1].append(item)
                else:
                    conv.append(("assistant", [item]))
            elif kind == "function_call_output":
                cid = it.get("call_id")
                assert cid in calls, f"{where}: output for unknown call_id {cid!r} (calls: {list(calls)})"
                out = it.get("output")
                if not isinstance(out, str):
                    out = _text_parts(out, ("input_text",), where)
                conv.append(("tool", [("result", cid, None, out)]))
            else:
                raise AssertionError(f"{where}: unexpected item type {kind!r}: {it!r}")
    tools = []
    for t in body.get("tools") or []:
        assert t.get("type") == "function" and isinstance(t.get("parameters"), dict), f"responses tool: {t!r}"
        assert "function" not in t, f"responses tools are flat, not Chat-shaped: {t!r}"
        assert t.get("strict") is False, f"a translated tool must say strict:false (E24): {t!r}"
        tools.append(t.get("name"))
    return conv, tools


def read_msg(body: dict) -> tuple[list, list]:
    assert isinstance(body.get("max_tokens"), int) and body["max_tokens"] > 0, f"messages: max_tokens required: {body}"
    conv: list = []
    if body.get("system") is not None:
        conv.append(("system", [("text", _text_parts(body["system"], ("text",), "messages system"))]))
    msgs = body.get("messages")
    assert isinstance(msgs, list) and msgs, f"messages: no messages: {body}"
    assert msgs[0].get("role") == "user", f"messages: the first message must be a user message: {msgs[0]!r}"
    pending: list[str] = []  # tool_use ids of the previous assistant message
    for i, m in enumerate(msgs):
        where = f"messages[{i}]"
        role = m.get("role")
        assert role in ("user", "assistant"), f"{where}: role {role!r}"
        if i:
            assert role != msgs[i - 1]["role"], f"{where}: two {role} messages in a row"
        content = m.get("content")
        if isinstance(content, str):
            assert content, f"{where}: empty content"
            assert not pending, f"{where}: tool_use {pending} not answered by the next user message"
            conv.append((role, [("text", content)]))
            continue
        assert isinstance(content, list) and content, f"{where}: content must be a non-empty list: {content!r}"
        items = []
        results_done = False
        for j, b in enumerate(content):
            bw = f"{where}.content[{j}]"
            t = b.get("type")
            if t == "text":
                assert isinstance(b.get("text"), str) and b["text"].strip(), f"{bw}: empty text block"
                results_done = True
                items.append(("text", b["text"]))
            elif t == "image":
                assert role == "user", f"{bw}: image in a {role} message"
                src = b.get("source") or {}
                assert src.get("type") == "base64" and src.get("media_type") in ("image/png", "image/jpeg", "image/gif", "image/webp"), f"{bw}: {b!r}"
                results_done = True
                items.append(("image", src["media_type"], src.get("data")))
            elif t == "tool_use":
                assert role == "assistant", f"{bw}: tool_use in a {role} message"
                assert isinstance(b.get("id"), str) and ANTHROPIC_ID.match(b["id"]), f"{bw}: bad id: {b!r}"
                assert isinstance(b.get("input"), dict), f"{bw}: input must be an object: {b!r}"
                items.append(("call", b["id"], b.get("name"), b["input"]))
            elif t == "tool_result":
                assert role == "user", f"{bw}: tool_result in a {role} message"
                assert not results_done, f"{bw}: tool_result after text (results must come first)"
                tid = b.get("tool_use_id")
                assert tid in pending, f"{bw}: tool_use_id {tid!r} answers no tool_use of the previous message {pending}"
                pending.remove(tid)
                c = b.get("content", "")
                items.append(("result", tid, None, c if isinstance(c, str) else _text_parts(c, ("text",), bw)))
            else:
                raise AssertionError(f"{bw}: unexpected block type {t!r}")
        if role == "user":
            assert not pending, f"{where}: tool_use {pending} not answered in this message"
        pending = [it[1] for it in items if it[0] == "call"]
        # Split results out of the user message, in the conversation shape.
        res = [it for it in items if it[0] == "result"]
        rest = [it for it in items if it[0] != "result"]
        for r in res:
            conv.append(("tool", [r]))
        if rest:
            conv.append((role, rest))
    assert not pending, f"messages: the conversation ends with unanswered tool_use {pending}"
    tools = []
    for t in body.get("tools") or []:
        assert isinstance(t.get("input_schema"), dict) and t["input_schema"].get("type") == "object", f"messages tool: {t!r}"
        assert "function" not in t and "parameters" not in t, f"messages tool in another shape: {t!r}"
        tools.append(t.get("name"))
    return conv, tools


def _g(obj: dict, camel: str):
    """A Gemini field under its camelCase or snake_case name (proto JSON accepts both)."""
    snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)
    assert not (camel in obj and snake in obj), f"both {camel} and {snake} in {obj!r}"
    return obj.get(camel, obj.get(snake))


def read_gem(body: dict) -> tuple[list, list]:
    conv: list = []
    si = _g(body, "systemInstruction")
    if si is not None:
        parts = si.get("parts")
        assert isinstance(parts, list) and parts and all(isinstance(p.get("text"), str) for p in parts), si
        conv.append(("system", [("text", "".join(p["text"] for p in parts))]))
    contents = body.get("contents")
    assert isinstance(contents, list) and contents, f"gemini: no contents: {body}"
    assert contents[0].get("role", "user") == "user", f"gemini: the first content must be the user's: {contents[0]!r}"
    pending: list[tuple[str | None, str]] = []  # (id, name) of the previous model turn's calls
    for i, c in enumerate(contents):
        where = f"contents[{i}]"
        # A lone content may omit its role (it is the user's); a conversation must name them.
        role = c.get("role", "user" if len(contents) == 1 else None)
        assert role in ("user", "model"), f"{where}: role {role!r}"
        if i:
            assert role != contents[i - 1].get("role"), f"{where}: two {role} contents in a row (E17)"
        parts = c.get("parts")
        assert isinstance(parts, list) and parts, f"{where}: parts must be a non-empty list"
        items = []
        for j, p in enumerate(parts):
            pw = f"{where}.parts[{j}]"
            fc, fr = _g(p, "functionCall"), _g(p, "functionResponse")
            if fc is not None:
                assert role == "model", f"{pw}: functionCall in a {role} content"
                assert isinstance(fc.get("name"), str) and fc["name"], f"{pw}: {fc!r}"
                assert isinstance(fc.get("args", {}), dict), f"{pw}: args must be an object: {fc!r}"
                items.append(("call", fc.get("id"), fc["name"], fc.get("args", {})))
            elif fr is not None:
                assert role == "user", f"{pw}: functionResponse in a {role} content"
                assert isinstance(fr.get("name"), str) and fr["name"], f"{pw}: functionResponse needs the function name: {fr!r}"
                assert isinstance(fr.get("response"), dict), f"{pw}: response must be an object: {fr!r}"
                items.append(("result", fr.get("id"), fr["name"], json.dumps(fr["response"])))
            elif isinstance(p.get("text"), str):
                items.append(("text", p["text"]))
            elif _g(p, "inlineData") is not None:
                d = _g(p, "inlineData")
                assert role == "user", f"{pw}: inline data in a {role} content"
                items.append(("image", _g(d, "mimeType"), d.get("data")))
            else:
                raise AssertionError(f"{pw}: unexpected part {p!r}")
        results = [it for it in items if it[0] == "result"]
        if pending:
            assert role == "user" and len(results) == len(pending), (
                f"{where}: {len(pending)} function calls answered by {len(results)} functionResponse parts "
                f"in the next content (E17): {c!r}"
            )
            for k, ((cid, cname), r) in enumerate(zip(pending, results)):
                assert r[2] == cname, f"{where}: functionResponse #{k} names {r[2]!r}, the call was {cname!r}"
                if cid is not None:
                    assert r[1] == cid, f"{where}: functionResponse #{k} id {r[1]!r}, the call's id is {cid!r}"
        else:
            assert not results, f"{where}: functionResponse without a preceding functionCall"
        pending = [(it[1], it[2]) for it in items if it[0] == "call"]
        # Results keyed by position (ids are optional on this wire).
        pos = 0
        rest = []
        for it in items:
            if it[0] == "result":
                conv.append(("tool", [("result", ("pos", pos), it[2], it[3])]))
                pos += 1
            else:
                rest.append(it)
        if rest:
            conv.append(("assistant" if role == "model" else "user", rest))
    assert not pending, f"gemini: the conversation ends with unanswered calls {pending}"
    tools = []
    for t in body.get("tools") or []:
        decls = _g(t, "functionDeclarations")
        assert isinstance(decls, list) and decls, f"gemini tool: {t!r}"
        for d in decls:
            params = _g(d, "parametersJsonSchema") or d.get("parameters")
            assert isinstance(params, dict), f"gemini function declaration without parameters: {d!r}"
            assert "$schema" not in json.dumps(d.get("parameters") or {}), d
            tools.append(d.get("name"))
    return conv, tools


READERS = {"chat": read_chat, "resp": read_resp, "msg": read_msg, "gem": read_gem}

PATHS = {
    "chat": re.compile(r"^/v1/chat/completions$"),
    "resp": re.compile(r"^/v1/responses$"),
    "msg": re.compile(r"^/v1/messages$"),
}


def check_upstream_request(up: str, req: dict, model: str, stream: bool) -> dict:
    """The request is of protocol `up`, for `model`, streaming as asked; returns its body."""
    path = req["path"]
    if up == "gem":
        action = "streamGenerateContent" if stream else "generateContent"
        assert re.match(rf"^/(v1|v1beta)/models/{re.escape(model)}:{action}(\?|$)", path), path
        if stream:
            assert "alt=sse" in path.split("?", 1)[-1].split("&"), f"a streaming Gemini call must ask for SSE: {path}"
    else:
        assert PATHS[up].match(path.split("?", 1)[0]), f"upstream {up} called on {path}"
        assert req["body"].get("model") == model, f"upstream model {req['body'].get('model')!r}, expected {model!r}"
        assert bool(req["body"].get("stream")) == stream, f"stream flag {req['body'].get('stream')!r}, expected {stream}"
        if up == "chat" and stream:
            assert (req["body"].get("stream_options") or {}).get("include_usage") is True, (
                f"a streaming chat upstream must be asked for usage: {req['body']}"
            )
    if up == "msg":
        assert "anthropic-version" in req.get("headers", {}), "an Anthropic upstream needs anthropic-version"
    assert isinstance(req["body"], dict), f"upstream body is not a JSON object: {req['body']!r}"
    return req["body"]


def max_tokens_of(up: str, body: dict):
    if up == "chat":
        return body.get("max_completion_tokens", body.get("max_tokens"))
    if up == "resp":
        return body.get("max_output_tokens")
    if up == "msg":
        return body.get("max_tokens")
    gc = _g(body, "generationConfig") or {}
    return _g(gc, "maxOutputTokens")


def check_conversation(up: str, scenario: str, body: dict) -> None:
    conv, tools = READERS[up](body)
    where = f"upstream {up} conversation {conv}"
    users = [t for t in conv if t[0] == "user"]
    if scenario == "text":
        assert [r for r, _ in conv] == ["user"], where
        assert users[0][1] == [("text", "Say hello.")], where
        assert tools == [], f"tools sent although the caller declared none: {tools}"
        return
    assert tools == ["get_weather"], f"upstream tools {tools}"
    assert users and users[0][1] == [("text", QUESTION)], where
    if scenario in ("tool", "parallel"):
        assert [r for r, _ in conv] == ["user"], where
        return
    # Follow-up: system, the question, the assistant's calls, one result per call, in order.
    want = history_calls(scenario)
    systems = [t for t in conv if t[0] == "system"]
    assert systems == [("system", [("text", SYSTEM)])], f"system prompt lost or moved: {where}"
    turns = [t for t in conv if t[0] != "system"]
    roles = [r for r, _ in turns]
    assert roles == ["user", "assistant"] + ["tool"] * len(want), where
    calls = turns[1][1]
    assert [it[0] for it in calls] == ["call"] * len(want), f"assistant turn should hold only the calls: {calls}"
    assert [it[2] for it in calls] == ["get_weather"] * len(want), calls
    assert [it[3] for it in calls] == want, calls
    ids = [it[1] for it in calls]
    if up != "gem":
        assert all(ids) and len(set(ids)) == len(ids), f"call ids missing or shared: {ids}"
    results = [t[1][0] for t in turns[2:]]
    for k, r in enumerate(results):
        ref = r[1]
        if up == "gem":
            k_call = ref[1]
        else:
            assert ref in ids, f"result for unknown call {ref!r}: {ids}"
            k_call = ids.index(ref)
        loc = calls[k_call][3]["location"]
        assert MARKER[loc] in r[3], f"the result paired with the {loc} call is {r[3]!r} (expected the {loc} result)"
    assert sorted(ids.index(r[1]) if up != "gem" else r[1][1] for r in results) == list(range(len(want)))
    assert max_tokens_of(up, body) == MAX_TOKENS, f"max output tokens not carried: {body}"


# ============================================================================================
# The matrix


@pytest.mark.parametrize("caller,up,mode,scenario", cases())
def test_cross(clients, mock, caller, up, mode, scenario):
    us = upstream_scenario(scenario)
    model = f"{up}-{us}"
    usage = mock_usage(mock, up, us, mode != "ns")
    a = call(clients, caller, mode, model, scenario)
    check_answer(caller, up, scenario, a, usage)
    reqs = mock.requests()
    assert len(reqs) == 1, f"{len(reqs)} upstream requests: {[r.get('path') for r in reqs]}"
    support.assert_upstream_auth(up, reqs)
    body = check_upstream_request(up, reqs[0], support.upstream_model(up, us), mode != "ns")
    check_conversation(up, scenario, body)


# ============================================================================================
# Failover across protocols: the faulty first endpoint speaks one protocol, the good second
# another (neither the caller's). The SDK sees one clean answer.


@pytest.mark.parametrize(
    "caller,fault,mode", [pytest.param(c, f, m, id=f"{c}-{f}-{m}") for c, f, m in support.xfail_cases()]
)
def test_failover_across_protocols(clients, mock, caller, fault, mode):
    first, second = support.xfail_chain(caller)
    usage = mock_usage(mock, second, "text", mode != "ns")
    a = call(clients, caller, mode, support.xfail_model(caller, fault, mode), "text")
    check_answer(caller, second, "text", a, usage)
    reqs = mock.requests()
    got = [(r.get("path"), support.fault_of(r)) for r in reqs]
    assert len(reqs) == 2, f"expected the faulty attempt then one good one: {got}"
    assert support.fault_of(reqs[0]) == XFAULTS[fault], got
    assert support.fault_of(reqs[1]) is None, got
    check_upstream_request(first, reqs[0], support.upstream_model(first, "text"), mode != "ns")
    body = check_upstream_request(second, reqs[1], support.upstream_model(second, "text"), mode != "ns")
    check_conversation(second, "text", body)
    support.assert_upstream_auth(first, reqs[:1])
    support.assert_upstream_auth(second, reqs[1:])


# ============================================================================================
# Errors


@pytest.mark.parametrize(
    "caller,up,stream",
    [pytest.param(c, u, s, id=f"{c}-from-{u}-{'st' if s else 'ns'}") for c, u in pairs() for s in (False, True)],
)
def test_upstream_400_is_the_callers_bad_request(clients, mock, caller, up, stream):
    message = mock.upstream_error_message(up, "status=400")
    mock.reset()
    cp = XCALLERS[caller]
    model = support.xbad_model(caller, up)
    kw = REQUESTS[cp](model, "text")
    client = clients[caller]
    if cp in ("chat", "resp", "msg"):
        exc_type = anthropic.BadRequestError if cp == "msg" else openai.BadRequestError
        api = {"chat": lambda: client.chat.completions, "resp": lambda: client.responses, "msg": lambda: client.messages}[cp]()
        with pytest.raises(exc_type) as exc:
            if stream:
                list(api.create(**kw, stream=True))
            else:
                api.create(**kw)
        assert exc.value.status_code == 400
        support.assert_carries_message(exc.value, message)
        body = exc.value.body
        if cp == "msg":
            assert isinstance(body, dict) and body.get("type") == "error", f"not an Anthropic error body: {body!r}"
            assert body["error"].get("type") == "invalid_request_error", body
        else:
            # openai puts the `error` object of the body in .body
            assert isinstance(body, dict) and body.get("message"), f"not an OpenAI error body: {body!r}"
            assert body.get("type") == "invalid_request_error", body
    else:
        with pytest.raises(genai_errors.ClientError) as exc:
            if stream:
                list(client.models.generate_content_stream(**kw))
            else:
                client.models.generate_content(**kw)
        assert exc.value.code == 400, exc.value
        assert exc.value.status == "INVALID_ARGUMENT", exc.value.details
        assert message in (exc.value.message or ""), f"{message!r} not in {exc.value!r}"
    reqs = mock.requests()
    assert [support.fault_of(r) for r in reqs] == ["status=400"], "a 400 must not fail over"
    check_upstream_request(up, reqs[0], support.upstream_model(up, "text"), stream)


@pytest.mark.parametrize(
    "feature,value",
    [("previous_response_id", "resp_abc123"), ("conversation", "conv_abc123")],
)
@pytest.mark.parametrize("up", ["chat", "msg", "gem"])
@pytest.mark.parametrize("stream", [False, True], ids=["ns", "st"])
def test_responses_state_is_refused_for_other_upstreams(clients, mock, feature, value, up, stream):
    """Responses state (E40) cannot be carried to a stateless upstream: a 400 naming it."""
    client = clients["resp"]
    with pytest.raises(openai.BadRequestError) as exc:
        kw = {"model": f"{up}-text", "input": "Say hello.", feature: value}
        if stream:
            list(client.responses.create(**kw, stream=True))
        else:
            client.responses.create(**kw)
    assert exc.value.status_code == 400
    assert feature in str(exc.value), f"the error does not name {feature}: {exc.value!r}"
    assert mock.requests() == [], "nothing may reach the upstream"


@pytest.mark.parametrize("up", ["resp", "msg", "gem"])
def test_chat_stream_without_include_usage_has_no_usage_chunk(clients, mock, up):
    """E2: the `choices: []` usage chunk only when the caller asked for it."""
    chunks = list(clients["chat"].chat.completions.create(**chat_request(f"{up}-text", "text"), stream=True))
    assert chunks and all(ch.choices for ch in chunks), "usage chunk sent although the client did not ask for it"
    assert all(ch.usage is None for ch in chunks), [ch.usage for ch in chunks]
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks) == "Hello!"
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices[0].finish_reason] == ["stop"]


# ============================================================================================
# A stream cut after its first content event (after commit): the SDK must fail, never see a
# silently truncated answer (E5), whatever protocol the upstream spoke.


def stream_cases() -> list[Any]:
    return [
        pytest.param(c, u, m, id=f"{c}-from-{u}-{m}") for c, u in pairs() for m in XMODES[c] if m != "ns"
    ]


@pytest.mark.parametrize("caller,up,mode", stream_cases())
def test_cut_after_commit_fails_in_the_callers_protocol(clients, mock, caller, up, mode):
    cp = XCALLERS[caller]
    client = clients[caller]
    kw = REQUESTS[cp](support.xcut_model(caller, up, mode), "text")
    received: list[str] = []
    if cp == "chat":
        with pytest.raises(openai.APIError) as exc:
            if mode == "sh":
                with client.chat.completions.stream(**kw) as s:
                    for e in s:
                        if e.type == "content.delta":
                            received.append(e.delta)
                    s.get_final_completion()
            else:
                for ch in client.chat.completions.create(**kw, stream=True):
                    assert not (ch.choices and ch.choices[0].finish_reason), f"truncated stream finished: {ch}"
                    if ch.choices and ch.choices[0].delta.content:
                        received.append(ch.choices[0].delta.content)
        assert not isinstance(exc.value, openai.APIConnectionError), (
            f"the stream was cut instead of ending with an error chunk: {exc.value!r}"
        )
    elif cp == "resp":
        if mode == "sh":
            with pytest.raises((openai.APIError, RuntimeError)) as exc:
                with client.responses.stream(**kw) as s:
                    for e in s:
                        if e.type == "response.output_text.delta":
                            received.append(e.delta)
                    s.get_final_response()
            assert not isinstance(exc.value, openai.APIConnectionError), (
                f"the stream was cut instead of ending with an error event: {exc.value!r}"
            )
        else:
            events = list(client.responses.create(**kw, stream=True))
            types = [e.type for e in events]
            received = [e.delta for e in events if e.type == "response.output_text.delta"]
            assert "response.completed" not in types, f"truncated stream reported as completed: {types}"
            assert types[-1] in ("error", "response.failed"), f"no terminal error event: {types}"
    elif cp == "msg":
        with pytest.raises(anthropic.APIStatusError):
            if mode == "sh":
                with client.messages.stream(**kw) as s:
                    for text in s.text_stream:
                        received.append(text)
                    s.get_final_message()
            else:
                for e in client.messages.create(**kw, stream=True):
                    assert e.type != "message_stop", "truncated stream reported as complete"
                    if e.type == "content_block_delta" and e.delta.type == "text_delta":
                        received.append(e.delta.text)
    else:
        with pytest.raises(genai_errors.APIError):
            for ch in client.models.generate_content_stream(**kw):
                t, _, finishes = gem_parts(ch)
                assert not finishes, f"truncated stream finished: {ch}"
                if t:
                    received.append(t)
    assert "".join(received) == "Hel", f"expected exactly the content before the cut, got {received!r}"
    assert len(mock.requests()) == 1, "a committed stream must not be retried"


# ============================================================================================
# Upstream status codes keep their meaning in the caller's protocol.


@pytest.mark.parametrize(
    "caller,up,stream",
    [pytest.param(c, u, s, id=f"{c}-from-{u}-{'st' if s else 'ns'}") for c, u in pairs() for s in (False, True)],
)
def test_upstream_429_is_the_callers_rate_limit_error(clients, mock, caller, up, stream):
    cp = XCALLERS[caller]
    client = clients[caller]
    kw = REQUESTS[cp](support.x429_model(caller, up), "text")
    if cp == "gem":
        with pytest.raises(genai_errors.ClientError) as exc:
            if stream:
                list(client.models.generate_content_stream(**kw))
            else:
                client.models.generate_content(**kw)
        assert exc.value.code == 429, exc.value
        assert exc.value.status == "RESOURCE_EXHAUSTED", exc.value.details
    else:
        exc_type = anthropic.RateLimitError if cp == "msg" else openai.RateLimitError
        api = {"chat": lambda: client.chat.completions, "resp": lambda: client.responses, "msg": lambda: client.messages}[cp]()
        with pytest.raises(exc_type) as exc:
            if stream:
                list(api.create(**kw, stream=True))
            else:
                api.create(**kw)
        assert exc.value.status_code == 429
        if cp == "msg":
            body = exc.value.body
            assert isinstance(body, dict) and body.get("error", {}).get("type") == "rate_limit_error", body
    assert mock.requests(), "the upstream saw no request"


# ============================================================================================
# Features another protocol cannot express: a 400 in the caller's protocol naming the feature,
# and nothing sent upstream.

UNEXPRESSIBLE = {
    "chat": {"n": ({"n": 2}, "`n`"), "logprobs": ({"logprobs": True}, "logprobs")},
    "gem": {
        "candidate_count": ({"candidate_count": 2}, "candidateCount"),
        "cached_content": ({"cached_content": "cachedContents/abc123"}, "cachedContent"),
    },
}

# Upstreams a feature is tested against, where not every other protocol.
UNEXPRESSIBLE_UPSTREAMS: dict[str, tuple[str, ...]] = {}


def unexpressible_cases() -> list[Any]:
    out = []
    for caller, cp in XCALLERS.items():
        for feature in UNEXPRESSIBLE.get(cp, {}):
            for u in UNEXPRESSIBLE_UPSTREAMS.get(feature, PROTOCOLS):
                if u != cp:
                    out.append(pytest.param(caller, feature, u, id=f"{caller}-{feature}-to-{u}"))
    return out


@pytest.mark.parametrize("caller,feature,up", unexpressible_cases())
def test_unexpressible_feature_is_a_400_naming_it(clients, mock, caller, feature, up):
    cp = XCALLERS[caller]
    extra, name = UNEXPRESSIBLE[cp][feature]
    kw = REQUESTS[cp](f"{up}-text", "text")
    client = clients[caller]
    if cp == "gem":
        kw["config"] = gt.GenerateContentConfig(**extra)
        with pytest.raises(genai_errors.ClientError) as exc:
            client.models.generate_content(**kw)
        assert exc.value.code == 400, exc.value
        text = exc.value.message or ""
    else:
        kw.update(extra)
        exc_type = anthropic.BadRequestError if cp == "msg" else openai.BadRequestError
        api = client.messages if cp == "msg" else client.chat.completions
        with pytest.raises(exc_type) as exc:
            api.create(**kw)
        assert exc.value.status_code == 400
        text = str(exc.value)
    names = name if isinstance(name, tuple) else (name,)
    assert any(n in text for n in names), f"the 400 does not name {names}: {text!r}"
    assert mock.requests() == [], "nothing may reach the upstream"


# ============================================================================================
# Features the target cannot express but the answer does not need (docs/translation-cases.md,
# "Dropped fields"): with the default `server.translation: lenient` they are left out, named
# in `x-bitrouter-dropped`, and the answer is the upstream's. (`strict` turns each into the
# 400 above: dataplane/tests/it/translate.rs.)

DROPPED = {
    "msg": {
        "server_tool": (
            {"tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 1}]},
            "web_search_20250305",
            ("web_search",),
        ),
    },
    "gem": {
        # Chat and Responses have no top-k (protocols.md, Parameters); Messages does.
        "top_k": ({"top_k": 5}, "top_k", ("top_k", "topK")),
    },
}

DROPPED_UPSTREAMS = {"top_k": ("chat", "resp")}


def dropped_cases() -> list[Any]:
    out = []
    for caller, cp in XCALLERS.items():
        for feature in DROPPED.get(cp, {}):
            for u in DROPPED_UPSTREAMS.get(feature, PROTOCOLS):
                if u != cp:
                    out.append(pytest.param(caller, feature, u, id=f"{caller}-{feature}-to-{u}"))
    return out


@pytest.mark.parametrize("caller,feature,up", dropped_cases())
def test_droppable_feature_is_dropped_and_named(clients, mock, caller, feature, up):
    cp = XCALLERS[caller]
    extra, name, needles = DROPPED[cp][feature]
    kw = REQUESTS[cp](f"{up}-text", "text")
    client = clients[caller]
    if cp == "gem":
        kw["config"] = gt.GenerateContentConfig(**extra)
        r = client.models.generate_content(**kw)
        assert r.text == "Hello!"
        headers = r.sdk_http_response.headers or {}
    else:
        kw.update(extra)
        api = client.messages if cp == "msg" else client.chat.completions
        raw = api.with_raw_response.create(**kw)
        raw.parse()
        headers = raw.headers
    assert name in (headers.get("x-bitrouter-dropped") or ""), f"no `{name}` in {dict(headers)}"
    reqs = mock.requests()
    assert len(reqs) == 1, reqs
    sent = json.dumps(reqs[0]["body"])
    for needle in needles:
        assert needle not in sent, f"`{needle}` reached the upstream: {sent}"


# ============================================================================================
# A longer conversation in each caller's richest shape: a developer/system prompt, an image,
# assistant text before its two calls, results (one as content parts), user text after the
# results in the same turn where the caller's wire allows it, a second assistant answer and a
# last question; plus tool_choice "required" and a temperature. The upstream must receive the
# same conversation, well-formed for its own wire (alternation, grouping, result placement).

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
Q_MAP = "Here is a map. What is the weather in Paris and London?"
A_PRE = "Checking both cities."
Q_WEAR = "Also, what should I wear?"
A_ANSWER = "Paris is cloudy, London is rainy."
Q_LAST = "Thanks! And tomorrow?"


def rich_request(cp: str, model: str) -> dict:
    res = [json.dumps(RESULTS["Paris"]), json.dumps(RESULTS["London"])]
    if cp == "chat":
        ids = ["call_r0", "call_r1"]
        return {
            "model": model,
            "tools": chat_tools(),
            "tool_choice": "required",
            "temperature": 0.5,
            "messages": [
                {"role": "developer", "content": SYSTEM},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": Q_MAP},
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": A_PRE,
                    "tool_calls": [
                        {"id": i, "type": "function", "function": {"name": "get_weather", "arguments": json.dumps(a)}}
                        for i, a in zip(ids, (PARIS, LONDON))
                    ],
                },
                {"role": "tool", "tool_call_id": ids[0], "content": [{"type": "text", "text": res[0]}]},
                {"role": "tool", "tool_call_id": ids[1], "content": res[1]},
                {"role": "user", "content": Q_WEAR},
                {"role": "assistant", "content": A_ANSWER},
                {"role": "user", "content": Q_LAST},
            ],
        }
    if cp == "resp":
        ids = ["call_r0", "call_r1"]
        return {
            "model": model,
            "tools": resp_tools(),
            "tool_choice": "required",
            "temperature": 0.5,
            "instructions": SYSTEM,
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": Q_MAP},
                        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "auto"},
                    ],
                },
                {"role": "assistant", "content": A_PRE},
                *[
                    {"type": "function_call", "call_id": i, "name": "get_weather", "arguments": json.dumps(a)}
                    for i, a in zip(ids, (PARIS, LONDON))
                ],
                {"type": "function_call_output", "call_id": ids[0], "output": res[0]},
                {"type": "function_call_output", "call_id": ids[1], "output": res[1]},
                {"role": "user", "content": Q_WEAR},
                {"role": "assistant", "content": A_ANSWER},
                {"role": "user", "content": Q_LAST},
            ],
        }
    if cp == "msg":
        ids = ["toolu_r0", "toolu_r1"]
        return {
            "model": model,
            "max_tokens": MAX_TOKENS,
            "tools": msg_tools(),
            "tool_choice": {"type": "any"},
            # anthropic 2.x has no `temperature` parameter any more: none sent from this caller.
            "system": [{"type": "text", "text": SYSTEM}],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": Q_MAP},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": A_PRE},
                        *[
                            {"type": "tool_use", "id": i, "name": "get_weather", "input": a}
                            for i, a in zip(ids, (PARIS, LONDON))
                        ],
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": ids[0], "content": [{"type": "text", "text": res[0]}]},
                        {"type": "tool_result", "tool_use_id": ids[1], "content": res[1]},
                        {"type": "text", "text": Q_WEAR},
                    ],
                },
                {"role": "assistant", "content": A_ANSWER},
                {"role": "user", "content": Q_LAST},
            ],
        }
    cfg = gem_config("followup")
    cfg.temperature = 0.5
    cfg.tool_config = gt.ToolConfig(function_calling_config=gt.FunctionCallingConfig(mode=gt.FunctionCallingConfigMode.ANY))
    return {
        "model": model,
        "config": cfg,
        "contents": [
            gt.Content(
                role="user",
                parts=[gt.Part(text=Q_MAP), gt.Part(inline_data=gt.Blob(mime_type="image/png", data=base64.b64decode(PNG)))],
            ),
            gt.Content(
                role="model",
                parts=[
                    gt.Part(text=A_PRE),
                    *[gt.Part(function_call=gt.FunctionCall(name="get_weather", args=a)) for a in (PARIS, LONDON)],
                ],
            ),
            gt.Content(
                role="user",
                parts=[
                    *[
                        gt.Part(function_response=gt.FunctionResponse(name="get_weather", response=RESULTS[a["location"]]))
                        for a in (PARIS, LONDON)
                    ],
                    gt.Part(text=Q_WEAR),
                ],
            ),
            gt.Content(role="model", parts=[gt.Part(text=A_ANSWER)]),
            gt.Content(role="user", parts=[gt.Part(text=Q_LAST)]),
        ],
    }


def tool_choice_of(up: str, body: dict):
    if up == "gem":
        tc = _g(body, "toolConfig") or {}
        return (_g(tc, "functionCallingConfig") or {}).get("mode")
    tc = body.get("tool_choice")
    return tc.get("type") if up == "msg" and isinstance(tc, dict) else tc


def temperature_of(up: str, body: dict):
    if up == "gem":
        return (_g(body, "generationConfig") or {}).get("temperature")
    return body.get("temperature")


@pytest.mark.parametrize(
    "caller,up,stream",
    [pytest.param(c, u, s, id=f"{c}-to-{u}-{'st' if s else 'ns'}") for c, u in pairs() for s in (False, True)],
)
def test_rich_conversation_reaches_the_upstream_intact(clients, mock, caller, up, stream):
    cp = XCALLERS[caller]
    mode = "st" if stream else "ns"
    usage = mock_usage(mock, up, "text", stream)
    kw = rich_request(cp, f"{up}-text")
    client = clients[caller]
    a = {"chat": chat_call, "resp": resp_call, "msg": msg_call, "gem": gem_call}[cp](client, mode, kw)
    check_answer(caller, up, "text", a, usage)
    reqs = mock.requests()
    assert len(reqs) == 1, [r.get("path") for r in reqs]
    body = check_upstream_request(up, reqs[0], support.upstream_model(up, "text"), stream)
    conv, tools = READERS[up](body)
    assert tools == ["get_weather"], tools
    def item(it):
        if it[0] == "call":
            return it[:1] + it[2:]
        if it[0] == "image":
            return ("image", it[1], image_bytes(up, it[2]))
        return it

    shape = [(role, [item(it) for it in items if it[0] != "result"]) for role, items in conv]
    want = [
        ("system", [("text", SYSTEM)]),
        ("user", [("text", Q_MAP), ("image", "image/png", base64.b64decode(PNG))]),
        ("assistant", [("text", A_PRE), ("call", "get_weather", PARIS), ("call", "get_weather", LONDON)]),
        ("tool", []),
        ("tool", []),
        ("user", [("text", Q_WEAR)]),
        ("assistant", [("text", A_ANSWER)]),
        ("user", [("text", Q_LAST)]),
    ]
    assert shape == want, f"upstream conversation differs:\n got {shape}\nwant {want}\nbody {json.dumps(body)[:3000]}"
    calls = conv[2][1][1:]
    results = [conv[3][1][0], conv[4][1][0]]
    ids = [c[1] for c in calls]
    for k, r in enumerate(results):
        j = r[1][1] if up == "gem" else ids.index(r[1])
        loc = calls[j][3]["location"]
        assert MARKER[loc] in r[3], f"the result paired with the {loc} call is {r[3]!r}"
    want_choice = {"chat": "required", "resp": "required", "msg": "any", "gem": "ANY"}[up]
    assert tool_choice_of(up, body) == want_choice, f"tool_choice not carried: {body}"
    if cp != "msg":
        assert temperature_of(up, body) == 0.5, f"temperature not carried: {body}"


def image_bytes(up: str, data: str) -> bytes | str:
    """Image data as bytes. Gemini's proto JSON accepts both base64 alphabets; the other wires
    (data URLs, Anthropic `source.data`) only the standard one."""
    try:
        if up == "gem":
            return base64.urlsafe_b64decode(data.replace("+", "-").replace("/", "_"))
        return base64.b64decode(data, validate=True)
    except (ValueError, TypeError) as e:
        return f"<not valid {'base64' if up == 'gem' else 'standard base64'}: {data!r} ({e})>"


# ============================================================================================
# Keep-alives (E31): a committed stream the upstream leaves silent gets the caller protocol's
# keep-alive (`: ping` for OpenAI, `event: ping` for Anthropic, none for Gemini); the SDKs'
# stream helpers must ignore them and still build the whole answer.


@pytest.mark.parametrize(
    "caller,up",
    [("chat", "msg"), ("resp", "gem"), ("msg", "chat"), ("gemv1beta", "resp")],
    ids=lambda v: v,
)
def test_keepalives_during_silence_are_invisible_to_the_sdk(clients, mock, caller, up):
    cp = XCALLERS[caller]
    client = clients[caller]
    kw = REQUESTS[cp](support.xping_model(up), "text")
    if cp == "chat":
        with client.chat.completions.stream(**kw) as s:
            final = s.get_final_completion()
        assert final.choices[0].message.content == "Hello!"
    elif cp == "resp":
        with client.responses.stream(**kw) as s:
            final = s.get_final_response()
        assert final.output_text == "Hello!"
    elif cp == "msg":
        with client.messages.stream(**kw) as s:
            final = s.get_final_message()
        assert "".join(b.text for b in final.content if b.type == "text") == "Hello!"
    else:
        text = "".join(ch.text or "" for ch in client.models.generate_content_stream(**kw))
        assert text == "Hello!"


def test_keepalive_is_on_the_wire_as_an_sse_comment(clients, mock):
    """The same silence, read raw: the router did send a keep-alive (so the test above is
    about a stream that really carried one)."""
    kw = REQUESTS["chat"](support.xping_model("msg"), "text")
    with clients["chat"].chat.completions.with_streaming_response.create(**kw, stream=True) as r:
        lines = list(r.iter_lines())
    assert ": ping" in lines, lines
    assert [ln for ln in lines if ln][-1] == "data: [DONE]", lines
