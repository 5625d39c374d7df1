"""The completion pipeline with fakes on every side (an upstream client, the admission, the
recorder): a call is admitted before it goes upstream, its ticket is settled or released exactly
once, and its record is written exactly once, however it ends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from application.providers.completions.admit import CallAdmission
from application.providers.completions.pipeline import CompletionPipeline
from application.providers.completions.request import (
    CompletionRequest,
    Dialect,
    Withdrawn,
)
from application.providers.completions.upstream import ProviderCalls
from domains.providers.admission import Estimate, Ticket
from domains.providers.errors import ModelNotAllowed, UpstreamError
from domains.providers.events import CompletionFinished
from domains.providers.model import Catalog, ModelRoute
from domains.providers.ports import StreamTally, UpstreamReply, Usage
from domains.providers.upstream_failures import Condition
from domains.shared.caller import Caller
from domains.shared.errors import LimitExceeded

ROUTE = ModelRoute(provider="openai", kind="openai", name="gpt-4o-mini", upstream="gpt-4o-mini")
CALLER = Caller(key_id="k1", key_prefix="fr-abcdefgh", team_id="t1", org_id="o1")
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
RATE = {"x-ratelimit-remaining-requests": "9"}
REPLY = b'{"id":"chatcmpl-1"}'
CHUNKS = [b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n', b"data: [DONE]\n\n"]


@dataclass
class FakeTicket:
    headers: Mapping[str, str] = field(default_factory=lambda: dict(RATE))
    reserved: tuple[int, int] | None = None
    settled: list[tuple[int, int, int]] = field(default_factory=list)
    released: int = 0

    def settle(self, usage: Usage) -> None:
        self.settled.append((usage.input_tokens, usage.output_tokens, usage.cached_tokens))

    def release(self) -> None:
        self.released += 1

    @property
    def ends(self) -> int:
        """How many times the ticket was settled or released: exactly once, always."""
        return len(self.settled) + self.released


@dataclass
class FakeAdmission:
    refuse: bool = False
    tickets: list[FakeTicket] = field(default_factory=list)
    asked: list[tuple[str, str]] = field(default_factory=list)
    estimates: list[tuple[int, int]] = field(default_factory=list)
    reserve: tuple[int, int] | None = None

    async def admit(self, caller: Caller, provider: str, model: str, estimate: Estimate) -> Ticket:
        self.asked.append((provider, model))
        self.estimates.append(estimate())
        if self.refuse:
            raise LimitExceeded(
                "Rate limit reached.", code="rate_limit_exceeded", error_type="requests"
            )
        ticket = FakeTicket(reserved=self.reserve)
        self.tickets.append(ticket)
        return ticket


class FakeStream:
    def __init__(self, chunks: list[bytes], usage: Usage | None) -> None:
        self.tally = StreamTally()
        self._chunks = chunks
        self._usage = usage
        self.closed = 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._read()

    async def _read(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            self.tally.output_chars += len(chunk)
            yield chunk
        self.tally.usage, self.tally.finished = self._usage, True

    async def aclose(self) -> None:
        self.closed += 1


@dataclass
class FakeClient:
    fail: UpstreamError | None = None
    bodies: list[dict[str, Any]] = field(default_factory=list)
    streams: list[FakeStream] = field(default_factory=list)

    async def chat(self, body: dict[str, Any], upstream_model: str) -> UpstreamReply:
        self.bodies.append(body)
        if self.fail is not None:
            raise self.fail
        return UpstreamReply(body=REPLY, usage=Usage(input_tokens=7, output_tokens=3))

    async def open_chat_stream(
        self, body: dict[str, Any], upstream_model: str, *, include_usage: bool
    ) -> FakeStream:
        self.bodies.append(body)
        if self.fail is not None:
            raise self.fail
        stream = FakeStream(CHUNKS, Usage(input_tokens=7, output_tokens=2))
        self.streams.append(stream)
        return stream

    async def embeddings(self, body: dict[str, Any], upstream_model: str) -> UpstreamReply:
        self.bodies.append(body)
        return UpstreamReply(body=b'{"data":[]}', usage=Usage(input_tokens=4))

    async def list_models(self) -> list[str]:
        return []

    async def close(self) -> None:
        return None


@dataclass
class FakeRecorder:
    events: list[CompletionFinished] = field(default_factory=list)

    def record(self, event: CompletionFinished) -> None:
        self.events.append(event)


async def _room() -> None:
    return None


@dataclass
class World:
    admission: FakeAdmission = field(default_factory=FakeAdmission)
    client: FakeClient = field(default_factory=FakeClient)
    recorder: FakeRecorder = field(default_factory=FakeRecorder)

    @property
    def pipeline(self) -> CompletionPipeline:
        return CompletionPipeline(
            Catalog([ROUTE]),
            CallAdmission(_room, admission=self.admission),
            ProviderCalls({"openai": self.client}),  # type: ignore[dict-item]
            self.recorder,
        )

    @property
    def ticket(self) -> FakeTicket:
        (ticket,) = self.admission.tickets
        return ticket


ROUTED = {
    "x-fluxrouter-provider": "openai",
    "x-fluxrouter-model": "gpt-4o-mini",
    "x-fluxrouter-route": "only openai/gpt-4o-mini",
}


def request(**fields: Any) -> CompletionRequest:
    return CompletionRequest(
        caller=CALLER, request_id="req-1", model="gpt-4o-mini", body=BODY, **fields
    )


async def test_a_plain_call_is_admitted_called_settled_and_recorded_once() -> None:
    world = World()
    answer = await world.pipeline.complete(request())
    assert answer.body == REPLY
    assert answer.chunks is None
    assert dict(answer.headers) == {  # the admission's headers reach the answer, and the route
        **RATE,
        "x-fluxrouter-provider": "openai",
        "x-fluxrouter-model": "gpt-4o-mini",
        "x-fluxrouter-route": "only openai/gpt-4o-mini",
    }
    assert answer.route is ROUTE
    assert world.admission.asked == [("openai", "gpt-4o-mini")]
    assert world.client.bodies == [BODY]
    assert world.ticket.settled == [(7, 3, 0)]
    assert world.ticket.released == 0
    (event,) = world.recorder.events
    assert (event.status, event.outcome, event.stream, event.endpoint) == (200, "ok", False, "chat")
    assert (event.input_tokens, event.output_tokens, event.request_id) == (7, 3, "req-1")


async def test_a_stream_settles_and_records_once_when_it_ends() -> None:
    world = World()
    answer = await world.pipeline.complete(request(stream=True, include_usage=True))
    assert answer.chunks is not None
    assert dict(answer.headers) == {**RATE, **ROUTED}
    assert world.ticket.ends == 0
    assert world.recorder.events == []
    assert [chunk async for chunk in answer.chunks] == CHUNKS
    assert world.ticket.settled == [(7, 2, 0)]
    assert world.ticket.ends == 1
    (event,) = world.recorder.events
    assert (event.status, event.outcome, event.stream) == (200, "ok", True)
    assert world.client.streams[0].closed >= 1


async def test_a_stream_the_client_leaves_settles_and_records_once_as_cancelled() -> None:
    world = World()
    answer = await world.pipeline.complete(request(stream=True))
    chunks = answer.chunks
    assert chunks is not None
    iterator = aiter(chunks)
    assert await anext(iterator) == CHUNKS[0]
    await chunks.aclose()  # type: ignore[attr-defined]  # the client went away
    assert world.ticket.ends == 1
    assert world.ticket.released == 0
    (event,) = world.recorder.events
    assert event.outcome == "cancelled"
    assert event.output_tokens > 0
    assert not event.usage_reported
    assert world.client.streams[0].closed >= 1


async def test_a_refused_admission_calls_no_upstream_and_records_nothing() -> None:
    world = World(admission=FakeAdmission(refuse=True))
    with pytest.raises(LimitExceeded):
        await world.pipeline.complete(request())
    with pytest.raises(LimitExceeded):
        await world.pipeline.complete(request(stream=True))
    assert world.client.bodies == []
    assert world.recorder.events == []
    assert world.admission.tickets == []


async def test_a_model_the_key_may_not_use_is_refused_before_admission() -> None:
    world = World()
    caller = Caller(key_id="k1", key_prefix="fr-x", team_id="t1", org_id="o1", models=("other",))
    with pytest.raises(ModelNotAllowed):
        await world.pipeline.complete(
            CompletionRequest(caller=caller, request_id="r", model="gpt-4o-mini", body=BODY)
        )
    assert world.admission.asked == []
    assert world.client.bodies == []


@pytest.mark.parametrize("stream", [False, True])
async def test_an_upstream_429_releases_the_ticket_records_the_error_and_is_the_callers_429(
    stream: bool,
) -> None:
    limited = UpstreamError(Condition.RATE_LIMITED, "Slow down.", retry_after="3")
    world = World(client=FakeClient(fail=limited))
    with pytest.raises(UpstreamError) as raised:
        await world.pipeline.complete(request(stream=stream))
    assert raised.value.status == 429
    assert raised.value.code == "rate_limit_exceeded"
    assert raised.value.retry_after == "3"
    assert world.ticket.released == 1
    assert world.ticket.settled == []
    (event,) = world.recorder.events
    assert (event.status, event.outcome, event.stream) == (429, "error", stream)


async def test_a_request_withdrawn_once_admitted_gives_its_ticket_back_and_calls_nothing() -> None:
    world = World()
    told: list[Mapping[str, str]] = []

    def admitted(headers: Mapping[str, str]) -> bool:
        told.append(headers)
        return False

    with pytest.raises(Withdrawn):
        await world.pipeline.complete(request(stream=True, on_admitted=admitted))
    assert [dict(headers) for headers in told] == [RATE]
    assert world.ticket.released == 1
    assert world.ticket.settled == []
    assert world.client.bodies == []
    assert world.recorder.events == []


async def test_a_messages_body_goes_as_chat_to_a_provider_that_does_not_speak_it() -> None:
    world = World()
    as_chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "translated"}]}
    dialect = Dialect(
        kind="messages",
        as_chat=lambda body: as_chat,
        stream_error=lambda error: b"",
        stream_cut=lambda usage: b"",
    )
    answer = await world.pipeline.complete(request(dialect=dialect))
    assert not answer.native
    assert answer.body == REPLY
    assert world.client.bodies == [as_chat]
    assert world.ticket.ends == 1
    assert len(world.recorder.events) == 1


async def test_embeddings_take_the_same_line() -> None:
    world = World()
    answer = await world.pipeline.embed(request())
    assert answer.body == b'{"data":[]}'
    assert dict(answer.headers) == {**RATE, **ROUTED}
    assert world.ticket.settled == [(4, 0, 0)]
    (event,) = world.recorder.events
    assert (event.endpoint, event.outcome) == ("embeddings", "ok")


async def test_the_observer_is_handed_the_record_of_a_stream() -> None:
    world = World()
    seen: list[CompletionFinished] = []
    answer = await world.pipeline.complete(
        request(stream=True, transport="websocket", observe=seen.append)
    )
    assert answer.chunks is not None
    async for _ in answer.chunks:
        pass
    assert seen == world.recorder.events
    assert seen[0].transport == "websocket"


@dataclass
class FakeNativeClient(FakeClient):
    """A provider that speaks Anthropic Messages and OpenAI Responses as they are."""

    headers: list[Mapping[str, str]] = field(default_factory=list)
    native_kinds: frozenset[str] = frozenset({"messages", "responses"})

    async def native(
        self, kind: str, body: dict[str, Any], upstream_model: str, headers: Mapping[str, str]
    ) -> UpstreamReply:
        self.bodies.append(body)
        self.headers.append(headers)
        return UpstreamReply(body=f'{{"type":"{kind}"}}'.encode(), usage=Usage(input_tokens=5))

    async def open_native_stream(
        self, kind: str, body: dict[str, Any], upstream_model: str, headers: Mapping[str, str]
    ) -> FakeStream:
        raise AssertionError("not streamed here")

    async def count_tokens(
        self, kind: str, body: dict[str, Any], upstream_model: str, headers: Mapping[str, str]
    ) -> int:
        return 42 if kind == "messages" else 7


async def test_a_messages_body_passes_natively_to_a_provider_that_speaks_it() -> None:
    world = World(client=FakeNativeClient())
    messages = {"model": "gpt-4o-mini", "max_tokens": 10, "messages": BODY["messages"]}
    dialect = Dialect(
        kind="messages",
        headers={"anthropic-version": "2023-06-01"},
        as_chat=lambda body: pytest.fail("a native body is not translated"),
        stream_error=lambda error: b"",
        stream_cut=lambda usage: b"",
    )
    answer = await world.pipeline.complete(
        CompletionRequest(
            caller=CALLER, request_id="r", model="gpt-4o-mini", body=messages, dialect=dialect
        )
    )
    assert answer.native
    assert answer.body == b'{"type":"messages"}'
    assert world.client.bodies == [messages]
    assert world.client.headers == [{"anthropic-version": "2023-06-01"}]  # type: ignore[attr-defined]
    assert world.ticket.settled == [(5, 0, 0)]
    assert await world.pipeline.count_tokens(CALLER, "gpt-4o-mini", messages, {}) == 42


def responses_dialect(as_chat: dict[str, Any]) -> Dialect:
    return Dialect(
        kind="responses",
        as_chat=lambda body: as_chat,
        stream_error=lambda error: b"",
        stream_cut=lambda usage: b"",
    )


async def test_another_dialect_is_admitted_by_its_chat_translation_and_sent_as_it_is() -> None:
    world = World(client=FakeNativeClient(), admission=FakeAdmission(reserve=(20, 30)))
    as_chat = {"model": "gpt-4o-mini", "messages": BODY["messages"], "max_completion_tokens": 30}
    body = {"model": "gpt-4o-mini", "input": "hi", "max_output_tokens": 10**6}
    answer = await world.pipeline.complete(
        CompletionRequest(
            caller=CALLER,
            request_id="r",
            model="gpt-4o-mini",
            body=body,
            dialect=responses_dialect(as_chat),
        )
    )
    assert answer.native
    assert answer.body == b'{"type":"responses"}'
    # estimated by its chat translation (which asks at most 30 output tokens)
    assert [most for _, most in world.admission.estimates] == [30]
    [sent] = world.client.bodies
    assert sent["input"] == "hi"  # the body as it is, capped in its own field
    assert sent["max_output_tokens"] == 30
    counted = await world.pipeline.count_tokens(CALLER, "gpt-4o-mini", body, {}, "responses")
    assert counted == 7


async def test_another_dialect_goes_as_its_chat_translation_to_a_provider_without_it() -> None:
    world = World()
    as_chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "translated"}]}
    answer = await world.pipeline.complete(request(dialect=responses_dialect(as_chat)))
    assert not answer.native
    assert answer.body == REPLY
    assert world.client.bodies[0]["messages"] == as_chat["messages"]
    assert world.ticket.settled == [(7, 3, 0)]
    assert await world.pipeline.count_tokens(CALLER, "gpt-4o-mini", {}, {}, "responses") is None


async def test_a_native_body_is_admitted_by_its_estimate_when_the_dialect_has_one() -> None:
    world = World(client=FakeNativeClient(), admission=FakeAdmission(reserve=(20, 30)))
    estimate = {"model": "gpt-4o-mini", "messages": BODY["messages"], "max_tokens": 30}
    dialect = Dialect(
        kind="responses",
        as_chat=lambda body: pytest.fail("the estimate, not the translation, is admitted"),
        as_chat_estimate=lambda body: estimate,
        stream_error=lambda error: b"",
        stream_cut=lambda usage: b"",
    )
    body = {"model": "gpt-4o-mini", "input": "hi", "tools": [{"type": "web_search"}]}
    answer = await world.pipeline.complete(
        CompletionRequest(
            caller=CALLER, request_id="r", model="gpt-4o-mini", body=body, dialect=dialect
        )
    )
    assert answer.native
    assert [most for _, most in world.admission.estimates] == [30]
    assert world.client.bodies[0]["tools"] == [{"type": "web_search"}]


async def test_a_native_responses_body_reserves_at_least_what_openai_is_asked_for() -> None:
    """OpenAI takes no `max_output_tokens` under 16: a body asking 5 is sent asking for 16 (by
    the adapter), so 16 are reserved, and a smaller reservation never lowers what it asks."""
    world = World(client=FakeNativeClient(), admission=FakeAdmission(reserve=(20, 16)))
    as_chat = {"model": "gpt-4o-mini", "messages": BODY["messages"], "max_completion_tokens": 5}
    body = {"model": "gpt-4o-mini", "input": "hi", "max_output_tokens": 5}
    await world.pipeline.complete(
        CompletionRequest(
            caller=CALLER,
            request_id="r",
            model="gpt-4o-mini",
            body=body,
            dialect=responses_dialect(as_chat),
        )
    )
    assert [most for _, most in world.admission.estimates] == [16]
    assert world.client.bodies == [body]


async def test_a_translated_body_ignores_the_native_estimate() -> None:
    world = World()
    as_chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "translated"}]}
    dialect = Dialect(
        kind="responses",
        as_chat=lambda body: as_chat,
        as_chat_estimate=lambda body: pytest.fail("only a native body is estimated so"),
        stream_error=lambda error: b"",
        stream_cut=lambda usage: b"",
    )
    answer = await world.pipeline.complete(request(dialect=dialect))
    assert not answer.native
    assert world.client.bodies[0]["messages"] == as_chat["messages"]


def test_a_client_replaced_at_run_time_is_asked_what_it_speaks_again() -> None:
    clients: dict[str, Any] = {"openai": FakeClient()}
    calls = ProviderCalls(clients)
    assert not calls.speaks(ROUTE, "responses")
    clients["openai"] = FakeNativeClient()
    assert calls.speaks(ROUTE, "responses")
    assert not calls.speaks(ROUTE, "gemini")
