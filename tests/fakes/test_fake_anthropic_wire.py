"""The fake Anthropic upstream must be parseable, field for field, by the official ``anthropic``
SDK, and must reject what the real Messages API rejects."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import Message, MessageParam, ToolParam, ToolUseBlock

from tests.fakes.anthropic_upstream import FakeAnthropic

API_KEY = "sk-ant-test"
MODEL = "claude-haiku-4-5"
SYSTEM = "You are terse."
MESSAGES: list[MessageParam] = [
    {"role": "user", "content": "first question"},
    {"role": "assistant", "content": "first answer"},
    {"role": "user", "content": [{"type": "text", "text": "What is the capital of France today?"}]},
]
QUESTION = "What is the capital of France today?"
EXPECTED_TEXT = "Echo: " + QUESTION
EXPECTED_INPUT_TOKENS = 3 + 2 + 2 + 7
TOOLS: list[ToolParam] = [
    {
        "name": "search",
        "description": "Search the web.",
        "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}},
    },
    {"name": "lookup", "input_schema": {"type": "object", "properties": {}}},
]
RAW_HEADERS = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(slow_seconds=1.0) as server:
        yield server


@pytest.fixture(scope="module")
def client(fake: FakeAnthropic) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=fake.base_url, api_key=API_KEY, max_retries=0) as c:
        yield c


def _create(client: anthropic.Anthropic, **overrides: Any) -> Message:
    kwargs: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 1024,
        "system": SYSTEM,
        "messages": MESSAGES,
    }
    kwargs.update(overrides)
    return client.messages.create(**kwargs)


def _user(text: str = "hi") -> list[MessageParam]:
    return [{"role": "user", "content": text}]


def _sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Parse a complete SSE body into (event name, data) pairs, checking the framing."""
    frames = text.split("\n\n")
    assert frames[-1] == ""
    events = []
    for frame in frames[:-1]:
        event_line, data_line = frame.split("\n")
        assert event_line.startswith("event: ")
        assert data_line.startswith("data: ")
        events.append((event_line[7:], json.loads(data_line[6:])))
    return events


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
    _create(client, metadata={"user_id": "u-1"}, stop_sequences=["zzz"])
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
        json={"model": MODEL, "max_tokens": 5, "messages": _user("ping pong")},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["content"] == [{"type": "text", "text": "Echo: ping pong"}]


def test_system_as_text_blocks_counts_like_a_string(client: anthropic.Anthropic) -> None:
    blocks = _create(client, system=[{"type": "text", "text": "You are terse."}])
    assert blocks.usage.input_tokens == EXPECTED_INPUT_TOKENS
    assert blocks.content[0].type == "text"
    assert blocks.content[0].text == EXPECTED_TEXT


# -- streaming ------------------------------------------------------------------------------------


def test_stream_helper_matches_plain(client: anthropic.Anthropic) -> None:
    plain = _create(client)
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
    events = list(_create(client, messages=_user("hi there"), stream=True))

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
        json={"model": MODEL, "max_tokens": 50, "messages": _user("hi"), "stream": True},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["request-id"].startswith("req_")
    events = _sse_events(response.text)

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


# -- tools ----------------------------------------------------------------------------------------


def _only_tool_use(message: Message) -> ToolUseBlock:
    assert len(message.content) == 1
    block = message.content[0]
    assert isinstance(block, ToolUseBlock)
    return block


def test_tool_use_plain(client: anthropic.Anthropic) -> None:
    message = _create(client, tools=TOOLS)

    assert message.stop_reason == "tool_use"
    block = _only_tool_use(message)
    assert block.type == "tool_use"
    assert re.fullmatch(r"toolu_[0-9a-f]{24}", block.id)
    assert block.name == "search"
    assert block.input == {"query": QUESTION}
    assert message.usage.output_tokens == len(json.dumps(block.input).split())

    again = _create(client, tools=TOOLS)
    assert _only_tool_use(again).id == block.id  # deterministic


def test_tool_choice_named_any_and_none(client: anthropic.Anthropic) -> None:
    named = _create(client, tools=TOOLS, tool_choice={"type": "tool", "name": "lookup"})
    assert _only_tool_use(named).name == "lookup"

    forced = _create(client, tools=TOOLS, tool_choice={"type": "any"})
    assert _only_tool_use(forced).name == "search"

    none = _create(client, tools=TOOLS, tool_choice={"type": "none"})
    assert none.stop_reason == "end_turn"
    assert none.content[0].type == "text"
    assert none.content[0].text == EXPECTED_TEXT


TRIP_TOOL: ToolParam = {
    "name": "Trip",
    "input_schema": {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "stops": {"type": "array", "items": {"$ref": "#/$defs/Stop"}},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["title", "stops", "note"],
        "additionalProperties": False,
        "$defs": {
            "Stop": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "nights": {"type": "integer"}},
            }
        },
    },
}


def test_a_forced_tool_is_called_with_input_its_schema_accepts(client: anthropic.Anthropic) -> None:
    message = _create(client, tools=[TRIP_TOOL], tool_choice={"type": "tool", "name": "Trip"})
    stop = {"city": QUESTION, "nights": len(QUESTION.split())}
    assert _only_tool_use(message).input == {"title": QUESTION, "stops": [stop], "note": QUESTION}


def test_a_forced_choice_still_calls_a_tool_after_a_tool_result(
    client: anthropic.Anthropic,
) -> None:
    first = _only_tool_use(_create(client, tools=TOOLS, tool_choice={"type": "any"}))
    turn: list[MessageParam] = [
        *MESSAGES,
        {"role": "assistant", "content": [first.model_dump()]},  # type: ignore[list-item]
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": first.id}]},
    ]
    tools = [*TOOLS, TRIP_TOOL]
    after_any = _create(client, messages=turn, tools=tools, tool_choice={"type": "any"})
    assert _only_tool_use(after_any).name == "Trip"  # the last tool declared
    named = {"type": "tool", "name": "lookup"}
    assert _only_tool_use(_create(client, messages=turn, tools=tools, tool_choice=named)).name == (
        "lookup"
    )
    assert _create(client, messages=turn, tools=tools).stop_reason == "end_turn"


def test_tool_use_streamed_matches_plain(client: anthropic.Anthropic) -> None:
    plain = _create(client, tools=TOOLS)
    events = list(_create(client, tools=TOOLS, stream=True))

    block_start = events[1]
    assert block_start.type == "content_block_start"
    assert block_start.content_block.type == "tool_use"
    assert block_start.content_block.input == {}
    plain_block = _only_tool_use(plain)
    assert block_start.content_block.id == plain_block.id
    assert block_start.content_block.name == plain_block.name
    partial = [
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert len(partial) > 1
    assert json.loads("".join(partial)) == plain_block.input
    message_delta = events[-2]
    assert message_delta.type == "message_delta"
    assert message_delta.delta.stop_reason == "tool_use"

    with client.messages.stream(
        model=MODEL, max_tokens=1024, system=SYSTEM, messages=MESSAGES, tools=TOOLS
    ) as stream:
        final = stream.get_final_message()
    assert _only_tool_use(final).input == plain_block.input
    assert final.usage.model_dump() == plain.usage.model_dump()


def _tool_turns(tool_use_id: str, result: Any) -> list[MessageParam]:
    return [
        *MESSAGES,
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me search."},
                {
                    "type": "tool_use",
                    "id": tool_use_id,
                    "name": "search",
                    "input": {"query": QUESTION},
                },
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use_id, "content": result}],
        },
    ]


def test_tool_result_turn_is_answered_with_text(client: anthropic.Anthropic) -> None:
    tool_use_id = _only_tool_use(_create(client, tools=TOOLS)).id

    answer = _create(client, tools=TOOLS, messages=_tool_turns(tool_use_id, "Paris, as ever"))
    assert answer.stop_reason == "end_turn"
    assert answer.content[0].type == "text"
    assert answer.content[0].text == "Echo: Paris, as ever"
    # system 3 + history 11 + "Let me search." 3 + tool input JSON 8 + result 3
    assert answer.usage.input_tokens == 3 + 11 + 3 + 8 + 3

    blocks = _create(
        client,
        tools=TOOLS,
        messages=_tool_turns(
            tool_use_id, [{"type": "text", "text": "Paris"}, {"type": "text", "text": "(France)"}]
        ),
    )
    assert blocks.content[0].type == "text"
    assert blocks.content[0].text == "Echo: Paris (France)"

    with client.messages.stream(
        model=MODEL,
        max_tokens=1024,
        messages=_tool_turns(tool_use_id, "Paris, as ever"),
        tools=TOOLS,
    ) as stream:
        assert "".join(stream.text_stream) == "Echo: Paris, as ever"


def test_tool_result_must_answer_previous_tool_use(client: anthropic.Anthropic) -> None:
    turns = _tool_turns("toolu_000000000000000000000001", "Paris")
    turns[-1] = {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_unknown", "content": "Paris"}],
    }
    with pytest.raises(anthropic.BadRequestError) as info:
        _create(client, tools=TOOLS, messages=turns)
    assert info.value.type == "invalid_request_error"
    assert "toolu_unknown" in str(info.value.api_message)

    # and every tool_use must be answered by the next message
    unanswered = [*turns[:-1], {"role": "user", "content": "never mind"}]
    with pytest.raises(anthropic.BadRequestError) as info:
        _create(client, tools=TOOLS, messages=unanswered)
    assert "toolu_000000000000000000000001" in str(info.value.api_message)


# -- content blocks -------------------------------------------------------------------------------


def test_images_echo_as_placeholder(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "compare"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                    },
                    {
                        "type": "image",
                        "source": {"type": "url", "url": "https://example.com/cat.jpg"},
                    },
                    {"type": "text", "text": "please"},
                ],
            }
        ],
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Echo: compare [image] [image] please"
    assert message.usage.input_tokens == 4


def test_bad_image_media_type_is_rejected(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(
            model=MODEL,
            max_tokens=10,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/bmp",  # type: ignore[typeddict-item]
                                "data": PNG_B64,
                            },
                        }
                    ],
                }
            ],
        )
    assert "media_type" in str(info.value.api_message)


# -- max_tokens and stop sequences ----------------------------------------------------------------


def test_max_tokens_truncates(client: anthropic.Anthropic) -> None:
    message = _create(client, max_tokens=3)
    assert message.stop_reason == "max_tokens"
    assert message.stop_sequence is None
    assert message.content[0].type == "text"
    assert message.content[0].text == "Echo: What is"
    assert message.usage.output_tokens == 3

    with client.messages.stream(
        model=MODEL, max_tokens=3, system=SYSTEM, messages=MESSAGES
    ) as stream:
        assert "".join(stream.text_stream) == "Echo: What is"
        assert stream.get_final_message().stop_reason == "max_tokens"

    roomy = _create(client, max_tokens=100)
    assert roomy.stop_reason == "end_turn"


def test_stop_sequences_cut_the_reply(client: anthropic.Anthropic) -> None:
    message = _create(client, stop_sequences=["France", "capital"])
    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == "capital"
    assert message.content[0].type == "text"
    assert message.content[0].text == "Echo: What is the "
    assert message.usage.output_tokens == 4

    with client.messages.stream(
        model=MODEL, max_tokens=100, system=SYSTEM, messages=MESSAGES, stop_sequences=["capital"]
    ) as stream:
        assert "".join(stream.text_stream) == "Echo: What is the "
        final = stream.get_final_message()
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "capital")

    absent = _create(client, stop_sequences=["Berlin"])
    assert (absent.stop_reason, absent.stop_sequence) == ("end_turn", None)


# -- validation errors ----------------------------------------------------------------------------


def test_missing_max_tokens_is_400(fake: FakeAnthropic) -> None:
    response = httpx.post(
        f"{fake.base_url}/v1/messages",
        headers=RAW_HEADERS,
        json={"model": MODEL, "messages": _user()},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }
    assert body["request_id"] == response.headers["request-id"]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": "10"}, "max_tokens"),
        ({"model": None}, "model"),
        ({"messages": []}, "messages"),
        ({"temperature": 1.5}, "temperature"),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "role"),
        ({"messages": [{"role": "user", "content": ""}]}, "non-empty"),
        ({"tools": [{"name": "t", "input_schema": {"type": "string"}}]}, "input_schema"),
        ({"tools": [{"name": "t"}]}, "input_schema"),
        ({"tools": [{"name": "bad name!", "input_schema": {"type": "object"}}]}, "name"),
        ({"stop_sequences": ["  "]}, "stop_sequences"),
    ],
)
def test_invalid_requests_are_400(
    fake: FakeAnthropic, payload: dict[str, Any], fragment: str
) -> None:
    body = {"model": MODEL, "max_tokens": 10, "messages": _user(), **payload}
    body = {k: v for k, v in body.items() if v is not None}
    response = httpx.post(f"{fake.base_url}/v1/messages", headers=RAW_HEADERS, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert fragment in error["message"]


def test_system_role_in_messages_is_400(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(
            model=MODEL,
            max_tokens=10,
            messages=[
                {"role": "system", "content": "be nice"},  # type: ignore[typeddict-item]
                {"role": "user", "content": "hi"},
            ],
        )
    assert info.value.status_code == 400
    assert info.value.type == "invalid_request_error"
    assert "top-level `system` parameter" in str(info.value.api_message)


def test_user_citations_rejected_on_new_api_version(client: anthropic.Anthropic) -> None:
    citation = {
        "type": "char_location",
        "cited_text": "x",
        "document_index": 0,
        "document_title": None,
        "start_char_index": 0,
        "end_char_index": 1,
    }
    content: Any = [{"type": "text", "text": "hi", "citations": [citation]}]
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(
            model=MODEL, max_tokens=10, messages=[{"role": "user", "content": content}]
        )
    assert "citations" in str(info.value.api_message)


def test_first_message_must_be_user(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(
            model=MODEL, max_tokens=10, messages=[{"role": "assistant", "content": "hello"}]
        )
    assert '"user"' in str(info.value.api_message)


def test_sampling_parameters_depend_on_api_version(
    fake: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    # anthropic 2.x pins API version 2026-10-21, which rejects sampling parameters at any value
    with pytest.raises(anthropic.BadRequestError) as info:
        _create(client, extra_body={"temperature": 1.0})
    assert info.value.api_message == "temperature: Extra inputs are not permitted"

    # on 2023-06-01 they are accepted within range
    legacy = client.with_options(default_headers={"anthropic-version": "2023-06-01"})
    ok = _create(legacy, extra_body={"temperature": 0.2, "top_p": 0.9, "top_k": 5})
    assert ok.content[0].type == "text"
    assert ok.content[0].text == EXPECTED_TEXT
    with pytest.raises(anthropic.BadRequestError) as info:
        _create(legacy, extra_body={"temperature": 1.2})
    assert info.value.api_message == "temperature: range: 0..1"


def test_missing_auth_and_version(fake: FakeAnthropic) -> None:
    url = f"{fake.base_url}/v1/messages"
    body = {"model": MODEL, "max_tokens": 10, "messages": _user()}
    no_key = httpx.post(url, headers={"anthropic-version": "2023-06-01"}, json=body)
    assert no_key.status_code == 401
    assert no_key.json()["error"]["type"] == "authentication_error"
    assert no_key.headers["request-id"].startswith("req_")

    no_version = httpx.post(url, headers={"x-api-key": API_KEY}, json=body)
    assert no_version.status_code == 400
    assert "anthropic-version" in no_version.json()["error"]["message"]

    not_json = httpx.post(url, headers=RAW_HEADERS, content=b"{nope")
    assert not_json.status_code == 400
    assert not_json.json()["error"]["type"] == "invalid_request_error"


def test_wrong_key_with_expected_key() -> None:
    with FakeAnthropic(expected_key="sk-right") as strict:
        bad = anthropic.Anthropic(base_url=strict.base_url, api_key="sk-wrong", max_retries=0)
        with pytest.raises(anthropic.AuthenticationError) as info:
            bad.models.list()
        assert info.value.type == "authentication_error"
        assert "sk-wrong" not in info.value.response.text

        good = anthropic.Anthropic(base_url=strict.base_url, api_key="sk-right", max_retries=0)
        assert good.models.list().data
        via_header = httpx.get(
            f"{strict.base_url}/v1/models",
            headers={"x-api-key": "sk-right", "anthropic-version": "2023-06-01"},
        )
        assert via_header.status_code == 200


# -- special models -------------------------------------------------------------------------------


def test_overloaded_529(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.InternalServerError) as info:
        client.messages.create(model="fake-overloaded", max_tokens=10, messages=_user())
    assert isinstance(info.value, anthropic.OverloadedError)  # the SDK's class for 529
    assert info.value.status_code == 529
    assert info.value.type == "overloaded_error"
    assert info.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
        "request_id": info.value.request_id,
    }


def test_rate_limited_429(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.RateLimitError) as info:
        client.messages.create(model="fake-rate-limited", max_tokens=10, messages=_user())
    assert info.value.status_code == 429
    assert info.value.type == "rate_limit_error"
    assert info.value.response.headers["retry-after"] == "7"
    assert info.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"


def test_error_500(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.InternalServerError) as info:
        client.messages.create(model="fake-error-500", max_tokens=10, messages=_user())
    assert info.value.status_code == 500
    assert info.value.type == "api_error"


def test_stream_error_event_raises(client: anthropic.Anthropic, fake: FakeAnthropic) -> None:
    stream = client.messages.create(
        model="fake-stream-error", max_tokens=10, messages=_user(), stream=True
    )
    iterator = iter(stream)
    assert next(iterator).type == "message_start"
    with pytest.raises(anthropic.APIStatusError) as info:
        next(iterator)
    assert info.value.type == "overloaded_error"

    with (
        pytest.raises(anthropic.APIStatusError),
        client.messages.stream(
            model="fake-stream-error", max_tokens=10, messages=_user()
        ) as helper,
    ):
        helper.get_final_message()

    wire = httpx.post(
        f"{fake.base_url}/v1/messages",
        headers=RAW_HEADERS,
        json={"model": "fake-stream-error", "max_tokens": 10, "messages": _user(), "stream": True},
    )
    assert [name for name, _ in _sse_events(wire.text)] == ["message_start", "error"]


def test_slow_model_times_out(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.APITimeoutError):
        client.with_options(timeout=0.3).messages.create(
            model="fake-slow", max_tokens=10, messages=_user()
        )


def test_cached_model_reports_cache_reads(client: anthropic.Anthropic) -> None:
    message = _create(client, model="fake-cached")
    assert message.usage.cache_read_input_tokens == 5
    assert message.usage.cache_creation_input_tokens == 0
    assert message.usage.input_tokens == EXPECTED_INPUT_TOKENS - 5

    with client.messages.stream(
        model="fake-cached", max_tokens=1024, system=SYSTEM, messages=MESSAGES
    ) as stream:
        final = stream.get_final_message()
    assert final.usage.model_dump() == message.usage.model_dump()


# -- count_tokens and models ----------------------------------------------------------------------


def test_count_tokens_matches_usage(client: anthropic.Anthropic) -> None:
    counted = client.messages.count_tokens(model=MODEL, system=SYSTEM, messages=MESSAGES)
    assert counted.input_tokens == EXPECTED_INPUT_TOKENS
    assert counted.input_tokens == _create(client).usage.input_tokens


def test_models_list_and_retrieve(client: anthropic.Anthropic) -> None:
    models = list(client.models.list())
    ids = [m.id for m in models]
    assert set(ids) == {"claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"}
    assert all(m.type == "model" and m.display_name.startswith("Claude ") for m in models)
    assert all(m.created_at.year == 2025 for m in models)

    page = client.models.list(limit=2)
    assert page.has_more is True
    assert [m.id for m in page.data] == ids[:2]
    assert page.first_id == ids[0]
    assert page.last_id == ids[1]
    assert [m.id for m in page.get_next_page().data] == ids[2:]

    assert client.models.retrieve("claude-opus-4-1").display_name == "Claude Opus 4.1"
    with pytest.raises(anthropic.NotFoundError) as info:
        client.models.retrieve("claude-nope")
    assert info.value.type == "not_found_error"


# -- async usage ----------------------------------------------------------------------------------


async def test_async_context_manager_and_client() -> None:
    async with FakeAnthropic() as server:
        async with anthropic.AsyncAnthropic(
            base_url=server.base_url, api_key=API_KEY, max_retries=0
        ) as aclient:
            message = await aclient.messages.create(
                model=MODEL, max_tokens=10, messages=_user("async hello")
            )
        assert message.content[0].type == "text"
        assert message.content[0].text == "Echo: async hello"
        assert len(server.requests) == 1
    assert not server.running


def test_error_400_and_404(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as invalid:
        client.messages.create(model="fake-error-400", max_tokens=10, messages=_user())
    assert invalid.value.type == "invalid_request_error"
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(model="fake-error-404", max_tokens=10, messages=_user())
    assert missing.value.type == "not_found_error"
    assert "model: fake-error-404" in missing.value.message
