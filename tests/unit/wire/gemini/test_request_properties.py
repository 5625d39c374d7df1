"""Properties of the request translation: any body translates or is refused as invalid, and a
conversation keeps its meaning."""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.gemini_wire import (
    chat_request,
    http_image_urls,
)
from tests.unit.wire.gemini.strategies import args_value, body_like, params_like, text


@st.composite
def conversations(draw: st.DrawFn) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": t} for t in draw(st.lists(text, max_size=2))
    ]
    call_number = 0
    for _ in range(draw(st.integers(1, 4))):
        parts: list[dict[str, Any]] = []
        for kind in draw(st.lists(st.sampled_from(["text", "image"]), min_size=1, max_size=3)):
            if kind == "text":
                parts.append({"type": "text", "text": draw(text)})
            else:
                data = base64.b64encode(draw(st.binary(min_size=1, max_size=8))).decode()
                mime = draw(st.sampled_from(["image/png", "image/jpeg", "image/webp"]))
                parts.append(
                    {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}
                )
        plain = len(parts) == 1 and parts[0]["type"] == "text" and draw(st.booleans())
        messages.append({"role": "user", "content": parts[0]["text"] if plain else parts})
        if not draw(st.booleans()):
            continue
        assistant: dict[str, Any] = {"role": "assistant", "content": draw(st.none() | text)}
        calls = []
        for _ in range(draw(st.integers(0, 3))):
            call_number += 1
            calls.append(
                {
                    "id": f"call_{call_number}",
                    "type": "function",
                    "function": {
                        "name": draw(st.from_regex(r"[a-z_]{1,8}", fullmatch=True)),
                        "arguments": json.dumps(draw(args_value)),
                    },
                }
            )
        if calls:
            assistant["tool_calls"] = calls
        elif assistant["content"] is None:
            assistant["content"] = draw(text)
        messages.append(assistant)
        for call in draw(st.permutations(calls)):
            result = draw(st.one_of(text, args_value.map(json.dumps)))
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
    return messages


# (a) any body: a Gemini request, or InvalidRequest, nothing else.


@given(
    body_like
    | st.builds(
        lambda messages, params: {"messages": messages, **params}, conversations(), params_like
    )
)
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_any_body_translates_or_is_refused_as_invalid(body: dict[str, Any]) -> None:
    fetched = {url: ("image/png", "AAAA") for url in http_image_urls(body)}
    try:
        out = chat_request(body, fetched_images=fetched, model="gemini-2.5-flash")
    except InvalidRequest as error:
        refused: InvalidRequest | None = error
    else:
        refused = None
    if refused is not None:  # anything else than InvalidRequest fails the test
        assert refused.message
        return
    json.dumps(out)  # the request is JSON
    assert out["contents"]
    assert all(turn["parts"] for turn in out["contents"])
    config = out.get("generationConfig", {})
    thinking = config.get("thinkingConfig")
    if thinking is not None and thinking["thinkingBudget"] and "maxOutputTokens" in config:
        # thinking leaves half of the output limit to the answer (128 at the least)
        assert thinking["thinkingBudget"] <= max(config["maxOutputTokens"] // 2, 128)


# (b) a generated conversation → chat_request → read back: the same meaning.


def expected_meaning(messages: list[dict[str, Any]]) -> tuple[str, list[tuple[Any, ...]]]:
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    names: dict[str, str] = {}
    events: list[tuple[Any, ...]] = []
    for m in messages:
        if m["role"] == "user":
            content = m["content"]
            parts: list[dict[str, Any]] = (
                [{"type": "text", "text": content}] if isinstance(content, str) else content
            )
            for part in parts:
                if part["type"] == "text":
                    events.append(("user", "text", part["text"]))
                else:
                    head, data = part["image_url"]["url"].split(",", 1)
                    events.append(("user", "image", head[5:].split(";")[0], data))
        elif m["role"] == "assistant":
            if m["content"]:
                events.append(("model", "text", m["content"]))
            for call in m.get("tool_calls", []):
                names[call["id"]] = call["function"]["name"]
                events.append(
                    (
                        "model",
                        "call",
                        call["function"]["name"],
                        json.loads(call["function"]["arguments"]),
                    )
                )
        elif m["role"] == "tool":
            try:
                parsed = json.loads(m["content"])
            except ValueError:
                parsed = None
            response = parsed if isinstance(parsed, dict) else {"content": m["content"]}
            events.append(("user", "result", names[m["tool_call_id"]], response))
    return system, events


def read_back(out: dict[str, Any]) -> tuple[str, list[tuple[Any, ...]]]:
    """The inverse of chat_request, for what a conversation means."""
    system = "".join(part["text"] for part in out.get("systemInstruction", {}).get("parts", []))
    events: list[tuple[Any, ...]] = []
    roles = [turn["role"] for turn in out["contents"]]
    assert all(a != b for a, b in itertools.pairwise(roles)), "same-role turns are merged"
    for turn in out["contents"]:
        for part in turn["parts"]:
            if "text" in part:
                events.append((turn["role"], "text", part["text"]))
            elif "inlineData" in part:
                events.append(
                    (
                        turn["role"],
                        "image",
                        part["inlineData"]["mimeType"],
                        part["inlineData"]["data"],
                    )
                )
            elif "functionCall" in part:
                events.append(
                    (
                        turn["role"],
                        "call",
                        part["functionCall"]["name"],
                        part["functionCall"]["args"],
                    )
                )
            else:
                response = part["functionResponse"]
                events.append((turn["role"], "result", response["name"], response["response"]))
    return system, events


@given(conversations())
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_a_conversation_keeps_its_meaning(messages: list[dict[str, Any]]) -> None:
    out = chat_request({"model": "m", "messages": messages}, fetched_images={})
    assert read_back(out) == expected_meaning(messages)
