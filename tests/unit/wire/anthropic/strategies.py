"""Hypothesis strategies for the Anthropic wire properties: OpenAI chat bodies and conversations,
and Messages API answers and stream events, well formed or not."""

from __future__ import annotations

import base64
import json
import string
from typing import Any

from hypothesis import strategies as st

from tests.unit.wire.anthropic.support import call, user

# --- properties --------------------------------------------------------------------------------

JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)


def either(*strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly one of the given (plausible) strategies, sometimes any JSON at all."""
    plausible = st.one_of(*strategies)
    return st.integers(0, 5).flatmap(lambda pick: JSON if pick == 0 else plausible)


SOME_TEXT = st.text(min_size=1, max_size=8)
URLS = ["https://x.test/a.png", "data:image/png;base64,AA", "data:,", "data:", "ftp://x"]
PART = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": either(SOME_TEXT)}),
    st.fixed_dictionaries({"type": st.just("text"), "text": either(SOME_TEXT)}),
    st.fixed_dictionaries(
        {
            "type": st.just("image_url"),
            "image_url": either(st.fixed_dictionaries({"url": either(st.sampled_from(URLS))})),
        }
    ),
    st.fixed_dictionaries(
        {"type": either(st.sampled_from(["refusal", "input_audio", "file"]))},
        optional={"text": JSON, "refusal": JSON},
    ),
)
CONTENT = either(SOME_TEXT, st.lists(PART, min_size=1, max_size=3))
TOOL_CALL = st.fixed_dictionaries(
    {
        "id": either(SOME_TEXT),
        "type": either(st.just("function")),
        "function": either(
            st.fixed_dictionaries(
                {"name": either(SOME_TEXT)},
                optional={"arguments": either(st.sampled_from(["{}", '{"a":1}', "", "[", "1"]))},
            )
        ),
    }
)
MESSAGE_STRATEGY = st.fixed_dictionaries(
    {
        "role": either(st.sampled_from(["system", "developer", "user", "assistant", "tool"])),
        "content": CONTENT,
        "tool_call_id": either(SOME_TEXT),
    },
    optional={
        "tool_calls": either(st.lists(TOOL_CALL, max_size=2)),
        "thinking_blocks": either(
            st.lists(
                st.fixed_dictionaries(
                    {"type": either(st.sampled_from(["thinking", "redacted_thinking"]))},
                    optional={
                        "thinking": either(st.text(max_size=5)),
                        "signature": either(st.text(max_size=5)),
                        "data": either(st.text(max_size=5)),
                    },
                ),
                max_size=2,
            )
        ),
    },
)
TOOL = st.fixed_dictionaries(
    {"type": either(st.just("function"))},
    optional={
        "function": either(
            st.fixed_dictionaries(
                {"name": either(st.text(max_size=5))},
                optional={"description": JSON, "parameters": JSON},
            )
        )
    },
)
BODY = st.fixed_dictionaries(
    {
        "messages": either(
            st.tuples(CONTENT, st.lists(MESSAGE_STRATEGY, max_size=4)).map(
                lambda first_and_rest: [user(first_and_rest[0]), *first_and_rest[1]]
            )
        ),
    },
    optional={
        "max_tokens": either(st.integers(-2, 10**6)),
        "max_completion_tokens": either(st.integers(1, 10**6)),
        "temperature": either(st.floats(0, 2)),
        "top_p": either(st.floats(0, 1)),
        "stop": either(st.lists(st.text(max_size=4), max_size=3)),
        "user": either(st.text(max_size=8)),
        "n": either(st.just(1)),
        "response_format": either(st.just({"type": "text"})),
        "tools": either(st.lists(TOOL, max_size=2)),
        "tool_choice": either(st.sampled_from(["auto", "none", "required"])),
        "parallel_tool_calls": either(st.booleans()),
        "seed": JSON,
        "reasoning_effort": either(
            st.sampled_from(["none", "minimal", "low", "medium", "high", "xhigh", "max"])
        ),
    },
)


# (b) round trip: OpenAI conversation → Anthropic request → (inverse, below) → same meaning.

IDENT = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=10)
TEXT = st.text(min_size=1, max_size=20)
ARG_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
ARGS_STRATEGY = st.dictionaries(st.text(max_size=6), ARG_VALUES, max_size=4)


def text_content(draw: st.DrawFn) -> Any:
    if draw(st.booleans()):
        return draw(TEXT)
    return [{"type": "text", "text": text} for text in draw(st.lists(TEXT, min_size=1, max_size=3))]


def image_part(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        url = f"https://img.test/{draw(IDENT)}.png"
    else:
        media = draw(st.sampled_from(["image/jpeg", "image/png", "image/gif", "image/webp"]))
        url = f"data:{media};base64,{base64.b64encode(draw(st.binary(max_size=12))).decode()}"
    return {"type": "image_url", "image_url": {"url": url, "detail": "auto"}}


@st.composite
def conversations(draw: st.DrawFn) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    call_ids = iter(range(10**6))

    def maybe_system() -> None:
        if draw(st.integers(0, 3)) == 0:
            role = draw(st.sampled_from(["system", "developer"]))
            messages.append({"role": role, "content": text_content(draw)})

    for _ in range(draw(st.integers(1, 4))):
        maybe_system()
        for _ in range(draw(st.integers(1, 2))):  # sometimes two user messages in a row
            if draw(st.booleans()):
                messages.append(user(text_content(draw)))
            else:
                parts = draw(
                    st.lists(
                        st.one_of(TEXT.map(lambda t: {"type": "text", "text": t}), st.builds(dict)),
                        min_size=1,
                        max_size=4,
                    )
                )
                messages.append(user([part or image_part(draw) for part in parts]))
        maybe_system()
        if not draw(st.booleans()):
            continue
        calls = [
            call(
                f"call_{draw(IDENT)}_{next(call_ids)}",
                draw(IDENT),
                json.dumps(draw(ARGS_STRATEGY)),
            )
            for _ in range(draw(st.integers(0, 3)))
        ]
        empty = bool(calls) and draw(st.booleans())  # content null or "" beside tool calls
        content: Any = draw(st.sampled_from([None, ""])) if empty else text_content(draw)
        assistant: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            assistant["tool_calls"] = calls
        messages.append(assistant)
        for tool_call in calls:
            content = draw(st.text(max_size=20)) if draw(st.booleans()) else text_content(draw)
            messages.append({"role": "tool", "tool_call_id": tool_call["id"], "content": content})
    return {"model": "gpt-4o", "messages": messages}


def texts_of(content: Any) -> list[str]:
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    return [part["text"] for part in content if part["type"] == "text"]


def meaning(body: dict[str, Any]) -> tuple[str, list[tuple[Any, ...]]]:
    """What a conversation says, whatever the message boundaries."""
    system: list[str] = []
    items: list[tuple[Any, ...]] = []
    for message in body["messages"]:
        role, content = message["role"], message.get("content")
        if role in ("system", "developer"):
            system.extend(text for text in texts_of(content) if text)
        elif role == "user":
            parts: list[dict[str, Any]] = (
                [{"type": "text", "text": content}] if isinstance(content, str) else content
            )
            for part in parts:
                if part["type"] == "text" and part["text"]:
                    items.append(("user", "text", part["text"]))
                elif part["type"] == "image_url":
                    items.append(("user", "image", part["image_url"]["url"]))
        elif role == "assistant":
            items.extend(("assistant", "text", text) for text in texts_of(content) if text)
            for tool_call in message.get("tool_calls") or ():
                function = tool_call["function"]
                arguments = json.loads(function["arguments"] or "{}")
                items.append(("assistant", "call", tool_call["id"], function["name"], arguments))
        elif role == "tool":
            items.append(("tool", message["tool_call_id"], "".join(texts_of(content))))
    return "\n\n".join(system), items


def to_openai(request: dict[str, Any]) -> dict[str, Any]:
    """The inverse translation, for the test only: one OpenAI message per Anthropic block."""
    messages: list[dict[str, Any]] = []
    if "system" in request:
        messages.append({"role": "system", "content": request["system"]})
    for turn in request["messages"]:
        for block in turn["content"]:
            if block["type"] == "text":
                messages.append({"role": turn["role"], "content": block["text"]})
            elif block["type"] == "image":
                source = block["source"]
                url = (
                    source["url"]
                    if source["type"] == "url"
                    else f"data:{source['media_type']};base64,{source['data']}"
                )
                messages.append(user([{"type": "image_url", "image_url": {"url": url}}]))
            elif block["type"] == "tool_use":
                tool_call = call(block["id"], block["name"], json.dumps(block["input"]))
                messages.append({"role": "assistant", "content": None, "tool_calls": [tool_call]})
            else:
                assert block["type"] == "tool_result"
                content = block.get("content", "")
                messages.append(
                    {"role": "tool", "tool_call_id": block["tool_use_id"], "content": content}
                )
    return {"messages": messages}


# (c) any sequence of events: chunks, or an UpstreamError, nothing else.

USAGE = st.dictionaries(
    st.sampled_from(
        ["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"]
    ),
    either(st.integers(0, 10**6)),
)
BLOCK = st.fixed_dictionaries(
    {
        "type": either(
            st.sampled_from(
                ["text", "tool_use", "thinking", "redacted_thinking", "server_tool_use"]
            )
        )
    },
    optional={
        "text": JSON,
        "id": either(IDENT),
        "name": either(IDENT),
        "input": JSON,
        "thinking": either(st.text(max_size=6)),
        "signature": either(st.text(max_size=6)),
        "data": either(st.text(max_size=6)),
    },
)
DELTA = st.fixed_dictionaries(
    {
        "type": either(
            st.sampled_from(["text_delta", "input_json_delta", "thinking_delta", "signature_delta"])
        )
    },
    optional={
        "text": either(st.text(max_size=6)),
        "partial_json": either(st.text(max_size=6)),
        "thinking": either(st.text(max_size=6)),
        "signature": either(st.text(max_size=6)),
        "stop_reason": either(st.sampled_from(["end_turn", "tool_use", "max_tokens", "refusal"])),
    },
)
EVENT_DATA = st.fixed_dictionaries(
    {},
    optional={
        "type": JSON,
        "index": either(st.integers(-1, 4)),
        "content_block": either(BLOCK),
        "delta": either(DELTA),
        "usage": either(USAGE),
        "message": either(st.fixed_dictionaries({}, optional={"usage": either(USAGE)})),
        "error": either(
            st.fixed_dictionaries(
                {},
                optional={
                    "type": either(st.sampled_from(["overloaded_error", "rate_limit_error"])),
                    "message": JSON,
                },
            )
        ),
    },
) | st.dictionaries(st.text(max_size=8), JSON, max_size=4)
EVENT_NAMES = st.sampled_from(
    [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
        "",
        "surprise",
    ]
)
