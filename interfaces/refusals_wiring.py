"""Refusals recorded in the audit log: coalesced into fewer rows while they go on, and refused
credentials paced per client address (docs/security.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from application.bus import MessageBus
from application.shared.coalescer import Coalescer
from application.shared.record_events import RecordEvents
from application.shared.refusal_throttle import RefusalThrottle
from domains.shared.events import Event
from infrastructure.observability.metrics import Metrics
from infrastructure.settings import Settings


def refusal_writer(bus: MessageBus) -> Callable[[Sequence[Event]], Awaitable[None]]:
    """Writes a batch of refusal events through the bus."""

    async def write_refusals(events: Sequence[Event]) -> None:
        await bus.handle(RecordEvents(events=tuple(events)))

    return write_refusals


def build_access_refusals(
    settings: Settings,
    metrics: Metrics,
    write: Callable[[Sequence[Event]], Awaitable[None]],
) -> tuple[Coalescer, RefusalThrottle]:
    """Refused credentials: coalesced into fewer and fewer rows while they go on, and paced
    per client address (docs/security.md)."""
    coalescer = Coalescer(write, longest=settings.audit.refusal_rows_longest_seconds)
    throttle = RefusalThrottle(
        per_second=settings.server.refused_credentials_per_second,
        burst=settings.server.refused_credentials_burst,
    )
    metrics.watch_refusal_throttle(lambda: throttle.throttled)
    return coalescer, throttle
