"""Choosing one of a model's deployments: `weighted` (random, by weight), `least-busy` (fewest
calls in flight), `latency` (lowest recent latency, or time to first byte for a stream), `cost`
(cheapest). A deployment that is not available (rate window full, cooling down, circuit open) is
never chosen; a deployment already tried by this request only when no other is left."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Literal

from domains.providers.routing.deployment import DeploymentState

Strategy = Literal["weighted", "least-busy", "latency", "cost"]


def choose(
    states: Sequence[DeploymentState],
    strategy: Strategy,
    now: float,
    rand: Callable[[], float],
    *,
    stream: bool = False,
    avoid: Collection[str] = (),
) -> DeploymentState | None:
    """The deployment to call, or None if none is available. `avoid`: the ones this request
    already tried, chosen again only if nothing else is available."""
    fresh: list[DeploymentState] = []
    again: list[DeploymentState] = []
    for state in states:
        if state.available(now):
            (again if state.name in avoid else fresh).append(state)
    pool = fresh or again
    if not pool:
        return None
    if len(pool) == 1:
        return pool[0]
    if strategy == "weighted":
        total = sum(state.deployment.weight for state in pool)
        point = rand() * total
        for state in pool:
            point -= state.deployment.weight
            if point < 0:
                return state
        return pool[-1]
    if strategy == "least-busy":
        fewest = min(state.in_flight for state in pool)
        tied = [state for state in pool if state.in_flight == fewest]
        return tied[int(rand() * len(tied)) % len(tied)]
    if strategy == "latency":
        return min(pool, key=(lambda s: s.ttfb) if stream else (lambda s: s.latency))
    return min(pool, key=lambda state: state.deployment.cost)
