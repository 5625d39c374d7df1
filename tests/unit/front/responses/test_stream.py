"""A chat stream becomes the Responses event sequence: its items, their deltas and endings, the
usage on the last event, an incomplete or failed ending; the official SDK's stream helpers
assemble it."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, cast

import httpx2
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.providers.stream_relay import openai_sse_cut
from domains.providers.ports import Usage
from interfaces.http.responses.translate_stream import (
    ChatChunksToResponseEvents,
    chat_sse_to_response_events,
    encode_event,
)
from tests.support import openai_spec
from tests.unit.front.responses.strategies import near_chunks, words
from tests.unit.front.responses.support import (
    REALISTIC,
    REQUEST,
    USAGE_CHUNK,
    assert_valid_sequence,
    chunk,
    piece,
    sse_events,
)


def translate(chunks: list[Any], request: dict[str, Any] = REQUEST) -> list[dict[str, Any]]:
    translator = ChatChunksToResponseEvents(
        request, response_id="resp_1", created_at=1_700_000_000, model="gpt-x"
    )
    events = [event for c in chunks for event in translator.feed(c)]
    return events + translator.finish()


def sdk_client(sse: bytes) -> openai.OpenAI:
    def handle(request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/v1/responses"
        return httpx2.Response(200, content=sse, headers={"content-type": "text/event-stream"})

    return openai.OpenAI(
        api_key="sk-test",
        base_url="http://gateway.test/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handle)),
    )


def test_a_text_and_tool_call_answer_gives_the_exact_event_sequence() -> None:
    events = translate(REALISTIC)
    assert_valid_sequence(events)
    assert [event["type"] for event in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 3,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * 2,
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    final = events[-1]["response"]
    assert final["status"] == "completed"
    assert final["model"] == "gpt-x-2025"  # as the upstream named it
    assert final["usage"] == {
        "input_tokens": 50,
        "input_tokens_details": {"cached_tokens": 8, "cache_write_tokens": 0},
        "output_tokens": 12,
        "output_tokens_details": {"reasoning_tokens": 4},
        "total_tokens": 62,
    }
    message, call = final["output"]
    assert message["content"][0]["text"] == "Let me check the weather."
    assert (call["call_id"], call["name"], call["arguments"]) == (
        "call_abc",
        "weather",
        '{"city": "Paris"}',
    )


def test_the_sdk_stream_helper_assembles_the_events() -> None:
    sse = b"".join(encode_event(event) for event in translate(REALISTIC))
    client = sdk_client(sse)
    texts: list[str] = []
    arguments: list[str] = []
    with client.responses.stream(model="gpt-x", input="Weather in Paris?") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                texts.append(event.snapshot)
            elif event.type == "response.function_call_arguments.delta":
                arguments.append(event.snapshot)
        final = stream.get_final_response()
    assert texts[-1] == "Let me check the weather."
    assert arguments[-1] == '{"city": "Paris"}'
    assert final.id == "resp_1"
    assert final.status == "completed"
    assert final.output_text == "Let me check the weather."
    assert final.usage is not None
    assert final.usage.input_tokens_details.cached_tokens == 8
    assert final.usage.output_tokens_details.reasoning_tokens == 4
    call = final.output[1]
    assert call.type == "function_call"
    assert call.call_id == "call_abc"


def test_parallel_tool_calls_are_items_one_after_the_other() -> None:
    events = translate(
        [
            piece("", index=0, id="call_1", name="weather"),
            piece('{"city":"Paris"}', index=0),
            piece("", index=1, id="call_2", name="weather"),
            piece('{"city":"Rome"}', index=1),
            piece("late", index=0),  # the first call's item is done: dropped
            chunk({}, "tool_calls"),
            USAGE_CHUNK,
        ]
    )
    assert_valid_sequence(events)
    calls = events[-1]["response"]["output"]
    assert [(c["call_id"], c["arguments"]) for c in calls] == [
        ("call_1", '{"city":"Paris"}'),
        ("call_2", '{"city":"Rome"}'),
    ]


def test_a_refusal_streams_as_a_refusal_part() -> None:
    events = translate([chunk({"refusal": "I can"}), chunk({"refusal": "not."}), chunk({}, "stop")])
    assert_valid_sequence(events)
    kinds = [event["type"] for event in events]
    assert kinds.count("response.refusal.delta") == 2
    assert "response.refusal.done" in kinds
    [message] = events[-1]["response"]["output"]
    assert message["content"] == [{"type": "refusal", "refusal": "I cannot."}]


def test_an_answer_cut_at_its_length_ends_incomplete() -> None:
    cut = openai_sse_cut("chatcmpl-1", "gpt-x", 1, include_usage=True)(
        Usage(input_tokens=9, output_tokens=3)
    )
    chunks = [chunk({"content": "one two three"})]
    events = translate(chunks + _parsed(cut))
    assert_valid_sequence(events)
    last = events[-1]
    assert last["type"] == "response.incomplete"
    assert last["response"]["status"] == "incomplete"
    assert last["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert last["response"]["usage"]["output_tokens"] == 3
    assert last["response"]["output"][0]["status"] == "incomplete"


def test_an_upstream_error_mid_stream_ends_failed() -> None:
    error = {
        "error": {"message": "upstream timed out", "type": "timeout", "code": "upstream_timeout"}
    }
    events = translate([chunk({"content": "par"}), error])
    assert_valid_sequence(events)
    failed = events[-1]
    assert failed["type"] == "response.failed"
    assert failed["response"]["status"] == "failed"
    assert failed["response"]["error"] == {"code": "server_error", "message": "upstream timed out"}
    assert failed["response"]["output"][0]["content"][0]["text"] == "par"
    limited = translate([{"error": {"message": "slow down", "type": "rate_limit_error"}}])
    assert limited[-1]["response"]["error"]["code"] == "rate_limit_exceeded"


def test_a_stream_without_usage_or_finish_still_ends() -> None:
    events = translate([chunk({"content": "hi"})])
    assert_valid_sequence(events)
    assert events[-1]["type"] == "response.completed"
    assert "usage" not in events[-1]["response"]
    assert_valid_sequence(translate([]))


def _parsed(sse: bytes) -> list[Any]:
    return [
        json.loads(line[6:])
        for line in sse.split(b"\n")
        if line.startswith(b"data: ") and line != b"data: [DONE]"
    ]


async def _chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_the_sse_translation_tells_the_final_response_before_its_last_event() -> None:
    sse = b"".join(b"data: " + encode(c) + b"\n\n" for c in REALISTIC) + b"data: [DONE]\n\n"
    told: list[dict[str, Any]] = []
    received: list[bytes] = []
    stream = chat_sse_to_response_events(
        _chunks([sse[:37], sse[37:500], sse[500:]]),
        REQUEST,
        response_id="resp_1",
        created_at=1,
        model="gpt-x",
        on_done=told.append,
    )
    async for out in stream:
        if b"response.completed" in out:
            assert len(told) == 1  # told before the client sees the end
        received.append(out)
    [final] = told
    assert final["status"] == "completed"
    assert final["output"][0]["content"][0]["text"] == "Let me check the weather."
    assert b"".join(received).count(b"event: response.completed\n") == 1


async def test_a_stream_the_client_leaves_is_told_cancelled() -> None:
    sse = b"data: " + encode(chunk({"content": "partial"})) + b"\n\n"
    told: list[dict[str, Any]] = []
    stream = chat_sse_to_response_events(
        _chunks([sse, sse]),
        REQUEST,
        response_id="resp_1",
        created_at=1,
        model="m",
        on_done=told.append,
    )
    generator = cast(AsyncGenerator[bytes, None], stream)
    await anext(generator)
    await generator.aclose()
    [final] = told
    assert final["status"] == "cancelled"
    assert final["output"][0]["status"] == "incomplete"


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(near_chunks, max_size=10))
def test_any_chunk_sequence_gives_a_valid_event_sequence(chunks: list[Any]) -> None:
    events = translate(chunks)
    assert_valid_sequence(events)
    sse = b"".join(encode_event(event) for event in events)
    openai_spec.validate_stream(sse_events(sse), openai_spec.RESPONSE_EVENTS)


@pytest.mark.parametrize(
    "ending",
    [[chunk({}, "tool_calls"), USAGE_CHUNK], [chunk({}, "length")], [{"error": {"message": "x"}}]],
)
def test_every_event_is_what_openais_document_allows(ending: list[Any]) -> None:
    events = translate([*REALISTIC[:-2], chunk({"refusal": "no"}), *ending])
    sse = b"".join(encode_event(event) for event in events)
    openai_spec.validate_stream(sse_events(sse), openai_spec.RESPONSE_EVENTS)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(words, min_size=1, max_size=6), st.lists(words, max_size=6))
def test_streamed_text_and_arguments_reassemble_in_the_sdk(
    texts: list[str], argument_pieces: list[str]
) -> None:
    chunks = [chunk({"content": t}) for t in texts]
    if argument_pieces:
        chunks.append(piece(argument_pieces[0], id="call_1", name="f"))
        chunks += [piece(p) for p in argument_pieces[1:]]
    chunks += [chunk({}, "stop"), USAGE_CHUNK]
    sse = b"".join(encode_event(event) for event in translate(chunks))
    with sdk_client(sse).responses.stream(model="gpt-x", input="x") as stream:
        final = stream.get_final_response()
    assert final.output_text == "".join(texts)
    calls = [item for item in final.output if item.type == "function_call"]
    assert [call.arguments for call in calls] == (
        ["".join(argument_pieces)] if argument_pieces else []
    )


@pytest.mark.parametrize("status", ["incomplete", "failed"])
def test_the_sdk_reads_an_incomplete_or_failed_stream(status: str) -> None:
    ending = chunk({}, "length") if status == "incomplete" else {"error": {"message": "boom"}}
    sse = b"".join(encode_event(e) for e in translate([chunk({"content": "a"}), ending]))
    with sdk_client(sse).responses.create(model="gpt-x", input="x", stream=True) as stream:
        last = list(stream)[-1]
    assert last.type in ("response.incomplete", "response.failed")
    assert last.type == f"response.{status}"
    assert last.response.status == status
