"""The circuits' transitions as events: every `every` seconds, what this replica's calls did
to each deployment's circuit since the last look (opened it, or closed it with a probe) becomes
a `DeploymentCircuitOpened` or `DeploymentCircuitClosed`, once per transition. A circuit this
replica opened only because another one did (shared state) raises nothing here: the replica
that opened it raised it. With `error_share`, a deployment whose failed calls in the breaker's
window reach that share (of at least `min_calls` calls) raises a `DeploymentErrorRateHigh`,
once, and again only after its rate fell under half the share. Nothing of it is on a request's
path."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import structlog

from application.providers.routing.router import Router
from application.shared.tasks import cancel_and_wait
from domains.providers.events import (
    DeploymentCircuitClosed,
    DeploymentCircuitOpened,
    DeploymentErrorRateHigh,
)
from domains.providers.routing.deployment import DeploymentState
from domains.shared.events import Event

log = structlog.get_logger("fluxrouter.routing")

Publish = Callable[[Sequence[Event]], Awaitable[None]]


class CircuitWatch:
    def __init__(
        self,
        router: Router,
        publish: Publish,
        *,
        every: float = 1.0,
        error_share: float | None = None,
        min_calls: int = 20,
    ) -> None:
        self._router = router
        self._error_share = error_share
        self._min_calls = min_calls
        self._high: set[str] = set()
        """The deployments whose error rate was alerted on and has not come down since."""
        self._publish = publish
        self._every = every
        self._seen: dict[str, tuple[int, int]] = {
            state.name: (state.breaker.opened_here, state.breaker.closed_here)
            for state in router.states()
        }
        self._task: asyncio.Task[None] | None = None

    def changes(self) -> list[Event]:
        """The transitions since the last call, in the order opened then closed per
        deployment (one look sees at most one of each but the counts say how many)."""
        events: list[Event] = []
        cooldown = self._router.policy.breaker.cooldown
        for state in self._router.states():
            breaker = state.breaker
            opened, closed = self._seen.get(state.name, (0, 0))
            route = state.deployment.route
            for _ in range(breaker.opened_here - opened):
                reason, in_a_row, calls, failures = breaker.opened_why
                events.append(
                    DeploymentCircuitOpened(
                        deployment=state.name,
                        provider=route.provider,
                        model=route.upstream,
                        reason=reason,
                        consecutive_failures=in_a_row,
                        calls=calls,
                        failures=failures,
                        cooldown_seconds=cooldown,
                    )
                )
            for _ in range(breaker.closed_here - closed):
                events.append(
                    DeploymentCircuitClosed(
                        deployment=state.name, provider=route.provider, model=route.upstream
                    )
                )
            self._seen[state.name] = (breaker.opened_here, breaker.closed_here)
            high = self._error_rate_high(state)
            if high is not None:
                events.append(high)
        return events

    def _error_rate_high(self, state: DeploymentState) -> DeploymentErrorRateHigh | None:
        share = self._error_share
        if share is None:
            return None
        calls, failures = state.breaker.error_rate(self._router.clock())
        rate = failures / calls if calls else 0.0
        if state.name in self._high:
            if calls < self._min_calls or rate < share / 2:
                self._high.discard(state.name)
            return None
        if calls < self._min_calls or rate < share:
            return None
        self._high.add(state.name)
        route = state.deployment.route
        return DeploymentErrorRateHigh(
            deployment=state.name,
            provider=route.provider,
            model=route.upstream,
            calls=calls,
            failures=failures,
            window_seconds=self._router.policy.breaker.window,
            share=share,
        )

    async def flush(self) -> None:
        events = self.changes()
        if events:
            await self._publish(events)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="circuit-watch")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        try:
            await self.flush()
        except Exception:  # stopping: logged, the transition is lost with the process
            log.exception("routing.circuit_events_not_recorded")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.flush()
            except Exception:
                log.exception("routing.circuit_events_not_recorded")
