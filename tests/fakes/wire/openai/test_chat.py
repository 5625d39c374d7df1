"""Chat completions, whole and streamed, as the official `openai` SDK parses them."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.openai_upstream import EVERY_TOKEN_CACHED, EVERY_TOKEN_REASONING, FakeOpenAI
from tests.fakes.openai_upstream.models import MODEL_EVERY_TOKEN
from tests.fakes.wire.openai.support import (
    API_KEY,
    EXPECTED_PROMPT_TOKENS,
    EXPECTED_TEXT,
    MESSAGES,
    MODEL,
)

# -- chat -----------------------------------------------------------------------------------------


def test_base_url_points_at_ephemeral_port(fake: FakeOpenAI) -> None:
    assert fake.port > 0
    assert fake.base_url == f"http://127.0.0.1:{fake.port}/v1"


def test_plain_chat(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES)

    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == MODEL
    assert completion.system_fingerprint == "fp_fake"
    assert isinstance(completion.created, int)
    assert completion.created > 0
    (choice,) = completion.choices
    assert choice.index == 0
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == EXPECTED_TEXT
    assert choice.message.refusal is None
    assert choice.message.tool_calls is None
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == EXPECTED_PROMPT_TOKENS
    assert usage.completion_tokens == len(EXPECTED_TEXT.split())
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 0


def test_content_parts_join_text_and_image(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "describe"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    {"type": "text", "text": "please"},
                ],
            }
        ],
    )
    assert completion.choices[0].message.content == "Echo: describe [image] please"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 3


def test_streamed_chat_matches_plain(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    stream = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].id.startswith("chatcmpl-")
    assert len({c.created for c in chunks}) == 1
    assert {c.model for c in chunks} == {MODEL}

    first, *middle, finish, usage_chunk = chunks
    assert first.choices[0].delta.role == "assistant"
    assert first.choices[0].delta.content == ""
    # one chunk per word of the reply
    assert len(middle) == len(EXPECTED_TEXT.split())
    assert all(c.choices[0].finish_reason is None for c in [first, *middle])
    assert all(c.usage is None for c in chunks[:-1])
    assert finish.choices[0].finish_reason == "stop"
    assert finish.choices[0].delta.content is None
    assert usage_chunk.choices == []

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content == EXPECTED_TEXT
    assert usage_chunk.usage is not None
    assert plain.usage is not None
    assert usage_chunk.usage.model_dump() == plain.usage.model_dump()


def test_stream_without_include_usage_has_no_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stream_is_sse_with_done_terminator(fake: FakeOpenAI) -> None:
    response = httpx.post(
        f"{fake.base_url}/chat/completions",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = response.text.split("\n\n")
    assert events[-1] == ""
    assert events[-2] == "data: [DONE]"
    assert all(e.startswith("data: ") for e in events[:-1])
    assert [json.loads(e[6:])["choices"][0]["delta"] for e in events[:-2]] == [
        {"role": "assistant", "content": ""},
        {"content": "Echo:"},
        {"content": " hi"},
        {},
    ]


@pytest.mark.parametrize("param", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_truncates_with_length(client: openai.OpenAI, param: str) -> None:
    kwargs: dict[str, Any] = {param: 3}
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, **kwargs)
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == "Echo: What is"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 3

    chunks = list(
        client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True, **kwargs)
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: What is"
    assert chunks[-1].choices[0].finish_reason == "length"


def test_max_tokens_larger_than_reply_does_not_truncate(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=100)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content == EXPECTED_TEXT


def test_every_token_model_reports_cache_reads_and_reasoning_whole_and_streamed(
    client: openai.OpenAI,
) -> None:
    plain = client.chat.completions.create(model=MODEL_EVERY_TOKEN, messages=MESSAGES)
    assert plain.choices[0].message.content == EXPECTED_TEXT
    streamed = [
        chunk.usage
        for chunk in client.chat.completions.create(
            model=MODEL_EVERY_TOKEN,
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        if chunk.usage is not None
    ]
    for usage in (plain.usage, *streamed):
        assert usage is not None
        assert usage.prompt_tokens == EXPECTED_PROMPT_TOKENS + EVERY_TOKEN_CACHED
        assert usage.prompt_tokens_details is not None
        assert usage.prompt_tokens_details.cached_tokens == EVERY_TOKEN_CACHED
        assert usage.completion_tokens == len(EXPECTED_TEXT.split()) + EVERY_TOKEN_REASONING
        assert usage.completion_tokens_details is not None
        assert usage.completion_tokens_details.reasoning_tokens == EVERY_TOKEN_REASONING
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert len(streamed) == 1
