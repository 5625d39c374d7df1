"""Hypothesis strategies for the Responses front door: bodies near the valid ones, conversations
and their meaning."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

from interfaces.http.responses.reasoning_items import ENCRYPTED_PREFIX, encrypted_content
from tests.unit.front.responses.support import PNG_URL, WEATHER

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
part_types = st.sampled_from(
    ["input_text", "input_image", "input_file", "input_audio", "output_text", "refusal", "video"]
)
near_parts = st.fixed_dictionaries(
    {"type": part_types},
    optional={
        "text": json_values,
        "refusal": json_values,
        "image_url": st.sampled_from([PNG_URL, "https://x/y.png", "ftp://x"]) | json_values,
        "file_id": json_values,
        "file_data": json_values,
        "file_url": json_values,
        "filename": json_values,
        "detail": st.sampled_from(["auto", "low", "high"]) | json_values,
        "input_audio": json_values,
    },
)
item_types = st.sampled_from(
    [
        "message",
        "function_call",
        "function_call_output",
        "reasoning",
        "item_reference",
        "web_search_call",
    ]
)
# a reasoning item's encrypted content: the gateway's (well made, or broken), or another's
near_encrypted = (
    st.builds(
        encrypted_content,
        st.lists(
            st.fixed_dictionaries(
                {"type": st.just("thinking"), "thinking": st.text(max_size=5)},
                optional={"signature": st.text(min_size=1, max_size=5)},
            ),
            max_size=2,
        ),
    )
    | st.text(max_size=12).map(lambda junk: ENCRYPTED_PREFIX + junk)
    | st.text(max_size=8)
    | json_values
)
near_items = st.fixed_dictionaries(
    {},
    optional={
        "encrypted_content": near_encrypted,
        "type": item_types | json_values,
        "id": st.sampled_from(["msg_1", "fc_1"]) | json_values,
        "role": st.sampled_from(["user", "assistant", "system", "developer"]) | json_values,
        "content": st.text(max_size=5) | st.lists(near_parts, max_size=3) | json_values,
        "call_id": st.just("call_1") | json_values,
        "name": st.just("weather") | json_values,
        "arguments": st.just("{}") | json_values,
        "output": st.text(max_size=5) | st.lists(near_parts, max_size=2) | json_values,
    },
)
near_tools = st.fixed_dictionaries(
    {"type": st.sampled_from(["function", "web_search", "custom"]) | json_values},
    optional={
        "name": json_values | st.just("weather"),
        "parameters": json_values,
        "strict": json_values,
    },
)
near_bodies = st.fixed_dictionaries(
    {"model": st.just("m")},
    optional={
        "input": st.text(max_size=5) | st.lists(near_items, max_size=4) | json_values,
        "instructions": json_values,
        "tools": st.lists(near_tools, max_size=2) | json_values,
        "tool_choice": st.sampled_from(["auto", "none", "required"])
        | st.fixed_dictionaries(
            {"type": st.sampled_from(["function", "allowed_tools", "web_search"]) | json_values},
            optional={"name": json_values, "mode": json_values, "tools": json_values},
        )
        | json_values,
        "text": st.fixed_dictionaries(
            {},
            optional={
                "format": st.fixed_dictionaries(
                    {"type": st.sampled_from(["text", "json_schema", "json_object"]) | json_values},
                    optional={"name": json_values, "schema": json_values, "strict": json_values},
                )
                | json_values,
                "verbosity": json_values,
            },
        )
        | json_values,
        "reasoning": st.fixed_dictionaries(
            {}, optional={"effort": json_values | st.just("low"), "summary": json_values}
        )
        | json_values,
        "temperature": json_values,
        "top_p": json_values,
        "max_output_tokens": json_values,
        "parallel_tool_calls": json_values,
        "stream": json_values,
        "metadata": json_values,
        "background": json_values,
    },
)

# --- conversations and their meaning -----------------------------------------------------------

words = st.text(string.ascii_letters + string.digits + " .,!?é\n", min_size=1, max_size=12)


@st.composite
def conversations(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A valid conversation: it opens with the user; function calls are answered by outputs
    before the next turn."""
    items: list[dict[str, Any]] = []
    calls = 0
    for turn in range(draw(st.integers(1, 4))):
        texts = draw(st.lists(words, min_size=1, max_size=3))
        if draw(st.booleans()):
            items.append({"role": "user", "content": " ".join(texts)})
        else:
            content: list[dict[str, Any]] = [{"type": "input_text", "text": t} for t in texts]
            if draw(st.booleans()):
                content.append({"type": "input_image", "image_url": PNG_URL, "detail": "auto"})
            items.append({"type": "message", "role": "user", "content": content})
        if turn and draw(st.booleans()):
            continue
        said = draw(st.lists(words, max_size=2))
        if said:
            parts = [{"type": "output_text", "text": t, "annotations": []} for t in said]
            items.append({"type": "message", "role": "assistant", "content": parts})
        made = []
        for _ in range(draw(st.integers(0 if said else 1, 2))):
            calls += 1
            city = draw(words)
            arguments = '{"city": "' + city.replace("\n", " ") + '"}'
            call = {
                "type": "function_call",
                "call_id": f"call_{calls}",
                "name": "weather",
                "arguments": arguments,
            }
            items.append(call)
            made.append(call)
        for call in made:
            output = draw(words)
            items.append(
                {"type": "function_call_output", "call_id": call["call_id"], "output": output}
            )
    return items


def _said(role: str, texts: list[str], images: int) -> tuple[str, ...]:
    return (role, "\n\n".join(t for t in texts if t), "[image]" * images)


def item_meaning(items: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """What a Responses conversation says, item by item."""
    said: list[tuple[str, ...]] = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            content = item["content"]
            parts = (
                [{"type": "input_text", "text": content}] if isinstance(content, str) else content
            )
            texts = [p["text"] for p in parts if p["type"] in ("input_text", "output_text")]
            images = sum(p["type"] == "input_image" for p in parts)
            if item["role"] != "assistant" or any(texts):
                said.append(_said(item["role"], texts, images))
        elif kind == "function_call":
            said.append(("call", item["call_id"], item["name"], item["arguments"]))
        elif kind == "function_call_output":
            said.append(("output", item["call_id"], item["output"]))
    return said


def chat_meaning(messages: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """What a chat conversation says, in the same terms."""
    said: list[tuple[str, ...]] = []
    for message in messages:
        role, content = message["role"], message.get("content")
        if role == "tool":
            said.append(("output", message["tool_call_id"], str(content)))
            continue
        parts = (
            [{"type": "text", "text": content or ""}] if not isinstance(content, list) else content
        )
        texts = [p["text"] for p in parts if p["type"] == "text"]
        images = sum(p["type"] == "image_url" for p in parts)
        if role != "assistant" or any(texts):
            said.append(_said(role, texts, images))
        for call in message.get("tool_calls") or ():
            function = call["function"]
            said.append(("call", call["id"], function["name"], function["arguments"]))
    return said


TOOLS = [WEATHER]


# --- chat answers ------------------------------------------------------------------------------

finish_reasons = (
    st.sampled_from(["stop", "length", "tool_calls", "content_filter", None]) | json_values
)
near_calls = st.fixed_dictionaries(
    {},
    optional={
        "index": st.integers(0, 2) | json_values,
        "id": st.sampled_from(["call_1", "call_2"]) | json_values,
        "type": st.just("function"),
        "function": st.fixed_dictionaries(
            {},
            optional={"name": st.just("weather") | json_values, "arguments": words | json_values},
        )
        | json_values,
    },
)
near_usage = st.fixed_dictionaries(
    {},
    optional={
        "prompt_tokens": st.integers(-1, 10**6) | json_values,
        "completion_tokens": st.integers(-1, 10**6) | json_values,
        "prompt_tokens_details": st.fixed_dictionaries(
            {}, optional={"cached_tokens": st.integers(-1, 10**6) | json_values}
        )
        | json_values,
        "completion_tokens_details": st.fixed_dictionaries(
            {}, optional={"reasoning_tokens": st.integers(-1, 10**6) | json_values}
        )
        | json_values,
    },
)
near_messages = st.fixed_dictionaries(
    {},
    optional={
        "role": st.just("assistant"),
        "content": words | st.none() | json_values,
        "refusal": words | json_values,
        "tool_calls": st.lists(near_calls, max_size=3) | json_values,
    },
)
near_completions = st.fixed_dictionaries(
    {},
    optional={
        "model": words | json_values,
        "created": st.integers() | json_values,
        "choices": st.lists(
            st.fixed_dictionaries(
                {}, optional={"message": near_messages, "finish_reason": finish_reasons}
            ),
            max_size=2,
        )
        | json_values,
        "usage": near_usage | json_values,
    },
)
near_thinking_blocks = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["thinking", "redacted_thinking"]) | json_values},
        optional={
            "thinking": words | json_values,
            "signature": words | json_values,
            "data": words | json_values,
        },
    )
    | json_values,
    max_size=2,
)
near_deltas = st.fixed_dictionaries(
    {},
    optional={
        "role": st.just("assistant"),
        "content": words | json_values,
        "refusal": words | json_values,
        "tool_calls": st.lists(near_calls, max_size=2) | json_values,
        "reasoning_content": words | json_values,
        "thinking_blocks": near_thinking_blocks | json_values,
    },
)
near_chunks = st.fixed_dictionaries(
    {},
    optional={
        "model": words | json_values,
        "choices": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "index": st.just(0) | json_values,
                    "delta": near_deltas | json_values,
                    "finish_reason": finish_reasons,
                },
            ),
            max_size=2,
        )
        | json_values,
        "usage": near_usage | st.none(),
        "error": st.none() | st.none() | st.none() | json_values,
    },
)

# Valid requests, for what a response echoes.
valid_requests = st.fixed_dictionaries(
    {"model": st.just("m"), "input": words, "tools": st.just([WEATHER])},
    optional={
        "instructions": words,
        "tool_choice": st.sampled_from(
            ["auto", "none", "required", {"type": "function", "name": "weather"}]
        ),
        "temperature": st.floats(0, 2),
        "top_p": st.floats(0, 1),
        "max_output_tokens": st.integers(1, 10**6),
        "parallel_tool_calls": st.booleans(),
        "store": st.booleans(),
        "metadata": st.dictionaries(words, words, max_size=3),
        "previous_response_id": st.just("resp_0"),
        "truncation": st.sampled_from(["auto", "disabled"]),
        "user": words,
        "reasoning": st.fixed_dictionaries(
            {},
            optional={
                "effort": st.sampled_from(["minimal", "low", "medium", "high"]),
                "summary": st.sampled_from(["auto", "concise", "detailed"]),
            },
        ),
        "text": st.fixed_dictionaries(
            {},
            optional={
                "format": st.sampled_from(
                    [
                        {"type": "text"},
                        {"type": "json_object"},
                        {"type": "json_schema", "name": "a", "schema": {"type": "object"}},
                    ]
                ),
                "verbosity": st.sampled_from(["low", "medium", "high"]),
            },
        ),
    },
)
