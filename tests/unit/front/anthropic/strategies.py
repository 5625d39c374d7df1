"""Hypothesis strategies for the Anthropic front door's properties: Messages bodies near the valid
ones, conversations and their meaning, and OpenAI chunk sequences."""

from __future__ import annotations

import copy
import string
from typing import Any

from hypothesis import strategies as st

from interfaces.http.anthropic.translate_stream import encode_event
from tests.unit.front.anthropic.support import TOOLS, assistant, body, image_b64, text, user

# --- properties --------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
block_types = st.sampled_from(
    ["text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking", "document"]
)
near_blocks: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {"type": block_types},
    optional={
        "text": json_values,
        "source": st.fixed_dictionaries(
            {"type": st.sampled_from(["base64", "url", "file"]) | json_values},
            optional={"media_type": json_values, "data": json_values, "url": json_values},
        )
        | json_values,
        "id": json_values,
        "name": json_values,
        "input": json_values,
        "tool_use_id": json_values,
        "content": json_values | st.lists(st.deferred(lambda: near_blocks), max_size=3),
        "is_error": json_values,
    },
)
# Mostly valid model and max_tokens, so that the messages and parameters get read too.
near_bodies = st.fixed_dictionaries(
    {"model": st.just("m"), "max_tokens": st.integers(1, 5)},
    optional={
        "messages": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "role": st.sampled_from(["user", "assistant", "system"]) | json_values,
                    "content": st.text(max_size=5)
                    | st.lists(near_blocks, max_size=4)
                    | json_values,
                },
            ),
            max_size=4,
        )
        | json_values,
        "system": json_values | st.lists(near_blocks, max_size=2),
        "temperature": json_values,
        "top_p": json_values,
        "stop_sequences": json_values,
        "stream": json_values,
        "metadata": json_values,
        "tools": json_values | st.lists(json_values, max_size=2),
        "tool_choice": json_values
        | st.fixed_dictionaries(
            {"type": st.sampled_from(["auto", "any", "tool", "none"]) | json_values},
            optional={"name": json_values, "disable_parallel_tool_use": json_values},
        ),
    },
)


# A generated Anthropic conversation → OpenAI → Anthropic again (the upstream translator) keeps
# its meaning.

words = st.text(string.ascii_letters + string.digits + " .,!?é\n", min_size=1, max_size=12)
images = st.one_of(
    st.builds(
        image_b64,
        st.sampled_from(["image/png", "image/jpeg", "image/gif", "image/webp"]),
        st.text(string.ascii_letters + string.digits + "+/", min_size=4, max_size=12),
    ),
    st.builds(
        lambda path: {
            "type": "image",
            "source": {"type": "url", "url": f"https://img.test/{path}"},
        },
        st.text(string.ascii_lowercase, min_size=1, max_size=8),
    ),
)
inputs = st.dictionaries(
    st.text(string.ascii_lowercase, min_size=1, max_size=5),
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | words,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=3),
        max_leaves=8,
    ),
    max_size=4,
)


@st.composite
def conversations(draw: st.DrawFn) -> dict[str, Any]:
    system = draw(st.none() | words | st.lists(words.map(text), max_size=3))
    media = st.lists(st.one_of(words.map(text), images), min_size=1, max_size=4)
    messages: list[dict[str, Any]] = [user(draw(words | media))]
    for turn in range(draw(st.integers(0, 3))):
        calls = [
            {
                "type": "tool_use",
                "id": f"toolu_{turn}_{k}",
                "name": draw(words.filter(str.strip)),
                "input": draw(inputs),
            }
            for k in range(draw(st.integers(0, 2)))
        ]
        said = draw(st.lists(words.map(text), min_size=0 if calls else 1, max_size=2))
        messages.append(assistant(said + calls))
        results = [
            {
                "type": "tool_result",
                "tool_use_id": call["id"],
                "content": draw(
                    st.none() | words | st.lists(st.one_of(words.map(text), images), max_size=3)
                ),
                "is_error": draw(st.booleans()),
            }
            for call in calls
        ]
        extra = draw(
            st.lists(st.one_of(words.map(text), images), min_size=0 if results else 1, max_size=2)
        )
        blocks = draw(st.permutations(results + extra)) if draw(st.booleans()) else results + extra
        messages.append(user(blocks))
    return body(messages, system=system) if system is not None else body(messages)


def image_meaning(block: dict[str, Any]) -> tuple[str, ...]:
    source = block["source"]
    if source["type"] == "base64":
        return ("image", source["media_type"], source["data"])
    return ("image", source["url"])


def merged(items: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Adjacent texts as one, joined with a blank line (how the front joins a turn's texts)."""
    out: list[tuple[str, ...]] = []
    for item in items:
        if item[0] == "text" and out and out[-1][0] == "text":
            out[-1] = ("text", out[-1][1] + "\n\n" + item[1])
        else:
            out.append(item)
    return out


def meaning(turn: dict[str, Any]) -> tuple[str, list[Any], list[tuple[str, ...]]]:
    """(role, tool results and tool uses in order, texts and images in order)."""
    content = turn["content"]
    blocks = [text(content)] if isinstance(content, str) else content
    tools: list[Any] = []
    items: list[tuple[str, ...]] = []
    for block in blocks:
        if block["type"] == "text":
            items.append(("text", block["text"]))
        elif block["type"] == "image":
            items.append(image_meaning(block))
        elif block["type"] == "tool_use":
            tools.append(("tool_use", block["id"], block["name"], block["input"]))
        elif block["type"] == "tool_result":
            result = block.get("content")
            parts = [text(result)] if isinstance(result, str) else result or []
            said = "\n\n".join(p["text"] for p in parts if p["type"] == "text" and p["text"])
            if block.get("is_error"):
                said = f"Error: {said}" if said else "Error"
            tools.append(("tool_result", block["tool_use_id"], said or None))
            items.extend(image_meaning(p) for p in parts if p["type"] == "image")
    return turn["role"], tools, merged(items)


@st.composite
def mutated_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid request with parameters, then one value somewhere in it replaced by junk (or
    one key removed)."""
    request = draw(conversations())
    request.update(
        draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "temperature": st.floats(0, 1),
                    "stop_sequences": st.lists(words, max_size=2),
                    "stream": st.booleans(),
                    "metadata": st.just({"user_id": "u-1"}),
                    "tools": st.just(copy.deepcopy(TOOLS)),
                    "tool_choice": st.sampled_from(
                        [{"type": "any"}, {"type": "tool", "name": "weather"}]
                    ),
                },
            )
        )
    )
    node: Any = request
    while True:
        key = draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
        child = node[key]
        if isinstance(child, (dict, list)) and child and draw(st.booleans()):
            node = child
        elif isinstance(node, dict) and draw(st.integers(0, 3)) == 0:
            del node[key]
            return request
        else:
            node[key] = draw(json_values | near_blocks)
            return request


# Arbitrary chunk sequences still give a valid Anthropic event sequence.


def mostly(likely: st.SearchStrategy[Any], junk: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`likely` about four times in five, else `junk`."""
    return st.integers(0, 4).flatmap(lambda n: junk if n == 0 else likely)


tool_call_pieces = st.fixed_dictionaries(
    {
        "function": mostly(
            st.fixed_dictionaries(
                {}, optional={"name": words, "arguments": mostly(words, json_values)}
            ),
            json_values,
        )
    },
    optional={
        "index": mostly(st.integers(0, 2), json_values),
        "id": mostly(st.sampled_from(["call_a", "call_b", "call_c"]), json_values),
        "type": st.just("function"),
    },
)
deltas = st.fixed_dictionaries(
    {},
    optional={
        "role": st.just("assistant"),
        "content": mostly(words, st.just("") | json_values),
        "refusal": st.none() | words,
        "tool_calls": mostly(st.lists(tool_call_pieces, max_size=2), json_values),
    },
)
finishes = mostly(st.none(), st.sampled_from(["stop", "length", "tool_calls"]) | json_values)
choice_lists = st.lists(
    st.fixed_dictionaries(
        {"delta": mostly(deltas, json_values), "finish_reason": finishes},
        optional={"index": mostly(st.just(0), st.integers(0, 1) | json_values)},
    ),
    max_size=2,
)
usages = st.none() | st.fixed_dictionaries(
    {"prompt_tokens": st.integers(0, 99) | json_values, "completion_tokens": st.integers(0, 99)},
    optional={
        "prompt_tokens_details": st.fixed_dictionaries({"cached_tokens": st.integers(0, 200)})
        | json_values
    },
)
content_chunks = st.fixed_dictionaries({"choices": choice_lists}, optional={"usage": usages})
chunks = mostly(
    content_chunks,
    st.fixed_dictionaries({"choices": json_values}, optional={"usage": usages})
    | st.builds(lambda usage: {"choices": [], "usage": usage}, usages)
    | st.builds(lambda error: {"error": error}, json_values.filter(lambda e: e is not None))
    | json_values,
)


def assert_valid_sequence(events: list[tuple[str, dict[str, Any]]]) -> None:
    names = [name for name, _ in events]
    for name, data in events:
        assert data["type"] == name
        assert encode_event(name, data).startswith(f"event: {name}\ndata: {{".encode())
    if "error" in names:
        assert names.index("error") == len(names) - 1
        names, events = names[:-1], events[:-1]
        assert "message_stop" not in names
    else:
        assert names[0] == "message_start"
        assert names[-2:] == ["message_delta", "message_stop"]
    assert names.count("message_start") <= 1
    assert names.count("message_delta") <= 1
    assert names.count("ping") <= 1
    if names:
        assert names[0] == "message_start"
    open_index: int | None = None
    next_index = 0
    for position, (name, data) in enumerate(events):
        if name == "content_block_start":
            assert open_index is None
            assert data["index"] == next_index
            open_index = next_index
            next_index += 1
        elif name == "ping":
            assert names[position - 1] == "content_block_start"
            assert names.index("content_block_start") == position - 1
        elif name == "content_block_delta":
            assert data["index"] == open_index
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index = None
        elif name in ("message_delta", "message_stop"):
            assert open_index is None
    if "message_stop" in names:
        assert open_index is None
