"""The pipeline's attempts when an upstream fails, with fakes on every side: each attempt is
recorded as what it was, the request's ticket ends exactly once (re-admitted for a fallback of
another price), a retry prefers another deployment, nothing is retried that a retry cannot fix
or once a stream's first byte went out, and the answer says how it was routed. A retry on
another provider's deployment is admitted for that provider's price (the first reservation
given back)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from application.providers.completions.admit import CallAdmission
from application.providers.completions.pipeline import CompletionPipeline
from application.providers.completions.request import CompletionRequest
from application.providers.completions.upstream import ProviderCalls
from application.providers.routing.policy import RoutingPolicy
from application.providers.routing.router import Router
from domains.providers.errors import UpstreamError
from domains.providers.model import Catalog, ModelRoute
from domains.providers.policy import Effects, Policies, PolicyDenied, Rule
from domains.providers.ports import StreamTally, UpstreamReply, Usage
from domains.providers.routing.breaker import BreakerPolicy
from domains.providers.routing.deployment import Deployment
from domains.providers.upstream_failures import Condition
from tests.unit.application.test_completion_pipeline import (
    CALLER,
    FakeAdmission,
    FakeRecorder,
    _room,
)

A = ModelRoute(provider="a", kind="openai", name="m", upstream="m-a")
B = ModelRoute(provider="b", kind="openai", name="m", upstream="m-b")
F = ModelRoute(provider="f", kind="openai", name="fb", upstream="fb")
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


class Stream:
    def __init__(self, chunks: list[bytes], fail_after: int | None = None) -> None:
        self.tally = StreamTally()
        self._chunks = chunks
        self._fail_after = fail_after

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._read()

    async def _read(self) -> AsyncIterator[bytes]:
        for index, chunk in enumerate(self._chunks):
            if index == self._fail_after:
                raise UpstreamError(Condition.SERVER_ERROR, "broke mid-way")
            self.tally.output_chars += len(chunk)
            yield chunk
        self.tally.finished = True

    async def aclose(self) -> None:
        return None


@dataclass
class Client:
    """Fails with the errors in `fails`, in turn, then answers."""

    name: str
    fails: list[UpstreamError] = field(default_factory=list)
    calls: int = 0
    stream_fail_after: int | None = None

    async def chat(self, body: dict[str, Any], upstream_model: str) -> UpstreamReply:
        self.calls += 1
        if self.fails:
            raise self.fails.pop(0)
        return UpstreamReply(body=self.name.encode(), usage=Usage(input_tokens=5, output_tokens=2))

    async def open_chat_stream(
        self, body: dict[str, Any], upstream_model: str, *, include_usage: bool
    ) -> Stream:
        self.calls += 1
        if self.fails:
            raise self.fails.pop(0)
        return Stream([b"data: one\n\n", b"data: two\n\n"], self.stream_fail_after)

    async def embeddings(self, body: dict[str, Any], upstream_model: str) -> UpstreamReply:
        return await self.chat(body, upstream_model)

    async def list_models(self) -> list[str]:
        return []

    async def close(self) -> None:
        return None


def server_error() -> UpstreamError:
    return UpstreamError(Condition.SERVER_ERROR, "boom", upstream_status=500)


@dataclass
class World:
    routes: list[ModelRoute] = field(default_factory=lambda: [A, B, F])
    policy: RoutingPolicy = field(
        default_factory=lambda: RoutingPolicy(
            retries=2, backoff_base=0.0, backoff_max=0.0, fallbacks={"m": ("fb",)}
        )
    )
    weights: dict[str, float] = field(default_factory=lambda: {"a": 1000.0})
    rpm: int | None = None
    clients: dict[str, Client] = field(
        default_factory=lambda: {name: Client(name) for name in ("a", "b", "f")}
    )
    admission: FakeAdmission = field(default_factory=FakeAdmission)
    recorder: FakeRecorder = field(default_factory=FakeRecorder)
    pipeline: CompletionPipeline = field(init=False)

    def __post_init__(self) -> None:
        router = Router(
            [
                Deployment(r, weight=self.weights.get(r.provider, 1.0), rpm=self.rpm)
                for r in self.routes
            ],
            self.policy,
        )
        self.pipeline = CompletionPipeline(
            Catalog(self.routes),
            CallAdmission(_room, admission=self.admission),
            ProviderCalls(self.clients),  # type: ignore[arg-type]
            self.recorder,
            router=router,
        )

    def statuses(self) -> list[tuple[str, int, str]]:
        return [(e.provider, e.status, e.outcome) for e in self.recorder.events]


def ask(stream: bool = False, model: str = "m") -> CompletionRequest:
    return CompletionRequest(
        caller=CALLER, request_id="r1", model=model, body=BODY, stream=stream, include_usage=False
    )


async def test_a_failed_deployment_is_retried_on_the_other_and_each_attempt_recorded() -> None:
    world = World()
    world.clients["a"].fails = [server_error()]
    answer = await world.pipeline.complete(ask())
    assert answer.body == b"b"
    assert world.statuses() == [("a", 502, "error"), ("b", 200, "ok")]
    assert len({event.event_id for event in world.recorder.events}) == 2
    # another provider, its own price: admitted for it, the first reservation given back
    assert world.admission.asked == [("a", "m"), ("b", "m")]
    first, second = world.admission.tickets
    assert (first.released, first.settled) == (1, [])
    assert (second.released, second.settled) == (0, [(5, 2, 0)])
    assert answer.headers["x-fluxrouter-provider"] == "b"
    assert answer.headers["x-fluxrouter-route"] == "weighted b/m; after a/m 502"
    assert [event.route for event in world.recorder.events] == [
        "weighted a/m",
        "weighted b/m; after a/m 502",
    ]
    assert {event.requested_model for event in world.recorder.events} == {"m"}


async def test_when_every_deployment_fails_the_fallback_answers_admitted_anew() -> None:
    world = World()
    world.clients["a"].fails = [server_error(), server_error()]
    world.clients["b"].fails = [server_error()]
    answer = await world.pipeline.complete(ask())
    assert answer.body == b"f"
    assert world.statuses() == [
        ("a", 502, "error"),
        ("b", 502, "error"),
        ("a", 502, "error"),
        ("f", 200, "ok"),
    ]
    assert world.admission.asked == [("a", "m"), ("b", "m"), ("a", "m"), ("f", "fb")]
    *given_back, last = world.admission.tickets
    assert all((t.released, t.settled) == (1, []) for t in given_back)
    assert (last.released, last.settled) == (0, [(5, 2, 0)])
    assert answer.headers["x-fluxrouter-model"] == "fb"
    assert answer.headers["x-fluxrouter-route"].endswith("fallback from m")


async def test_a_request_a_retry_cannot_fix_is_answered_at_once() -> None:
    world = World()
    world.clients["a"].fails = [UpstreamError(Condition.INVALID_REQUEST, "bad")]
    with pytest.raises(UpstreamError) as raised:
        await world.pipeline.complete(ask())
    assert raised.value.status == 400
    assert world.statuses() == [("a", 400, "error")]
    assert world.clients["b"].calls == world.clients["f"].calls == 0
    (ticket,) = world.admission.tickets
    assert (ticket.released, ticket.settled) == (1, [])


async def test_the_last_failure_is_the_callers_once_retries_and_fallbacks_are_spent() -> None:
    world = World(policy=RoutingPolicy(retries=1, backoff_base=0.0, backoff_max=0.0))
    world.clients["a"].fails = [server_error()] * 3
    world.clients["b"].fails = [server_error()] * 3
    with pytest.raises(UpstreamError) as raised:
        await world.pipeline.complete(ask())
    assert world.statuses() == [("a", 502, "error"), ("b", 502, "error")]
    assert [ticket.ends for ticket in world.admission.tickets] == [1, 1]
    # the error answer says which deployment was tried last, and every attempt
    assert raised.value.route_headers == {
        "x-fluxrouter-provider": "b",
        "x-fluxrouter-model": "m",
        "x-fluxrouter-route": "no answer; after a/m 502, b/m 502",
    }


async def test_a_failure_names_no_fallback_that_was_not_called() -> None:
    world = World(
        policy=RoutingPolicy(
            retries=1,
            backoff_base=0.0,
            backoff_max=0.0,
            fallbacks={"m": ("fb",)},
            breaker=BreakerPolicy(consecutive_failures=1, cooldown=100.0),
        )
    )
    fallback = world.pipeline.router.state("f/fb")
    assert fallback is not None
    fallback.failed(world.pipeline.router.clock(), counts=True)  # its circuit open
    world.clients["a"].fails = [server_error()]
    world.clients["b"].fails = [server_error()]
    with pytest.raises(UpstreamError) as raised:
        await world.pipeline.complete(ask())
    assert world.clients["f"].calls == 0
    route = raised.value.route_headers["x-fluxrouter-route"]
    assert route == "no answer; after a/m 502, b/m 502"


async def test_a_stream_whose_every_attempt_fails_at_its_first_chunk_says_so() -> None:
    world = World(policy=RoutingPolicy(retries=1, backoff_base=0.0, backoff_max=0.0))
    world.clients["a"].stream_fail_after = 0
    world.clients["b"].stream_fail_after = 0
    answer = await world.pipeline.complete(ask(stream=True))
    assert answer.chunks is not None
    got = [chunk async for chunk in answer.chunks]
    assert b"broke mid-way" in got[-1]  # the error event: nothing else reached the client
    assert answer.headers["x-fluxrouter-provider"] == "b"
    assert answer.headers["x-fluxrouter-route"] == "no answer; after a/m 502, b/m 502"


async def test_a_stream_that_fails_before_its_first_byte_goes_elsewhere() -> None:
    world = World()
    world.clients["a"].stream_fail_after = 0
    answer = await world.pipeline.complete(ask(stream=True))
    assert answer.chunks is not None
    got = [chunk async for chunk in answer.chunks]
    assert got == [b"data: one\n\n", b"data: two\n\n"]
    assert world.statuses() == [("a", 502, "error"), ("b", 200, "ok")]
    assert [ticket.ends for ticket in world.admission.tickets] == [1, 1]


async def test_a_stream_that_fails_after_its_first_byte_is_not_retried() -> None:
    world = World()
    world.clients["a"].stream_fail_after = 1
    answer = await world.pipeline.complete(ask(stream=True))
    assert answer.chunks is not None
    got = [chunk async for chunk in answer.chunks]
    assert got[0] == b"data: one\n\n"
    assert b"boom" not in got[-1]
    assert b"broke mid-way" in got[-1]
    assert world.statuses() == [("a", 502, "error")]
    assert world.clients["b"].calls == 0


async def test_an_open_circuit_keeps_calls_away_until_its_cooldown() -> None:
    now = [0.0]
    world = World(
        routes=[A],
        policy=RoutingPolicy(
            retries=0, breaker=BreakerPolicy(consecutive_failures=2, cooldown=10.0)
        ),
    )
    world.pipeline.router.clock = lambda: now[0]
    world.clients["a"].fails = [server_error(), server_error()]
    for _ in range(2):
        with pytest.raises(UpstreamError):
            await world.pipeline.complete(ask())
    with pytest.raises(UpstreamError) as raised:
        await world.pipeline.complete(ask())
    assert raised.value.status == 503  # refused without a call
    assert raised.value.route_headers == {
        "x-fluxrouter-route": "no answer; no deployment of m available"
    }
    assert world.clients["a"].calls == 2
    now[0] = 10.5
    answer = await world.pipeline.complete(ask())  # the probe
    assert answer.body == b"a"


async def test_a_deployment_at_its_rpm_is_skipped_and_a_pool_at_its_limits_answers_429() -> None:
    world = World(routes=[A, B], weights={}, rpm=2)
    served = [(await world.pipeline.complete(ask())).body for _ in range(4)]
    assert sorted(served) == [b"a", b"a", b"b", b"b"]
    with pytest.raises(UpstreamError) as raised:
        await world.pipeline.complete(ask())
    assert raised.value.status == 429
    assert raised.value.retry_after is not None


async def test_a_single_deployment_answers_without_any_choice() -> None:
    world = World(routes=[A])
    answer = await world.pipeline.complete(ask())
    assert answer.headers["x-fluxrouter-route"] == "only a/m"
    pinned = await world.pipeline.complete(ask(model="a/m"))
    assert pinned.headers["x-fluxrouter-route"] == "pinned a/m"


async def test_a_context_length_refusal_goes_to_the_larger_window_only() -> None:
    big = ModelRoute(provider="g", kind="openai", name="big", upstream="big")
    world = World(
        routes=[A, B, F, big],
        policy=RoutingPolicy(
            retries=2,
            backoff_base=0.0,
            backoff_max=0.0,
            fallbacks={"m": ("fb",)},
            context_window_fallbacks={"m": ("big",)},
        ),
        clients={name: Client(name) for name in ("a", "b", "f", "g")},
    )
    world.clients["a"].fails = [UpstreamError(Condition.CONTEXT_LENGTH_EXCEEDED, "too long")]
    answer = await world.pipeline.complete(ask())
    assert answer.body == b"g"
    assert world.statuses() == [("a", 400, "error"), ("g", 200, "ok")]
    assert world.clients["b"].calls == world.clients["f"].calls == 0
    assert answer.headers["x-fluxrouter-route"] == "only g/big; after a/m 400; fallback from m"


async def test_a_context_length_refusal_without_a_larger_window_is_the_callers() -> None:
    world = World()
    world.clients["a"].fails = [UpstreamError(Condition.CONTEXT_LENGTH_EXCEEDED, "too long")]
    with pytest.raises(UpstreamError) as raised:
        await world.pipeline.complete(ask())
    assert raised.value.code == "context_length_exceeded"
    assert world.statuses() == [("a", 400, "error")]


async def test_embeddings_fail_over_as_completions_do() -> None:
    world = World()
    world.clients["a"].fails = [server_error()]
    answer = await world.pipeline.embed(ask())
    assert answer.body == b"b"
    assert world.statuses() == [("a", 502, "error"), ("b", 200, "ok")]
    assert [event.endpoint for event in world.recorder.events] == ["embeddings", "embeddings"]


async def test_no_attempt_starts_past_the_deadline_counted_from_the_first() -> None:
    now = [0.0]

    class Slow(Client):
        async def chat(self, body: dict[str, Any], upstream_model: str) -> UpstreamReply:
            now[0] += 6.0  # the attempt took longer than the request's deadline
            return await super().chat(body, upstream_model)

    world = World(
        policy=RoutingPolicy(retries=2, backoff_base=0.0, backoff_max=0.0, deadline=5.0),
        clients={"a": Slow("a", fails=[server_error()]), "b": Client("b"), "f": Client("f")},
    )
    world.pipeline.router.clock = lambda: now[0]
    with pytest.raises(UpstreamError):
        await world.pipeline.complete(ask())
    assert world.statuses() == [("a", 502, "error")]
    assert world.clients["b"].calls == 0


async def test_a_lone_deployment_cooling_after_a_429_is_still_called() -> None:
    world = World(routes=[A], policy=RoutingPolicy(retries=0))
    limited = UpstreamError(Condition.RATE_LIMITED, "slow down", retry_after="7")
    world.clients["a"].fails = [limited, limited]
    for _ in range(2):  # the upstream's own 429, and its Retry-After, each time
        with pytest.raises(UpstreamError) as raised:
            await world.pipeline.complete(ask())
        assert raised.value.retry_after == "7"
    assert world.clients["a"].calls == 2
    assert (await world.pipeline.complete(ask())).body == b"a"


def with_policies(world: World, *rules: Rule) -> CompletionPipeline:
    return CompletionPipeline(
        Catalog(world.routes),
        CallAdmission(_room, admission=world.admission),
        ProviderCalls(world.clients),  # type: ignore[arg-type]
        world.recorder,
        router=world.pipeline.router,
        policies=Policies(rules),
    )


async def test_deployments_a_policy_refuses_are_never_chosen_nor_retried_on() -> None:
    world = World(weights={"a": 1000.0})
    pipeline = with_policies(world, Rule("no-a", effects=Effects(deny_providers=frozenset({"a"}))))
    world.clients["b"].fails = [server_error()] * 3
    answer = await pipeline.complete(ask())
    assert answer.body == b"f"  # b failed, its retries too; a is refused; the fallback answered
    assert world.clients["a"].calls == 0
    assert world.statuses() == [("b", 502, "error")] * 3 + [("f", 200, "ok")]
    with pytest.raises(PolicyDenied):
        await with_policies(
            world, Rule("none", effects=Effects(deny_providers=frozenset({"a", "b"})))
        ).complete(ask())


async def test_a_model_through_a_wildcard_is_retried_by_its_own_name() -> None:
    wildcard = ModelRoute(provider="a", kind="openai", name="*", upstream="*")
    seen: list[str] = []

    class Named(Client):
        async def chat(self, body: dict[str, Any], upstream_model: str) -> UpstreamReply:
            seen.append(upstream_model)
            return await super().chat(body, upstream_model)

    world = World(
        routes=[wildcard],
        policy=RoutingPolicy(retries=1, backoff_base=0.0, backoff_max=0.0),
        clients={"a": Named("a", fails=[server_error()])},
    )
    answer = await world.pipeline.complete(ask(model="a/brand-new"))
    assert answer.body == b"a"
    assert seen == ["brand-new", "brand-new"]
    assert answer.headers["x-fluxrouter-model"] == "brand-new"
    assert answer.headers["x-fluxrouter-route"] == "wildcard a/*; after a/* 502"


async def test_a_first_chunk_past_the_reservation_is_cut_there() -> None:
    class Runaway(Client):
        async def open_chat_stream(
            self, body: dict[str, Any], upstream_model: str, *, include_usage: bool
        ) -> Stream:
            self.calls += 1
            return Stream([b"data: " + b"run " * 500 + b"\n\n", b"data: more\n\n"])

    world = World(routes=[A], clients={"a": Runaway("a")})
    world.admission.reserve = (10, 5)  # 5 output tokens: 40 characters
    answer = await world.pipeline.complete(ask(stream=True))
    assert answer.chunks is not None
    got = [chunk async for chunk in answer.chunks]
    assert b"more" not in b"".join(got)  # cut after the first chunk, nothing read past it
    assert got[-1].endswith(b"data: [DONE]\n\n")
    assert b'"finish_reason":"length"' in got[-1]
    (ticket,) = world.admission.tickets
    assert ticket.settled[0][1] <= 5
