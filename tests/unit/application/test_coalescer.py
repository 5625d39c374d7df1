"""Refusals alike are written as one event with their count; a failed write loses nothing."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

import pytest

from application.shared import coalescer as coalescer_module
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


async def test_refusals_alike_with_different_prefixes_are_one_event_naming_none() -> None:
    sink = Sink()
    coalescer = Coalescer(sink)
    for i in range(1000):  # random keys: a different prefix each time
        prefix = f"fr-{i:08d}"
        coalescer.note(
            ("v1", "invalid", "10.0.0.1"), refused(prefix), variant=prefix, mixed=refused("mixed")
        )
    for _ in range(5):  # one bad key retried: its prefix is kept
        coalescer.note(
            ("v1", "invalid", "10.0.0.2"),
            refused("fr-bbbbbbbb"),
            variant="fr-bbbbbbbb",
            mixed=refused("mixed"),
        )
    await coalescer.flush()
    assert counts(sink) == {"mixed": 1000, "fr-bbbbbbbb": 5}


async def test_a_refusal_that_goes_on_is_written_less_and_less_often(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(coalescer_module.time, "monotonic", lambda: now[0])
    sink = Sink()
    coalescer = Coalescer(sink, every=1.0, longest=60.0)
    written_at: list[float] = []
    for second in range(600):  # ten minutes of refusals, a flush a second
        now[0] = 1000.0 + second
        for _ in range(50):
            coalescer.note(("a",), refused("fr-aaaaaaaa"))
        before = len(sink.written)
        await coalescer.flush()
        if len(sink.written) > before:
            written_at.append(second)
    await coalescer.stop()
    assert sum(e.count for e in sink.written if isinstance(e, AccessRefused)) == 600 * 50
    gaps = [b - a for a, b in itertools.pairwise(written_at)]
    assert gaps[:2] == [8, 60]
    assert set(gaps[1:]) == {60}
    assert len(sink.written) <= 12  # not 600

    now[0] += 120  # quiet for two minutes: the next refusal is written after a second again
    await coalescer.flush()
    coalescer.note(("a",), refused("fr-aaaaaaaa"))
    now[0] += 1
    await coalescer.flush()
    assert sink.written[-1].count == 1  # type: ignore[attr-defined]
