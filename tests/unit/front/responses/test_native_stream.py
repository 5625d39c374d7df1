"""A Responses stream through the real completion pipeline and OpenAI adapter to the fake OpenAI
upstream: passed natively to OpenAI (relayed as it is, cut at its reservation with
`response.incomplete`, ended by an upstream failure with `response.failed`, each naming the
response the client streamed), or translated for an openai-compatible server; the official
SDK reads every ending, and the final response is handed on once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx2
import openai
import pytest

from application.providers.completions.admit import CallAdmission
from application.providers.completions.pipeline import CompletionPipeline
from application.providers.completions.request import CompletionRequest, Dialect
from application.providers.completions.upstream import ProviderCalls
from domains.providers.admission import Estimate, Ticket
from domains.providers.events import CompletionFinished
from domains.providers.model import Catalog, ModelRoute
from domains.shared.caller import Caller
from domains.shared.usage import Usage
from infrastructure.adapters.providers.openai import OpenAIAdapter
from infrastructure.adapters.providers.upstream_http import UpstreamHttp, UpstreamTimeouts
from interfaces.http.responses.native_stream import NativeResponseStream
from interfaces.http.responses.translate_request import responses_to_chat
from interfaces.http.responses.translate_stream import chat_sse_to_response_events
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support import openai_spec
from tests.unit.front.responses.support import sse_events

KEY = "sk-test"
CALLER = Caller(key_id="k1", key_prefix="fr-abcdefgh", team_id="t1", org_id="o1")


@dataclass
class Reserving:
    reserve: tuple[int, int] | None
    settled: list[tuple[int, int, int]] = field(default_factory=list)
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def reserved(self) -> tuple[int, int] | None:
        return self.reserve

    def settle(self, usage: Usage) -> None:
        self.settled.append((usage.input_tokens, usage.output_tokens, usage.cached_tokens))

    def release(self) -> None:
        raise AssertionError("a call that went upstream is settled")


@dataclass
class Admission:
    ticket: Reserving

    async def admit(self, caller: Caller, provider: str, model: str, estimate: Estimate) -> Ticket:
        estimate()
        return self.ticket


@dataclass
class Recorder:
    events: list[CompletionFinished] = field(default_factory=list)

    def record(self, event: CompletionFinished) -> None:
        self.events.append(event)


async def _room() -> None:
    return None


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(KEY, slow_seconds=1.0) as server:
        yield server


@dataclass
class Run:
    sse: bytes
    told: list[dict[str, Any]]
    ticket: Reserving
    recorded: list[CompletionFinished]


async def stream_responses(
    fake: FakeOpenAI,
    body: dict[str, Any],
    *,
    native: bool,
    reserve: tuple[int, int] | None = None,
    previous: str | None = None,
) -> Run:
    """`body` streamed through the pipeline to the fake, as the /v1/responses route does
    (`previous`: the stored response it continues, whose conversation `body` carries)."""
    http = UpstreamHttp("openai", timeouts=UpstreamTimeouts(), max_connections=4, redact=str)
    client = OpenAIAdapter(http, base_url=fake.base_url, api_key=KEY, native_responses=native)
    route = ModelRoute(provider="openai", kind="openai", name="m", upstream=body["model"])
    ticket, recorder = Reserving(reserve), Recorder()
    pipeline = CompletionPipeline(
        Catalog([route]),
        CallAdmission(_room, admission=Admission(ticket)),
        ProviderCalls({"openai": client}),  # type: ignore[dict-item]
        recorder,
    )
    told: list[dict[str, Any]] = []
    watch = NativeResponseStream(
        body,
        response_id="resp_gw",
        created_at=1,
        model=body["model"],
        previous_response_id=previous,
        on_done=told.append,
    )
    dialect = Dialect(
        kind="responses",
        as_chat=responses_to_chat,
        as_chat_estimate=partial(responses_to_chat, native=True),
        stream_error=watch.sse_error,
        stream_cut=watch.sse_cut,
    )
    answer = await pipeline.complete(
        CompletionRequest(
            caller=CALLER,
            request_id="r1",
            model="m",
            body={**body, "model": "m"},
            stream=True,
            include_usage=True,
            dialect=dialect,
        )
    )
    assert answer.chunks is not None
    assert answer.native is native
    chunks: AsyncIterator[bytes] = (
        watch.relay(answer.chunks)
        if answer.native
        else chat_sse_to_response_events(
            answer.chunks,
            body,
            response_id="resp_gw",
            created_at=1,
            model=body["model"],
            on_done=told.append,
        )
    )
    sse = b"".join([chunk async for chunk in chunks])
    await client.close()
    return Run(sse, told, ticket, recorder.events)


def sdk_events(sse: bytes) -> list[Any]:
    """The events as the SDK reads them, once OpenAI's document allowed every one."""
    openai_spec.validate_stream(sse_events(sse), openai_spec.RESPONSE_EVENTS)

    def handle(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=sse, headers={"content-type": "text/event-stream"})

    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://gateway.test/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handle)),
    )
    with client.responses.stream(model="m", input="x") as stream:
        return list(stream)


async def test_a_native_stream_is_relayed_as_it_is(fake: FakeOpenAI) -> None:
    run = await stream_responses(fake, {"model": "gpt-4o", "input": "one two"}, native=True)
    events = sdk_events(run.sse)
    assert events[-1].type == "response.completed"
    [final] = run.told
    assert final["id"] == events[0].response.id != "resp_gw"  # the upstream's own response
    assert final["output"][0]["content"][0]["text"] == "Echo: one two"
    assert run.ticket.settled == [(2, 3, 0)]


@pytest.mark.parametrize("native", [True, False])
async def test_a_stream_past_its_reservation_ends_incomplete_and_billed_exactly(
    fake: FakeOpenAI, native: bool
) -> None:
    run = await stream_responses(
        fake, {"model": "fake-runaway", "input": "go"}, native=native, reserve=(10, 5)
    )
    events = sdk_events(run.sse)
    last = events[-1]
    assert last.type == "response.incomplete"
    assert last.response.id == events[0].response.id
    assert last.response.incomplete_details is not None
    assert last.response.incomplete_details.reason == "max_output_tokens"
    assert last.response.usage is not None
    assert last.response.usage.output_tokens == 5
    numbers = [event.sequence_number for event in events]
    assert numbers == list(range(len(events)))
    [final] = run.told
    assert final["status"] == "incomplete"
    assert final["output"][0]["status"] == "incomplete"
    [(_, billed, _)] = run.ticket.settled
    assert billed == 5
    [record] = run.recorded
    assert record.output_tokens == 5


@pytest.mark.parametrize("native", [True, False])
async def test_an_upstream_failure_mid_stream_ends_failed(fake: FakeOpenAI, native: bool) -> None:
    run = await stream_responses(fake, {"model": "fake-stream-error", "input": "hi"}, native=native)
    events = sdk_events(run.sse)
    last = events[-1]
    assert last.type == "response.failed"
    assert last.response.id == events[0].response.id
    assert last.response.error is not None
    assert "failed" in last.response.error.message
    assert [event.sequence_number for event in events] == list(range(len(events)))
    [final] = run.told
    assert final["status"] == "failed"
    [record] = run.recorded
    assert record.outcome == "error"


@pytest.mark.parametrize("model", ["gpt-4o", "fake-runaway"])  # ended by the upstream, cut
async def test_a_continued_native_stream_names_its_previous_response_in_every_response(
    fake: FakeOpenAI, model: str
) -> None:
    run = await stream_responses(
        fake, {"model": model, "input": "go on"}, native=True, reserve=(10, 5), previous="resp_1"
    )
    events = sdk_events(run.sse)
    carrying = [event for event in events if hasattr(event, "response")]
    assert [event.type for event in carrying][:2] == ["response.created", "response.in_progress"]
    assert carrying[-1].type in ("response.completed", "response.incomplete")
    assert {event.response.previous_response_id for event in carrying} == {"resp_1"}
    assert [event.sequence_number for event in events] == list(range(len(events)))
    [final] = run.told
    assert final["previous_response_id"] == "resp_1"
