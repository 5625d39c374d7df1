"""Messages, whole and streamed, as the official `anthropic` SDK parses them: headers, system
prompts, the exact stream events and their wire format."""

from __future__ import annotations

import re

import anthropic
import httpx

from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.anthropic_upstream.models import (
    EVERY_TOKEN_CACHE_READ,
    EVERY_TOKEN_CACHE_WRITE_1H,
    EVERY_TOKEN_CACHE_WRITE_5M,
    MODEL_EVERY_TOKEN,
)
from tests.fakes.wire.anthropic.support import (
    API_KEY,
    EXPECTED_INPUT_TOKENS,
    EXPECTED_TEXT,
    MESSAGES,
    MODEL,
    RAW_HEADERS,
    SYSTEM,
    create,
    sse_events,
    user_turn,
)

# -- plain messages -------------------------------------------------------------------------------


def test_base_url_has_no_v1(fake: FakeAnthropic) -> None:
    assert fake.port > 0
    assert fake.base_url == f"http://127.0.0.1:{fake.port}"


def test_plain_message(client: anthropic.Anthropic) -> None:
    raw = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=1024, system=SYSTEM, messages=MESSAGES
    )
    assert re.fullmatch(r"req_[0-9a-f]{24}", raw.headers["request-id"])
    message = raw.parse()

    assert message.type == "message"
    assert message.id.startswith("msg_")
    assert message.role == "assistant"
    assert message.model == MODEL
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].type == "text"
    assert message.content[0].text == EXPECTED_TEXT
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    usage = message.usage
    assert usage.input_tokens == EXPECTED_INPUT_TOKENS
    assert usage.output_tokens == len(EXPECTED_TEXT.split())
    assert usage.cache_creation_input_tokens == 0
    assert usage.cache_read_input_tokens == 0


def test_sdk_auth_and_version_headers_are_recorded(
    fake: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake.clear()
    create(client, metadata={"user_id": "u-1"}, stop_sequences=["zzz"])
    (request,) = fake.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    # anthropic 2.x sends the API key as a bearer token; x-api-key is accepted too (below)
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["anthropic-version"] == "2026-10-21"
    assert request.json == {
        "model": MODEL,
        "max_tokens": 1024,
        "system": SYSTEM,
        "messages": MESSAGES,
        "metadata": {"user_id": "u-1"},
        "stop_sequences": ["zzz"],
    }
    fake.clear()
    assert fake.requests == []


def test_x_api_key_header_is_accepted(fake: FakeAnthropic) -> None:
    response = httpx.post(
        f"{fake.base_url}/v1/messages",
        headers=RAW_HEADERS,
        json={"model": MODEL, "max_tokens": 5, "messages": user_turn("ping pong")},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["content"] == [{"type": "text", "text": "Echo: ping pong"}]


def test_system_as_text_blocks_counts_like_a_string(client: anthropic.Anthropic) -> None:
    blocks = create(client, system=[{"type": "text", "text": "You are terse."}])
    assert blocks.usage.input_tokens == EXPECTED_INPUT_TOKENS
    assert blocks.content[0].type == "text"
    assert blocks.content[0].text == EXPECTED_TEXT


# -- streaming ------------------------------------------------------------------------------------


def test_stream_helper_matches_plain(client: anthropic.Anthropic) -> None:
    plain = create(client)
    with client.messages.stream(
        model=MODEL, max_tokens=1024, system=SYSTEM, messages=MESSAGES
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()

    assert len(pieces) == len(EXPECTED_TEXT.split())
    assert "".join(pieces) == EXPECTED_TEXT
    assert final.content[0].type == "text"
    assert final.content[0].text == EXPECTED_TEXT
    assert final.stop_reason == plain.stop_reason == "end_turn"
    assert final.stop_sequence is None
    assert final.model == MODEL
    assert final.usage.model_dump() == plain.usage.model_dump()


def test_raw_stream_events_in_exact_order(client: anthropic.Anthropic) -> None:
    events = list(create(client, messages=user_turn("hi there"), stream=True))

    # the SDK drops `ping`; its position is checked on the wire below
    assert [e.type for e in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start, block_start, *deltas, block_stop, message_delta, _ = events
    assert start.type == "message_start"
    assert start.message.content == []
    assert start.message.stop_reason is None
    assert start.message.usage.input_tokens == 3 + 2  # system + "hi there"
    assert start.message.usage.output_tokens == 1
    assert block_start.type == "content_block_start"
    assert block_start.index == 0
    assert block_start.content_block.type == "text"
    assert block_start.content_block.text == ""
    texts = []
    for delta in deltas:
        assert delta.type == "content_block_delta"
        assert delta.delta.type == "text_delta"
        texts.append(delta.delta.text)
    assert texts == ["Echo:", " hi", " there"]
    assert block_stop.type == "content_block_stop"
    assert block_stop.index == 0
    assert message_delta.type == "message_delta"
    assert message_delta.delta.stop_reason == "end_turn"
    assert message_delta.delta.stop_sequence is None
    assert message_delta.usage.output_tokens == 3


def test_stream_wire_format(fake: FakeAnthropic) -> None:
    response = httpx.post(
        f"{fake.base_url}/v1/messages",
        headers=RAW_HEADERS,
        json={"model": MODEL, "max_tokens": 50, "messages": user_turn("hi"), "stream": True},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["request-id"].startswith("req_")
    events = sse_events(response.text)

    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(name == data["type"] for name, data in events)
    message = events[0][1]["message"]
    assert set(message) == {
        "id",
        "type",
        "role",
        "model",
        "content",
        "stop_reason",
        "stop_sequence",
        "usage",
    }
    assert message["usage"]["input_tokens"] == 1
    assert message["usage"]["output_tokens"] == 1
    assert events[2][1] == {"type": "ping"}
    assert events[6][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 2},
    }
    assert events[7][1] == {"type": "message_stop"}


def test_every_token_model_reports_cache_reads_and_writes_whole_and_streamed(
    client: anthropic.Anthropic,
) -> None:
    message = client.messages.create(
        model=MODEL_EVERY_TOKEN, max_tokens=1024, system=SYSTEM, messages=MESSAGES
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == EXPECTED_TEXT
    with client.messages.stream(
        model=MODEL_EVERY_TOKEN, max_tokens=1024, system=SYSTEM, messages=MESSAGES
    ) as stream:
        started = next(event for event in stream if event.type == "message_start")
        streamed = stream.get_final_message()
    for usage in (message.usage, started.message.usage, streamed.usage):
        # the words are fresh input; the cached prefix is read and written apart from them
        assert usage.input_tokens == EXPECTED_INPUT_TOKENS
        assert usage.cache_read_input_tokens == EVERY_TOKEN_CACHE_READ
        assert usage.cache_creation_input_tokens == (
            EVERY_TOKEN_CACHE_WRITE_5M + EVERY_TOKEN_CACHE_WRITE_1H
        )
        assert usage.cache_creation is not None
        assert usage.cache_creation.ephemeral_5m_input_tokens == EVERY_TOKEN_CACHE_WRITE_5M
        assert usage.cache_creation.ephemeral_1h_input_tokens == EVERY_TOKEN_CACHE_WRITE_1H
    assert message.usage.output_tokens == streamed.usage.output_tokens == len(EXPECTED_TEXT.split())
