"""Refusals alike are written as one event with their count; a failed write loses nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from application.shared.coalescer import Coalescer, MakeEvent
from domains.shared.events import Event
from domains.teams.events import AccessRefused


def refused(prefix: str) -> MakeEvent:
    def make(count: int, first: datetime, last: datetime) -> AccessRefused:
        return AccessRefused(
            surface="v1",
            prefix=prefix,
            reason="invalid",
            source_ip="10.0.0.1",
            count=count,
            first_at=first,
            last_at=last,
        )

    return make


class Sink:
    def __init__(self, *, fail: int = 0) -> None:
        self.fail = fail
        self.written: list[Event] = []

    async def __call__(self, events: Sequence[Event]) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("database away")
        self.written.extend(events)


def counts(sink: Sink) -> dict[str, int]:
    return {e.prefix: e.count for e in sink.written if isinstance(e, AccessRefused)}


async def test_a_flood_of_alike_refusals_is_one_event_with_its_count() -> None:
    sink = Sink()
    coalescer = Coalescer(sink)
    for _ in range(500):
        coalescer.note(("a",), refused("fr-aaaaaaaa"))
    coalescer.note(("b",), refused("fr-bbbbbbbb"))
    await coalescer.flush()
    assert counts(sink) == {"fr-aaaaaaaa": 500, "fr-bbbbbbbb": 1}
    first = next(e for e in sink.written if isinstance(e, AccessRefused))
    assert first.first_at <= first.last_at
    await coalescer.flush()
    assert len(sink.written) == 2  # nothing new, nothing written


async def test_a_failed_write_keeps_the_counts_for_the_next() -> None:
    sink = Sink(fail=1)
    coalescer = Coalescer(sink)
    for _ in range(3):
        coalescer.note(("a",), refused("fr-aaaaaaaa"))
    await coalescer.flush()
    coalescer.note(("a",), refused("fr-aaaaaaaa"))
    await coalescer.flush()
    assert counts(sink) == {"fr-aaaaaaaa": 4}


async def test_distinct_refusals_are_bounded() -> None:
    sink = Sink()
    coalescer = Coalescer(sink, max_distinct=10)
    for i in range(25):
        coalescer.note((i,), refused(f"fr-{i:08d}"))
    await coalescer.stop()
    assert len(sink.written) == 10
    assert coalescer.dropped == 15
