"""The pipeline's content refusal fallbacks (`content_policy_fallbacks`), with fakes on every
side: a refused whole answer is recorded as the answer it was and replaced by the fallback's,
admitted anew; a stream falls over only while nothing but empty events came before the refusal;
without the setting, or when the fallback cannot be admitted, the refusal is the answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgspec

from application.providers.routing.policy import RoutingPolicy
from domains.providers.errors import UpstreamError
from domains.providers.ports import StreamTally, UpstreamReply, Usage
from domains.providers.upstream_failures import Condition
from tests.unit.application.test_pipeline_failover import A, Client, F, World, ask

FILTERED = b'{"choices":[{"index":0,"message":{"content":""},"finish_reason":"content_filter"}]}'
ROLE = b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
TEXT = b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
CUT = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"content_filter"}]}\n\n'
REFUSING = RoutingPolicy(
    retries=1, backoff_base=0.0, backoff_max=0.0, content_policy_fallbacks={"m": ("fb",)}
)


class Chunks:
    """A stream of (bytes, output characters in them)."""

    def __init__(self, chunks: list[tuple[bytes, int]]) -> None:
        self.tally = StreamTally()
        self._chunks = chunks
        self.closed = 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._read()

    async def _read(self) -> AsyncIterator[bytes]:
        for chunk, output in self._chunks:
            self.tally.output_chars += output
            yield chunk
        self.tally.usage = Usage(input_tokens=4, output_tokens=0)
        self.tally.finished = True

    async def aclose(self) -> None:
        self.closed += 1


@dataclass
class Refusing(Client):
    """Answers with a refusal: whole (`FILTERED`), or streamed as `stream`."""

    stream: list[tuple[bytes, int]] | None = None

    async def chat(self, body: dict[str, Any], upstream_model: str) -> UpstreamReply:
        self.calls += 1
        return UpstreamReply(body=FILTERED, usage=Usage(input_tokens=4, output_tokens=0))

    async def open_chat_stream(  # type: ignore[override]
        self, body: dict[str, Any], upstream_model: str, *, include_usage: bool
    ) -> Chunks:
        self.calls += 1
        return Chunks(self.stream or [(ROLE, 0), (CUT, 0)])


def world(policy: RoutingPolicy = REFUSING, stream: list[tuple[bytes, int]] | None = None) -> World:
    return World(
        routes=[A, F],
        policy=policy,
        clients={"a": Refusing("a", stream=stream), "f": Client("f")},
    )


async def test_a_refused_answer_is_replaced_by_the_fallback_and_both_are_recorded() -> None:
    w = world()
    answer = await w.pipeline.complete(ask())
    assert answer.body == b"f"
    assert w.statuses() == [("a", 200, "ok"), ("f", 200, "ok")]
    first, second = w.recorder.events
    assert (first.input_tokens, second.input_tokens) == (4, 5)  # the refusal is metered as it was
    assert w.admission.asked == [("a", "m"), ("f", "fb")]
    one, two = w.admission.tickets
    assert (one.released, one.settled) == (0, [(4, 0, 0)])
    assert (two.released, two.settled) == (0, [(5, 2, 0)])
    assert answer.headers["x-fluxrouter-model"] == "fb"
    assert answer.headers["x-fluxrouter-route"] == (
        "only f/fb; after a/m content refusal; content refusal fallback from m"
    )


async def test_an_openai_content_policy_error_falls_back_too() -> None:
    w = world()
    w.clients["a"] = Client(
        "a",
        fails=[
            UpstreamError(
                Condition.INVALID_REQUEST, "safety", upstream_status=400, content_refused=True
            )
        ],
    )
    w.__post_init__()
    answer = await w.pipeline.complete(ask())
    assert answer.body == b"f"
    assert w.statuses() == [("a", 400, "error"), ("f", 200, "ok")]
    assert (
        "after a/m content refusal (400); content refusal fallback from m"
        in (answer.headers["x-fluxrouter-route"])
    )
    state = w.pipeline.router.state("a/m")
    assert state is not None
    assert state.breaker.consecutive == 0  # a refusal says nothing about the deployment


async def test_without_the_setting_the_refusal_is_the_answer() -> None:
    w = world(RoutingPolicy(retries=1, backoff_base=0.0, backoff_max=0.0))
    answer = await w.pipeline.complete(ask())
    assert answer.body == FILTERED
    assert w.statuses() == [("a", 200, "ok")]


async def test_a_fallback_the_budget_refuses_leaves_the_refusal_as_the_answer() -> None:
    w = world()
    original = w.admission.admit

    async def admit_once(*args: Any) -> Any:
        if w.admission.asked:
            w.admission.refuse = True
        return await original(*args)

    w.admission.admit = admit_once  # type: ignore[method-assign]
    answer = await w.pipeline.complete(ask())
    assert answer.body == FILTERED
    assert w.statuses() == [("a", 200, "ok")]
    assert w.clients["f"].calls == 0


async def test_a_stream_refused_before_any_output_falls_back() -> None:
    w = world()
    answer = await w.pipeline.complete(ask(stream=True))
    assert answer.chunks is not None
    got = b"".join([chunk async for chunk in answer.chunks])
    assert b"content_filter" not in got
    assert got == b"data: one\n\ndata: two\n\n"
    assert w.statuses() == [("a", 200, "ok"), ("f", 200, "ok")]
    assert "content refusal fallback from m" in answer.headers["x-fluxrouter-route"]


async def test_a_stream_refused_after_its_first_output_is_relayed_as_it_is() -> None:
    w = world(stream=[(ROLE, 0), (TEXT, 3), (CUT, 0)])
    answer = await w.pipeline.complete(ask(stream=True))
    assert answer.chunks is not None
    got = b"".join([chunk async for chunk in answer.chunks])
    assert got == ROLE + TEXT + CUT
    assert w.statuses() == [("a", 200, "ok")]
    assert w.clients["f"].calls == 0


async def test_a_stream_whose_fallback_the_budget_refuses_gets_the_refusal_it_held() -> None:
    w = world()
    original = w.admission.admit

    async def admit_once(*args: Any) -> Any:
        if w.admission.asked:
            w.admission.refuse = True
        return await original(*args)

    w.admission.admit = admit_once  # type: ignore[method-assign]
    told: list[Any] = []
    request = msgspec.structs.replace(ask(stream=True), observe=told.append)
    answer = await w.pipeline.complete(request)
    assert answer.chunks is not None
    got = b"".join([chunk async for chunk in answer.chunks])
    assert got == ROLE + CUT
    assert w.statuses() == [("a", 200, "ok")]
    assert [event.provider for event in told] == ["a"]
    assert w.clients["f"].calls == 0
