"""The OpenAI adapter's native Responses lane against the fake OpenAI upstream: a body passes as
it is to `/v1/responses`, the usage is read from the Responses shape (cached and reasoning tokens
included),
a stream is relayed untouched while its usage and output are read, a failure in it is the
gateway's error once the events before it are passed on, and a stream past its reservation
passes on nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest

from domains.providers.errors import UpstreamError
from domains.providers.ports import NativeDialects, Usage
from domains.providers.upstream_failures import Condition
from infrastructure.adapters.providers.openai import OpenAIAdapter
from infrastructure.adapters.providers.openai_responses import failure_of, usage_of_response
from infrastructure.adapters.providers.sse import SseSplitter, event_fields
from infrastructure.adapters.providers.upstream_http import UpstreamHttp, UpstreamTimeouts
from tests.fakes.openai_upstream import CACHED_INPUT_TOKENS, REASONING_TOKENS, FakeOpenAI

KEY = "sk-test"


@pytest.fixture(scope="module")
def fake() -> AsyncIterator[FakeOpenAI]:
    with FakeOpenAI(KEY, slow_seconds=1.0) as server:
        yield server  # type: ignore[misc]


def adapter(fake: FakeOpenAI, *, native: bool = True) -> OpenAIAdapter:
    http = UpstreamHttp(
        "openai", timeouts=UpstreamTimeouts(), max_connections=4, redact=lambda text: text
    )
    return OpenAIAdapter(http, base_url=fake.base_url, api_key=KEY, native_responses=native)


def events_of(data: bytes) -> list[dict[str, object]]:
    out = []
    for event in SseSplitter().feed(data):
        _, payload = event_fields(event)
        if payload is not None:
            out.append(msgspec.json.decode(payload))
    return out


async def test_only_openai_itself_takes_responses_bodies(fake: FakeOpenAI) -> None:
    openai_itself, compatible = adapter(fake), adapter(fake, native=False)
    assert isinstance(openai_itself, NativeDialects)
    # both take legacy text completions as they are
    assert openai_itself.native_kinds == frozenset({"responses", "completions"})
    assert compatible.native_kinds == frozenset({"completions"})
    with pytest.raises(LookupError):
        await compatible.native("responses", {"input": "hi"}, "gpt-4o", {})
    await openai_itself.close()
    await compatible.close()


async def test_a_body_passes_as_it_is_and_its_usage_is_read(fake: FakeOpenAI) -> None:
    client = adapter(fake)
    body = {"model": "alias", "input": "one two three", "max_output_tokens": 3, "store": False}
    reply = await client.native("responses", body, "fake-cached", {})
    await client.close()
    sent = fake.requests[-1]
    assert sent.path == "/v1/responses"
    assert sent.json["model"] == "fake-cached"
    assert sent.json["max_output_tokens"] == 16  # OpenAI's least
    assert sent.json["store"] is False
    answer = msgspec.json.decode(reply.body)
    assert answer["object"] == "response"
    cached = min(CACHED_INPUT_TOKENS, 3)  # of the 3 input tokens
    assert reply.usage == Usage(input_tokens=3, output_tokens=4, cached_tokens=cached)


async def test_a_stream_is_relayed_untouched_while_its_usage_is_read(fake: FakeOpenAI) -> None:
    client = adapter(fake)
    stream = await client.open_native_stream("responses", {"input": "one two"}, "gpt-4o", {})
    relayed = b"".join([chunk async for chunk in stream])
    await stream.aclose()
    await client.close()
    events = events_of(relayed)
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    assert events[-1]["type"] == "response.completed"
    assert stream.tally.finished
    assert stream.tally.usage == Usage(input_tokens=2, output_tokens=3)
    assert stream.tally.output_chars == len("Echo: one two")


async def test_the_reasoning_and_cached_tokens_an_answer_reports_are_read(
    fake: FakeOpenAI,
) -> None:
    client = adapter(fake)
    body = {"input": "one two three"}
    reply = await client.native("responses", body, "fake-cached-reasoning", {})
    stream = await client.open_native_stream(
        "responses", {**body, "stream": True}, "fake-cached-reasoning", {}
    )
    async for _ in stream:
        pass
    await stream.aclose()
    await client.close()
    # the answer's own counts, reasoning included in the output
    answer = msgspec.json.decode(reply.body)["usage"]
    assert answer["output_tokens_details"]["reasoning_tokens"] == REASONING_TOKENS
    expected = Usage(
        input_tokens=3,
        output_tokens=4 + REASONING_TOKENS,
        cached_tokens=min(CACHED_INPUT_TOKENS, 3),
        reasoning_tokens=REASONING_TOKENS,
    )
    assert reply.usage == expected
    assert stream.tally.usage == expected


async def test_a_failure_in_the_stream_is_raised_after_the_events_before_it(
    fake: FakeOpenAI,
) -> None:
    client = adapter(fake)
    stream = await client.open_native_stream("responses", {"input": "hi"}, "fake-stream-error", {})
    relayed: list[bytes] = []

    async def drain() -> None:
        async for chunk in stream:
            relayed.append(chunk)

    with pytest.raises(UpstreamError) as caught:
        await drain()
    await stream.aclose()
    await client.close()
    assert caught.value.condition is Condition.SERVER_ERROR
    kinds = [event["type"] for event in events_of(b"".join(relayed))]
    assert kinds[-1] == "response.output_text.delta"
    assert "error" not in kinds
    assert not stream.tally.finished


async def test_a_stream_past_its_reservation_passes_nothing_more(fake: FakeOpenAI) -> None:
    client = adapter(fake)
    stream = await client.open_native_stream("responses", {"input": "x"}, "fake-runaway", {})
    stream.tally.most_chars = 50
    relayed = b""
    async for chunk in stream:
        relayed += chunk
        if stream.tally.output_chars > stream.tally.most_chars:
            break
    await stream.aclose()
    await client.close()
    deltas = [e for e in events_of(relayed) if e["type"] == "response.output_text.delta"]
    assert sum(len(str(e["delta"])) for e in deltas) == stream.tally.output_chars
    assert stream.tally.output_chars - len(str(deltas[-1]["delta"])) <= 50


def test_usage_and_failures_are_read_from_the_responses_shape() -> None:
    body = (
        b'{"usage": {"input_tokens": 10, "output_tokens": 4,'
        b' "input_tokens_details": {"cached_tokens": 6},'
        b' "output_tokens_details": {"reasoning_tokens": 3}}}'
    )
    assert usage_of_response(body) == Usage(
        input_tokens=10, output_tokens=4, cached_tokens=6, reasoning_tokens=3
    )
    assert usage_of_response(b"not json") is None
    flat = b'{"type":"error","code":"rate_limit_exceeded","message":"slow","param":null}'
    nested = (
        b'{"type":"error","error":{"type":"invalid_request_error","code":"invalid_image",'
        b'"message":"bad"}}'
    )
    failed = (
        b'{"type":"response.failed","response":{"error":{"code":"server_error","message":"x"}}}'
    )
    assert [
        failure_of(name, data).condition
        for name, data in (("error", flat), ("error", nested), ("response.failed", failed))
    ] == [  # type: ignore[union-attr]
        Condition.RATE_LIMITED,
        Condition.INVALID_REQUEST,
        Condition.SERVER_ERROR,
    ]
    assert (
        failure_of("response.output_text.delta", b'{"type":"response.output_text.delta"}') is None
    )
