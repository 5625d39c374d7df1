"""The routing rules: the circuit breaker's state machine, the rate window, the choice of a
deployment (never one that is skipped) and the backoff's bounds."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from domains.providers.model import ModelRoute
from domains.providers.routing.breaker import BreakerPolicy, CircuitBreaker, CircuitState
from domains.providers.routing.deployment import Deployment, DeploymentState
from domains.providers.routing.failover import (
    RETRY,
    Retry,
    backoff,
    counts_against_circuit,
    retry_after_seconds,
)
from domains.providers.routing.selection import choose
from domains.providers.routing.window import RateWindow
from domains.providers.upstream_failures import Condition

POLICY = BreakerPolicy(consecutive_failures=3, error_rate=0.5, min_requests=10, cooldown=5.0)


def test_consecutive_failures_open_the_circuit_and_a_probe_closes_it() -> None:
    breaker = CircuitBreaker(POLICY)
    for t in (0.0, 0.1):
        breaker.failed(t)
        assert breaker.allows(t)
    breaker.failed(0.2)
    assert breaker.current(0.3) is CircuitState.OPEN
    assert not breaker.allows(5.1)
    assert breaker.current(5.2) is CircuitState.HALF_OPEN
    assert breaker.allows(5.2)
    breaker.started(5.2)
    assert not breaker.allows(5.3)  # one probe at a time
    breaker.succeeded(5.4)
    assert breaker.current(5.4) is CircuitState.CLOSED
    assert breaker.allows(5.4)


def test_a_failed_probe_opens_the_circuit_for_another_cooldown() -> None:
    breaker = CircuitBreaker(POLICY)
    for t in (0.0, 0.1, 0.2):
        breaker.failed(t)
    breaker.started(6.0)
    breaker.failed(6.1)
    assert breaker.current(6.2) is CircuitState.OPEN
    assert not breaker.allows(11.0)
    assert breaker.allows(11.2)
    assert breaker.opened == 2


def test_an_error_rate_over_the_window_opens_the_circuit() -> None:
    breaker = CircuitBreaker(
        BreakerPolicy(consecutive_failures=100, error_rate=0.5, min_requests=10)
    )
    for i in range(10):  # every other call fails: never three in a row, half of them failed
        t = i * 0.1
        if i % 2:
            breaker.failed(t)
        else:
            breaker.succeeded(t)
    assert breaker.current(1.0) is CircuitState.OPEN


def test_a_disabled_breaker_never_opens() -> None:
    breaker = CircuitBreaker(BreakerPolicy(consecutive_failures=1, enabled=False))
    for t in range(50):
        breaker.failed(float(t))
    assert breaker.current(50.0) is CircuitState.CLOSED


events = st.lists(
    st.tuples(st.sampled_from(["ok", "fail", "start"]), st.floats(0, 3, allow_nan=False)),
    max_size=60,
)


@given(events)
@settings(max_examples=300)
def test_the_breaker_opens_only_on_failures_and_always_lets_a_probe_through_after_cooldown(
    steps: list[tuple[str, float]],
) -> None:
    breaker = CircuitBreaker(POLICY)
    now = 0.0
    for what, gap in steps:
        now += gap
        before = breaker.current(now)
        if what == "ok":
            breaker.succeeded(now)
            assert breaker.current(now) is CircuitState.CLOSED
        elif what == "fail":
            breaker.failed(now)
            if before is CircuitState.HALF_OPEN:
                assert breaker.current(now) is CircuitState.OPEN
        else:
            if breaker.allows(now):
                breaker.started(now)
        if breaker.state is CircuitState.OPEN:
            assert breaker.open_until <= now + POLICY.cooldown
            # after its cooldown, an open circuit lets one probe through
            assert breaker.allows(breaker.open_until)
            breaker.current(now)  # (reading it at a later time changed nothing above)
        assert breaker.consecutive >= 0


def test_the_rate_window_counts_a_sliding_minute() -> None:
    window = RateWindow(rpm=2, tpm=100)
    window.take(0.0)
    window.take(10.0)
    assert not window.has_room(30.0)
    assert window.free_in(30.0) == 30.0
    assert window.has_room(60.01)
    window.spend(61.0, 100)
    assert not window.has_room(62.0)
    assert window.has_room(121.5)


def state(
    name: str, weight: float = 1.0, cost: float = 0.0, rpm: int | None = None
) -> DeploymentState:
    route = ModelRoute(provider=name, kind="openai", name="m", upstream="m")
    return DeploymentState(Deployment(route=route, weight=weight, cost=cost, rpm=rpm), POLICY)


@st.composite
def fleets(draw: st.DrawFn) -> tuple[list[DeploymentState], float]:
    count = draw(st.integers(1, 6))
    now = 1000.0
    states = []
    for i in range(count):
        one = state(
            f"p{i}",
            weight=draw(st.floats(0.01, 100)),
            cost=draw(st.floats(0, 50)),
            rpm=draw(st.sampled_from([None, 1, 2])),
        )
        if draw(st.booleans()):  # its circuit opened
            for _ in range(3):
                one.failed(now - 1, counts=True)
        if draw(st.booleans()):  # its rate window is used
            one.started(now - 1)
            one.ended(now - 1, 0)
        if draw(st.booleans()):
            one.cooling_until = now + draw(st.floats(-5, 5))
        one.in_flight = draw(st.integers(0, 5))
        one.latency = draw(st.floats(0, 5))
        states.append(one)
    return states, now


@given(fleets(), st.sampled_from(["weighted", "least-busy", "latency", "cost"]), st.randoms())
@settings(max_examples=400)
def test_a_deployment_that_is_skipped_is_never_chosen(
    fleet: tuple[list[DeploymentState], float], strategy: str, rng: random.Random
) -> None:
    states, now = fleet
    available = [s for s in states if s.available(now)]
    chosen = choose(states, strategy, now, rng.random)  # type: ignore[arg-type]
    if not available:
        assert chosen is None
    else:
        assert chosen in available


def test_each_strategy_picks_what_it_says() -> None:
    cheap, busy, slow = state("cheap", cost=1), state("busy", cost=5), state("slow", cost=9)
    busy.in_flight, slow.in_flight, cheap.in_flight = 9, 0, 3
    cheap.latency, busy.latency, slow.latency = 0.5, 0.1, 2.0
    fleet = [cheap, busy, slow]
    assert choose(fleet, "cost", 0.0, random.random) is cheap
    assert choose(fleet, "least-busy", 0.0, random.random) is slow
    assert choose(fleet, "latency", 0.0, random.random) is busy
    heavy = state("heavy", weight=99)
    picks = [
        choose([heavy, state("light")], "weighted", 0.0, random.Random(i).random)
        for i in range(200)
    ]
    assert sum(pick is heavy for pick in picks) > 180


def test_a_deployment_already_tried_is_chosen_again_only_when_nothing_else_is_left() -> None:
    a, b = state("a"), state("b")
    for seed in range(20):
        assert choose([a, b], "weighted", 0.0, random.Random(seed).random, avoid={"a/m"}) is b
    assert choose([a], "weighted", 0.0, random.random, avoid={"a/m"}) is a


@given(
    st.integers(0, 40),
    st.floats(0, 10),
    st.floats(0, 60),
    st.floats(0, 1, exclude_max=True),
    st.none() | st.floats(0, 100),
)
def test_the_backoff_stays_within_its_bounds_and_honours_retry_after(
    retry: int, base: float, most: float, draw: float, retry_after: float | None
) -> None:
    wait = backoff(retry, base, most, lambda: draw, retry_after)
    ceiling = min(most, base * 2 ** min(retry, 32))  # the doubling stops at the 32nd retry
    assert wait >= 0
    if retry_after is not None:
        assert wait >= retry_after
        assert wait <= max(ceiling, retry_after)
    else:
        assert ceiling / 2 - 1e-9 <= wait <= ceiling + 1e-9


def test_what_is_retried_and_where() -> None:
    assert RETRY[Condition.SERVER_ERROR] is Retry.ANYWHERE
    assert RETRY[Condition.RATE_LIMITED] is Retry.ANYWHERE
    assert RETRY[Condition.OVERLOADED] is Retry.ANYWHERE
    assert RETRY[Condition.TIMEOUT] is Retry.ANYWHERE
    assert RETRY[Condition.UNREACHABLE] is Retry.ANYWHERE
    assert RETRY[Condition.CREDENTIALS_REFUSED] is Retry.ELSEWHERE
    assert RETRY[Condition.INVALID_REQUEST] is Retry.NEVER
    assert RETRY[Condition.REQUEST_TOO_LARGE] is Retry.NEVER
    assert RETRY[Condition.CONTEXT_LENGTH_EXCEEDED] is Retry.CONTEXT
    assert set(RETRY) == set(Condition)
    assert not counts_against_circuit(Condition.INVALID_REQUEST)
    assert counts_against_circuit(Condition.SERVER_ERROR)


def test_retry_after_is_read_in_seconds() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("-3") is None
