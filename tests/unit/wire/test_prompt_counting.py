"""Offline prompt counting: o200k_base counts, OpenAI's per-message accounting, tools and
schemas by their JSON text, the media estimates, and no exception for any JSON body."""

from __future__ import annotations

import base64
import math
from typing import Any

import bpe_openai
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.providers.ports import PromptCounter
from infrastructure.tokens import BpePromptCounter
from infrastructure.tokens.bpe_prompt_counter import (
    ANTHROPIC_TOOL_SYSTEM_TOKENS,
    REPLY_PRIMING,
    TOKENS_PER_MESSAGE,
    TOOLS_OVERHEAD,
)
from infrastructure.tokens.media_estimates import (
    AUDIO_TOKENS_PER_SECOND,
    IMAGE_TOKENS,
    PDF_MAX_PAGES,
    PDF_PAGE_TOKENS,
    UNSEEN_DOCUMENT_PAGES,
)

COUNTER = BpePromptCounter()
O200K = bpe_openai.get_encoding("o200k_base")
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}


def tokens(text: str) -> int:
    return len(O200K.encode_ordinary(text))


def json_tokens(value: object) -> int:
    return tokens(msgspec.json.encode(value).decode())


def chat(*messages: dict[str, Any], **fields: Any) -> int:
    return COUNTER.count_chat({"model": "m", "messages": list(messages), **fields})


def claude(*messages: dict[str, Any], **fields: Any) -> int:
    body = {"model": "m", "max_tokens": 10, "messages": list(messages), **fields}
    return COUNTER.count_messages(body)


USER = {"role": "user", "content": "hello world"}


def test_it_is_a_prompt_counter() -> None:
    counter: PromptCounter = COUNTER
    assert counter.count_embeddings({"input": "hello world"}) == 2


# --- text -------------------------------------------------------------------------------------


def test_the_vocabulary_is_o200k_base() -> None:
    assert O200K.encode_ordinary("hello world") == [24912, 2375]
    assert O200K.encode_ordinary("Hello, world!") == [13225, 11, 2375, 0]


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 0),
        ("hello world", 2),
        ("Hello, world!", 4),
        ("tiktoken is great!", 6),
        ("antidisestablishmentarianism", 6),
        ("こんにちは世界", 2),
        ("<|endoftext|>", 7),  # a special token's text in a prompt is plain text
    ],
)
def test_text_counts_match_the_encoding(text: str, count: int) -> None:
    assert tokens(text) == count
    assert COUNTER.count_embeddings({"input": text}) == count


def test_a_lone_surrogate_is_counted_not_raised() -> None:
    assert COUNTER.count_embeddings({"input": "a\ud800b"}) >= 2


# --- OpenAI chat: the cookbook's accounting ----------------------------------------------------


def test_one_message_costs_its_overhead_role_content_and_the_reply_priming() -> None:
    assert TOKENS_PER_MESSAGE == 3
    assert REPLY_PRIMING == 3
    assert chat(USER) == 3 + 1 + 2 + 3
    assert chat() == REPLY_PRIMING


def test_a_name_costs_its_tokens_and_one_more() -> None:
    assert chat({**USER, "name": "example_user"}) == chat(USER) + tokens("example_user") + 1


def test_the_cookbook_example_counts_124_like_gpt_4o() -> None:
    # OpenAI's "How to count tokens with tiktoken": 124 prompt tokens for gpt-4o, as billed
    said = [
        ("system", None, "You are a helpful, pattern-following assistant that translates "
         "corporate jargon into plain English."),
        ("system", "example_user", "New synergies will help drive top-line growth."),
        ("system", "example_assistant", "Things working well together will increase revenue."),
        ("system", "example_user", "Let's circle back when we have more bandwidth to touch "
         "base on opportunities for increased leverage."),
        ("system", "example_assistant", "Let's talk later when we're less busy about how to do "
         "better."),
        ("user", None, "This late pivot means we don't have time to boil the ocean for the "
         "client deliverable."),
    ]  # fmt: skip
    messages = [
        {"role": role, "content": content} | ({"name": name} if name else {})
        for role, name, content in said
    ]
    assert chat(*messages) == 124


def test_text_parts_count_like_the_same_text() -> None:
    parts = [{"type": "text", "text": "hello"}, {"type": "text", "text": " world"}]
    assert chat({"role": "user", "content": parts}) == chat(USER) - 2 + tokens("hello") + 1


def test_null_content_costs_nothing() -> None:
    assert chat({"role": "assistant", "content": None}) == 3 + 1 + 3


def test_tools_are_counted_by_their_json_text() -> None:
    tools = [WEATHER_TOOL, WEATHER_TOOL]
    assert chat(USER, tools=tools) == chat(USER) + json_tokens(tools) + TOOLS_OVERHEAD
    assert chat(USER, tools=[]) == chat(USER)
    functions = [WEATHER_TOOL["function"]]
    assert chat(USER, functions=functions) == chat(USER) + json_tokens(functions) + TOOLS_OVERHEAD
    choice = {"type": "function", "function": {"name": "get_weather"}}
    assert chat(USER, tool_choice=choice) == chat(USER) + json_tokens(choice)
    assert chat(USER, tool_choice="auto") == chat(USER)


def test_tool_calls_and_results_are_counted() -> None:
    arguments = '{"city": "Paris"}'
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": arguments},
    }
    asked = {"role": "assistant", "content": None, "tool_calls": [call, call]}
    per_call = tokens("get_weather") + tokens(arguments) + 3
    assert chat(asked) == 3 + 1 + 2 * per_call + 3
    answered = {"role": "tool", "tool_call_id": "c1", "content": "sunny"}
    assert chat(answered) == 3 + 1 + tokens("c1") + tokens("sunny") + 3


def test_a_json_schema_response_format_counts_the_schema() -> None:
    schema = {"name": "answer", "strict": True, "schema": {"type": "object", "properties": {}}}
    body = {"type": "json_schema", "json_schema": schema}
    assert chat(USER, response_format=body) == chat(USER) + json_tokens(schema)
    assert chat(USER, response_format={"type": "json_object"}) == chat(USER)


# --- media ------------------------------------------------------------------------------------


def openai_tile_tokens(width: int, height: int) -> int:
    """gpt-4o, detail high: fit in 2048x2048, short side to 768, 170 per 512-px tile + 85."""
    fit = min(1.0, 2048 / max(width, height))
    scale = fit * min(1.0, 768 / (min(width, height) * fit))
    return 85 + 170 * math.ceil(width * scale / 512) * math.ceil(height * scale / 512)


def anthropic_tokens(width: int, height: int, long_edge: int, megapixels: float) -> int:
    """(w*h)/750, rounded, after scaling the long edge and the area down to the limits."""
    scale = min(1.0, long_edge / max(width, height), math.sqrt(megapixels * 1e6 / (width * height)))
    return round(width * scale * height * scale / 750)


@given(st.integers(min_value=1, max_value=8000), st.integers(min_value=1, max_value=8000))
def test_the_image_estimate_bounds_the_published_formulas(width: int, height: int) -> None:
    assert openai_tile_tokens(width, height) <= 1445 <= IMAGE_TOKENS
    assert anthropic_tokens(width, height, 1568, 1.15) <= 1600 <= IMAGE_TOKENS
    assert anthropic_tokens(width, height, 2576, 3.75) <= IMAGE_TOKENS
    assert math.ceil(1536 * 2.46) <= IMAGE_TOKENS  # 32-px patches, capped, gpt-4.1-nano


def test_every_image_costs_the_fixed_estimate() -> None:
    url = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}}
    text = {"type": "text", "text": "hello world"}
    assert chat({"role": "user", "content": [text, url, url]}) == chat(USER) + 2 * IMAGE_TOKENS
    block = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    assert claude({"role": "user", "content": [block, text]}) == claude(USER) + IMAGE_TOKENS


def test_audio_is_estimated_from_its_size() -> None:
    thirty_seconds = base64.b64encode(bytes(30 * 4000)).decode()  # at 32 kbit/s
    part = {"type": "input_audio", "input_audio": {"data": thirty_seconds, "format": "mp3"}}
    assert chat({"role": "user", "content": [part]}) == 3 + 1 + 30 * AUDIO_TOKENS_PER_SECOND + 3


def test_pdfs_are_estimated_by_pages_and_capped() -> None:
    small = base64.b64encode(b"%PDF-1.7 tiny").decode()
    huge = "A" * 100_000_000
    assert claude_document({"type": "base64", "data": small}) == PDF_PAGE_TOKENS
    assert claude_document({"type": "base64", "data": huge}) == PDF_MAX_PAGES * PDF_PAGE_TOKENS
    unseen = UNSEEN_DOCUMENT_PAGES * PDF_PAGE_TOKENS
    assert claude_document({"type": "url", "url": "https://example.com/a.pdf"}) == unseen
    part = {"type": "file", "file": {"file_id": "file-abc"}}
    assert chat({"role": "user", "content": [part]}) == 3 + 1 + unseen + 3


def claude_document(source: dict[str, Any], **fields: Any) -> int:
    block = {"type": "document", "source": source, **fields}
    return claude({"role": "user", "content": [block]}) - claude({"role": "user", "content": []})


def test_text_documents_count_their_text_title_and_context() -> None:
    text = "The quick brown fox."
    assert claude_document({"type": "text", "media_type": "text/plain", "data": text}) == tokens(
        text
    )
    content = {"type": "content", "content": [{"type": "text", "text": text}]}
    assert claude_document(content, title="Fox", context="A sentence") == (
        tokens(text) + tokens("Fox") + tokens("A sentence")
    )


# --- Anthropic messages -----------------------------------------------------------------------


def test_anthropic_messages_follow_the_same_accounting() -> None:
    assert claude(USER) == 3 + 1 + 2 + 3
    blocks = {"role": "user", "content": [{"type": "text", "text": "hello world"}]}
    assert claude(blocks) == claude(USER)


def test_the_system_prompt_as_a_string_or_blocks() -> None:
    text = "You are terse."
    assert claude(USER, system=text) == claude(USER) + 3 + tokens(text)
    as_blocks = [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]
    assert claude(USER, system=as_blocks) == claude(USER, system=text)


def test_anthropic_tools_add_their_json_and_the_tool_system_prompt() -> None:
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    assert claude(USER, tools=tools) == claude(USER) + json_tokens(tools) + 346
    assert ANTHROPIC_TOOL_SYSTEM_TOKENS == 346


def test_tool_use_and_tool_result_blocks() -> None:
    use = {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Paris"}}
    assert claude({"role": "assistant", "content": [use]}) == (
        3 + 1 + tokens("get_weather") + json_tokens({"city": "Paris"}) + 3
    )
    result = {"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}
    as_blocks = {**result, "content": [{"type": "text", "text": "sunny"}]}
    assert claude({"role": "user", "content": [result]}) == 3 + 1 + 3 + tokens("sunny") + 3
    assert claude({"role": "user", "content": [as_blocks]}) == claude(
        {"role": "user", "content": [result]}
    )
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": ""}}
    with_image = {**result, "content": [image]}
    assert claude({"role": "user", "content": [with_image]}) == 3 + 1 + 3 + IMAGE_TOKENS + 3


def test_structured_output_schemas_are_counted() -> None:
    fmt = {"type": "json_schema", "schema": {"type": "object"}}
    assert claude(USER, output_config={"format": fmt}) == claude(USER) + json_tokens(fmt)
    assert claude(USER, output_format=fmt) == claude(USER) + json_tokens(fmt)


# --- embeddings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "count"),
    [
        ("hello world", 2),
        (["hello world", "Hello, world!"], 6),
        ([1, 2, 3], 3),
        ([[1, 2], [3, 4, 5]], 5),
        ([], 0),
    ],
)
def test_embedding_inputs(value: object, count: int) -> None:
    assert COUNTER.count_embeddings({"input": value}) == count


# --- wrong shapes -----------------------------------------------------------------------------


def test_wrong_shapes_are_counted_by_their_json_text() -> None:
    odd = {"unexpected": ["shape", 1]}
    assert chat({"role": "user", "content": odd}) == 3 + 1 + json_tokens(odd) + 3
    assert COUNTER.count_chat({"messages": odd}) == REPLY_PRIMING + json_tokens(odd)
    assert COUNTER.count_embeddings({"input": [odd]}) == json_tokens(odd)
    assert claude({"role": "user", "content": [odd]}) == 3 + 1 + json_tokens(odd) + 3


def test_bodies_that_are_not_objects_are_counted_too() -> None:
    for counter in (COUNTER.count_chat, COUNTER.count_messages, COUNTER.count_embeddings):
        assert counter(["hello world"]) == json_tokens(["hello world"])  # type: ignore[arg-type]
        assert counter(None) == 0  # type: ignore[arg-type]


def test_nesting_deeper_than_the_encoder_goes_is_still_counted() -> None:
    deep: Any = "hello world"
    for _ in range(100_000):
        deep = [deep]
    assert COUNTER.count_chat({"messages": deep}) > 100_000
    nested: dict[str, Any] = {"type": "text", "text": "x"}
    for _ in range(5000):
        nested = {"type": "tool_result", "content": [nested]}
    assert COUNTER.count_messages({"messages": [{"role": "user", "content": [nested]}]}) > 5000


_strings = st.text(max_size=20) | st.sampled_from(["\ud800", "a\udfffb", "<|endoftext|>", ""])
_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | _strings
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_strings, inner, max_size=4),
    max_leaves=20,
)
_types = st.sampled_from(
    ["text", "image_url", "input_audio", "file", "refusal", "image", "document", "tool_use",
     "tool_result", "thinking", "search_result", "server_tool_use", "mcp_tool_result"]
)  # fmt: skip
_keys = st.sampled_from(
    ["type", "text", "content", "role", "name", "tool_calls", "function_call", "function",
     "arguments", "input", "source", "data", "file_data", "input_audio", "file", "title",
     "context", "thinking", "image_url"]
)  # fmt: skip
_optional = ["text", "content", "source", "input_audio", "file", "function", "name", "input"]
_shaped = st.recursive(
    _scalars | st.fixed_dictionaries({"type": _types}),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_keys, inner, max_size=5)
        | st.fixed_dictionaries({"type": _types}, optional=dict.fromkeys(_optional, inner))
    ),
    max_leaves=25,
)
_top = st.sampled_from(
    ["messages", "system", "tools", "functions", "tool_choice", "response_format", "input",
     "output_config", "output_format", "model"]
)  # fmt: skip
_bodies = st.dictionaries(_top, _shaped | st.lists(_shaped, max_size=4), max_size=6) | _json


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_bodies)
def test_no_json_body_makes_a_counter_raise(body: Any) -> None:
    for count in (COUNTER.count_chat, COUNTER.count_messages, COUNTER.count_embeddings):
        result = count(body)
        assert isinstance(result, int)
        assert result >= 0
