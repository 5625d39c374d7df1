"""The accounting process's loop: every batch answered in turn, a failure answered as one
(the serving process keeps the batch), never the end of the process."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from application.providers.commands import RecordCompletions
from interfaces.accounting import frames
from interfaces.accounting.child import serve_batches
from tests.unit.samples import completion


class Outbox:
    def __init__(self, stored: set[str], *, down: bool = False) -> None:
        self._stored, self.down = stored, down

    async def stored(self, ids: list[str]) -> set[str]:
        if self.down:
            raise ConnectionError("the database is down")
        return self._stored & set(ids)


class Bus:
    def __init__(self, *, failing: bool = False) -> None:
        self.failing = failing
        self.handled: list[list[str]] = []

    async def handle(self, command: Any) -> None:
        assert isinstance(command, RecordCompletions)
        if self.failing:
            raise ConnectionError("the database is down")
        self.handled.append([call.request_id for call in command.completions])


class Limits:
    def __init__(self) -> None:
        self.reloads = 0

    async def reload(self) -> None:
        self.reloads += 1


@pytest.fixture
def answers() -> Iterator[tuple[int, int]]:
    read, write = os.pipe()
    yield read, write
    os.close(read)
    os.close(write)


async def run(container: Any, data: bytes, answer: int) -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    await serve_batches(container, reader, answer)


def container(outbox: Outbox, bus: Bus, limits: Limits | None = None) -> Any:
    return SimpleNamespace(relay=outbox, bus=bus, limits=limits or Limits())


async def test_batches_are_written_and_answered_in_turn(answers: tuple[int, int]) -> None:
    bus, limits = Bus(), Limits()
    data = (
        frames.frame(frames.COMPLETIONS, [completion(request_id="a")])
        + frames.frame(frames.LIMITS_CHANGED)
        + frames.frame(frames.COMPLETIONS, [completion(request_id="b")])
    )
    await run(container(Outbox(set()), bus, limits), data, answers[1])
    assert os.read(answers[0], 10) == frames.WRITTEN * 2
    assert bus.handled == [["a"], ["b"]]
    assert limits.reloads == 1


async def test_a_replay_leaves_out_what_the_outbox_holds(answers: tuple[int, int]) -> None:
    calls = [completion(request_id=name) for name in ("kept", "new")]
    bus = Bus()
    data = frames.frame(frames.REPLAYED, calls) + frames.frame(frames.REPLAYED, calls[:1])
    await run(container(Outbox({calls[0].event_id}), bus), data, answers[1])
    # the second holds only what is stored: nothing is written, and it is answered as written
    assert os.read(answers[0], 10) == frames.WRITTEN * 2
    assert bus.handled == [["new"]]


@pytest.mark.parametrize(
    ("kind", "outbox_down", "bus_failing"),
    [
        (frames.REPLAYED, True, False),
        (frames.COMPLETIONS, False, True),
    ],
)
async def test_a_failed_write_is_answered_as_failed_and_the_loop_goes_on(
    answers: tuple[int, int], kind: bytes, outbox_down: bool, bus_failing: bool
) -> None:
    bus = Bus(failing=bus_failing)
    data = frames.frame(kind, [completion(request_id="x")]) + frames.frame(frames.LIMITS_CHANGED)
    limits = Limits()
    await run(container(Outbox(set(), down=outbox_down), bus, limits), data, answers[1])
    assert os.read(answers[0], 10) == frames.FAILED
    assert limits.reloads == 1  # the frame after it was read
