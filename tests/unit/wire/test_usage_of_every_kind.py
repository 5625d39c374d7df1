"""Every kind of token read from each provider's wire format, whole and streamed: OpenAI Chat
Completions and Responses, Anthropic Messages, Gemini. The counts nest as the gateway's `Usage`
says: the prompt includes the cache reads and writes, the output the reasoning tokens."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from domains.providers.ports import Usage
from infrastructure.adapters.providers import openai_wire
from infrastructure.adapters.providers.anthropic_response import usage_of as anthropic_usage
from infrastructure.adapters.providers.anthropic_stream import StreamTranslator
from infrastructure.adapters.providers.gemini_answer import openai_usage as gemini_usage
from infrastructure.adapters.providers.openai_responses import usage_from as responses_usage

# --- OpenAI Chat Completions -------------------------------------------------------------------

OPENAI_USAGE = {
    "prompt_tokens": 2000,
    "completion_tokens": 700,
    "total_tokens": 2700,
    "prompt_tokens_details": {"cached_tokens": 1536, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 448,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}
OPENAI_READ = Usage(input_tokens=2000, output_tokens=700, cached_tokens=1536, reasoning_tokens=448)


def test_a_chat_answer_s_cache_reads_and_reasoning_are_parts_of_its_totals() -> None:
    body = msgspec.json.encode({"object": "chat.completion", "usage": OPENAI_USAGE})
    assert openai_wire.usage_of(body) == OPENAI_READ


def test_a_stream_s_usage_chunk_carries_them_too() -> None:
    chunk = msgspec.json.encode(
        {"object": "chat.completion.chunk", "choices": [], "usage": OPENAI_USAGE}
    )
    facts = openai_wire.chunk_facts(chunk)
    assert facts is not None
    assert facts.usage == OPENAI_READ
    assert facts.usage_only


def test_details_left_out_or_null_read_as_none() -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "completion_tokens_details": None}
    assert openai_wire.usage_of(msgspec.json.encode({"usage": usage})) == Usage(
        input_tokens=5, output_tokens=2
    )


# --- OpenAI Responses --------------------------------------------------------------------------


def test_a_responses_usage_object() -> None:
    usage = {
        "input_tokens": 2000,
        "input_tokens_details": {"cached_tokens": 1536},
        "output_tokens": 700,
        "output_tokens_details": {"reasoning_tokens": 448},
        "total_tokens": 2700,
    }
    assert responses_usage(usage) == OPENAI_READ
    assert responses_usage({"input_tokens": 3, "output_tokens": 1}) == Usage(
        input_tokens=3, output_tokens=1
    )
    assert responses_usage(None) is None
    assert responses_usage([1, 2]) is None


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=25), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = st.sampled_from(
    ["input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details"]
)


@given(
    st.dictionaries(
        KEYS,
        JSONISH | st.dictionaries(st.sampled_from(["cached_tokens", "reasoning_tokens"]), JSONISH),
    )
)
def test_any_responses_usage_reads_as_counts_of_at_least_zero(raw: dict[str, Any]) -> None:
    usage = responses_usage(raw)
    assert usage is not None
    assert min(msgspec.structs.astuple(usage)) >= 0


# --- Anthropic ---------------------------------------------------------------------------------


def test_anthropic_cache_writes_are_read_from_their_breakdown() -> None:
    raw = {
        "input_tokens": 100,
        "cache_read_input_tokens": 2048,
        "cache_creation_input_tokens": 768,
        "cache_creation": {"ephemeral_5m_input_tokens": 256, "ephemeral_1h_input_tokens": 512},
        "output_tokens": 50,
    }
    assert anthropic_usage(raw) == Usage(
        input_tokens=100 + 2048 + 768,
        output_tokens=50,
        cached_tokens=2048,
        cache_write_5m_tokens=256,
        cache_write_1h_tokens=512,
    )


def test_anthropic_cache_writes_without_a_breakdown_are_for_five_minutes() -> None:
    raw = {"input_tokens": 10, "cache_creation_input_tokens": 30, "output_tokens": 1}
    assert anthropic_usage(raw) == Usage(input_tokens=40, output_tokens=1, cache_write_5m_tokens=30)
    # what the total counts beyond the breakdown was written for 5 minutes too
    partial = {**raw, "cache_creation": {"ephemeral_1h_input_tokens": 20}}
    assert anthropic_usage(partial) == Usage(
        input_tokens=40, output_tokens=1, cache_write_5m_tokens=10, cache_write_1h_tokens=20
    )
    # a breakdown without the total (or larger than it) is what was written
    alone = {"input_tokens": 10, "cache_creation": {"ephemeral_1h_input_tokens": 20}}
    assert anthropic_usage(alone) == Usage(input_tokens=30, cache_write_1h_tokens=20)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "input_tokens",
                "output_tokens",
                "cache_read_input_tokens",
                "cache_creation_input_tokens",
                "cache_creation",
            ]
        ),
        JSONISH
        | st.dictionaries(
            st.sampled_from(["ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"]), JSONISH
        ),
    )
)
def test_any_anthropic_usage_reads_as_nested_counts(raw: dict[str, Any]) -> None:
    usage = anthropic_usage(raw)
    assert min(msgspec.structs.astuple(usage)) >= 0
    read, written = usage.cached_tokens, usage.cache_write_5m_tokens + usage.cache_write_1h_tokens
    assert usage.input_tokens >= read + written
    assert usage.parts()[1:4] == (read, usage.cache_write_5m_tokens, usage.cache_write_1h_tokens)


def test_an_anthropic_stream_keeps_the_cache_counts_of_its_start() -> None:
    translator = StreamTranslator(
        model="claude", created=1, completion_id="chatcmpl-1", include_usage=True
    )
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "model": "claude",
            "usage": {
                "input_tokens": 100,
                "cache_read_input_tokens": 2048,
                "cache_creation_input_tokens": 768,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": 256,
                    "ephemeral_1h_input_tokens": 512,
                },
                "output_tokens": 1,
            },
        },
    }
    translator.feed("message_start", start)
    # the delta's usage is cumulative: the counts it names are the latest, the others stay
    translator.feed(
        "message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 50}}
    )
    assert translator.usage == Usage(
        input_tokens=2916,
        output_tokens=50,
        cached_tokens=2048,
        cache_write_5m_tokens=256,
        cache_write_1h_tokens=512,
    )
    delta = {
        "cache_creation": {"ephemeral_1h_input_tokens": 768},
        "cache_creation_input_tokens": 1024,
    }
    translator.feed("message_delta", {"delta": {}, "usage": delta})
    assert translator.usage is not None
    assert (translator.usage.cache_write_5m_tokens, translator.usage.cache_write_1h_tokens) == (
        256,
        768,
    )


# --- Gemini ------------------------------------------------------------------------------------


def test_gemini_thoughts_are_output_and_reasoning_cached_content_part_of_the_prompt() -> None:
    body, usage = gemini_usage(
        {
            "promptTokenCount": 5000,
            "cachedContentTokenCount": 4096,
            "candidatesTokenCount": 30,
            "thoughtsTokenCount": 128,
            "totalTokenCount": 5158,
        }
    )
    assert usage == Usage(
        input_tokens=5000, output_tokens=158, cached_tokens=4096, reasoning_tokens=128
    )
    assert body == {
        "prompt_tokens": 5000,
        "completion_tokens": 158,
        "total_tokens": 5158,
        "prompt_tokens_details": {"cached_tokens": 4096},
        "completion_tokens_details": {"reasoning_tokens": 128},
    }


def test_gemini_tool_use_prompt_tokens_are_input() -> None:
    _, usage = gemini_usage(
        {"promptTokenCount": 50, "toolUsePromptTokenCount": 200, "candidatesTokenCount": 10}
    )
    assert usage == Usage(input_tokens=250, output_tokens=10)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "promptTokenCount",
                "cachedContentTokenCount",
                "candidatesTokenCount",
                "thoughtsTokenCount",
                "toolUsePromptTokenCount",
            ]
        ),
        JSONISH,
    )
)
def test_any_gemini_usage_reads_as_nested_counts(raw: dict[str, Any]) -> None:
    body, usage = gemini_usage(raw)
    assert min(msgspec.structs.astuple(usage)) >= 0
    assert usage.cached_tokens <= usage.input_tokens
    assert usage.reasoning_tokens <= usage.output_tokens
    assert body["total_tokens"] == usage.input_tokens + usage.output_tokens
