"""A deployment: one provider's entry of a model (its own key, region, limits and price), and
what the gateway knows of it at run time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from domains.providers.model import ModelRoute
from domains.providers.routing.breaker import BreakerPolicy, CircuitBreaker, CircuitState
from domains.providers.routing.window import RateWindow

if TYPE_CHECKING:
    from domains.providers.routing.probe import ProbeOutcome

EWMA_WEIGHT = 0.2  # how much the latest call moves the average


@dataclass(frozen=True, slots=True)
class Deployment:
    route: ModelRoute
    weight: float = 1.0
    rpm: int | None = None
    tpm: int | None = None
    region: str | None = None
    tags: tuple[str, ...] = ()
    cost: float = 0.0
    """USD per million input plus output tokens (0: unpriced), what `cost` routing compares."""


class DeploymentState:
    """A deployment as this replica sees it: calls in flight, recent latency and time to first
    byte (EWMA, seconds), its rate window and circuit."""

    __slots__ = (
        "breaker",
        "cooling_until",
        "deployment",
        "failures",
        "in_flight",
        "last_probe",
        "latency",
        "name",
        "probes_failed",
        "probes_ok",
        "successes",
        "ttfb",
        "window",
    )

    def __init__(self, deployment: Deployment, breaker: BreakerPolicy) -> None:
        self.deployment = deployment
        self.name = deployment.route.qualified_name
        self.breaker = CircuitBreaker(breaker)
        self.window = RateWindow(deployment.rpm, deployment.tpm)
        self.in_flight = 0
        self.latency = 0.0
        self.ttfb = 0.0
        self.cooling_until = 0.0
        """Not before then: the upstream said `Retry-After`."""
        self.successes = 0
        self.failures = 0
        self.last_probe: ProbeOutcome | None = None
        """What the last active health probe found (`routing.health_probes`), if one ran."""
        self.probes_ok = 0
        self.probes_failed = 0

    def available(self, now: float) -> bool:
        """Neither over its rate window, nor cooling down after a 429, nor its circuit open."""
        if self.cooling_until:
            if now < self.cooling_until:
                return False
            self.cooling_until = 0.0  # cooled: back to the single deployment's short path
        if not self.breaker.allows(now):
            return False
        return (self.deployment.rpm is None and self.deployment.tpm is None) or (
            self.window.has_room(now)
        )

    def available_but_cooling(self, now: float) -> bool:
        """Available, were it not cooling down after an upstream 429."""
        if not self.breaker.allows(now):
            return False
        deployment = self.deployment
        return (deployment.rpm is None and deployment.tpm is None) or self.window.has_room(now)

    def unavailable_for(self, now: float) -> float:
        """Seconds until it may be available again (an estimate: 0 if it is now)."""
        waits = [self.cooling_until - now, self.window.free_in(now)]
        if self.breaker.current(now) is CircuitState.OPEN:
            waits.append(self.breaker.open_until - now)
        return max(0.0, *waits)

    def started(self, now: float) -> None:
        self.in_flight += 1
        self.window.take(now)
        self.breaker.started(now)

    def succeeded(self, now: float, seconds: float, *, first_byte: bool) -> None:
        """A call answered (`first_byte`: a stream's first chunk came, after `seconds`)."""
        self.successes += 1
        self.breaker.succeeded(now)
        if first_byte:
            self.ttfb = (
                seconds if self.ttfb == 0.0 else self.ttfb + EWMA_WEIGHT * (seconds - self.ttfb)
            )
        else:
            self.latency = (
                seconds
                if self.latency == 0.0
                else self.latency + EWMA_WEIGHT * (seconds - self.latency)
            )

    def failed(self, now: float, *, counts: bool, retry_after: float | None = None) -> None:
        """A call failed; `counts`: against its circuit (not a request a retry cannot fix)."""
        self.failures += 1
        if counts:
            self.breaker.failed(now)
        if retry_after is not None and retry_after > 0:
            self.cooling_until = max(self.cooling_until, now + retry_after)

    def ended(self, now: float, tokens: int) -> None:
        """The call is over (whatever its outcome): no longer in flight; its tokens counted."""
        self.in_flight -= 1
        if tokens:
            self.window.spend(now, tokens)
