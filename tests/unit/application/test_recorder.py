"""The completion recorder batches finished calls into one command, retries, and flushes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import application.providers.recorder as recorder_module
from application.providers.commands import RecordCompletions
from application.providers.handlers import record_completions
from application.providers.recorder import CompletionRecorder
from domains.providers.events import CompletionFinished
from domains.shared.events import Command
from tests.unit.application.fakes import UowFactory
from tests.unit.samples import completion


class Handler:
    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts = 0
        self.commands: list[RecordCompletions] = []

    async def __call__(self, command: Command) -> None:
        self.attempts += 1
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("database is down")
        assert isinstance(command, RecordCompletions)
        self.commands.append(command)

    @property
    def recorded(self) -> list[CompletionFinished]:
        return [event for command in self.commands for event in command.completions]


async def test_a_burst_is_written_as_one_command() -> None:
    handler = Handler()
    recorder = CompletionRecorder(handler, linger=0.01)
    recorder.start()
    events = [completion(request_id=f"r{i}") for i in range(5)]
    try:
        for event in events:
            recorder.record(event)
        await asyncio.wait_for(recorder.wait_idle(), 5)
    finally:
        await recorder.stop()
    assert len(handler.commands) == 1
    assert handler.commands[0].completions == tuple(events)


async def test_batches_are_at_most_max_batch() -> None:
    handler = Handler()
    recorder = CompletionRecorder(handler, max_batch=2)
    events = [completion(request_id=f"r{i}") for i in range(5)]
    for event in events:
        recorder.record(event)
    await recorder.stop()
    assert [len(command.completions) for command in handler.commands] == [2, 2, 1]
    assert handler.recorded == events


async def test_observe_sees_every_event_at_once() -> None:
    seen: list[CompletionFinished] = []
    recorder = CompletionRecorder(Handler(), observe=seen.append)
    event = completion()
    recorder.record(event)
    assert seen == [event]
    await recorder.stop()


async def test_stop_flushes_what_is_pending() -> None:
    handler = Handler()
    recorder = CompletionRecorder(handler, linger=60.0)  # the loop would wait a minute
    recorder.start()
    events = [completion(request_id="a"), completion(request_id="b")]
    for event in events:
        recorder.record(event)
    await asyncio.wait_for(recorder.stop(), 5)
    assert handler.recorded == events
    await asyncio.wait_for(recorder.wait_idle(), 1)


async def test_a_failed_write_keeps_the_batch_in_order_for_later() -> None:
    handler = Handler(failures=1)
    recorder = CompletionRecorder(handler)
    first, second = completion(request_id="a"), completion(request_id="b")
    recorder.record(first)
    recorder.record(second)

    await recorder.stop()  # the write fails: nothing lost, nothing written
    assert handler.recorded == []
    assert not recorder._idle.is_set()

    later = completion(request_id="c")
    recorder.record(later)
    await recorder.stop()
    assert handler.recorded == [first, second, later]
    assert recorder._idle.is_set()


class _QuickAsyncio:
    """The asyncio module as the recorder sees it, with sleeps noted and cut short."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        await asyncio.sleep(0)


async def test_the_background_loop_retries_a_failed_write(monkeypatch: pytest.MonkeyPatch) -> None:
    quick = _QuickAsyncio()
    monkeypatch.setattr(recorder_module, "asyncio", quick)
    handler = Handler(failures=2)
    recorder = CompletionRecorder(handler, linger=0.0)
    recorder.start()
    event = completion()
    try:
        recorder.record(event)
        await asyncio.wait_for(recorder.wait_idle(), 5)
    finally:
        await recorder.stop()
    assert handler.attempts == 3
    assert handler.recorded == [event]
    assert quick.sleeps.count(1.0) == 2  # a one-second back-off before each retry


async def test_recorded_completions_are_published_through_the_unit_of_work() -> None:
    factory = UowFactory()
    events = (completion(request_id="a"), completion(request_id="b"))
    uow = factory()
    await record_completions(RecordCompletions(completions=events), uow)
    assert uow.committed
    assert uow.collect_new_events() == list(events)


async def test_a_full_backlog_drops_and_counts_instead_of_growing() -> None:
    handler = Handler()
    recorder = CompletionRecorder(handler, max_pending=3)
    for _ in range(5):
        recorder.record(completion())
    assert recorder.backlog == 3
    assert recorder.dropped == 2
    await recorder.stop()  # flushes what was kept
    assert len(handler.recorded) == 3
    assert recorder.backlog == 0


async def test_stop_lets_a_write_under_way_finish_instead_of_losing_or_doubling_it() -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    written: list[RecordCompletions] = []

    async def slow(command: Command) -> None:
        assert isinstance(command, RecordCompletions)
        entered.set()
        await release.wait()
        written.append(command)

    recorder = CompletionRecorder(slow, linger=0.0)
    recorder.start()
    event = completion()
    recorder.record(event)
    await asyncio.wait_for(entered.wait(), 5)
    stopping = asyncio.ensure_future(recorder.stop())  # cancels the loop mid-write
    await asyncio.sleep(0.01)
    assert not stopping.done()  # it waits for the write under way
    release.set()
    await asyncio.wait_for(stopping, 5)
    assert [command.completions for command in written] == [(event,)]
    assert recorder.backlog == 0


async def test_what_comes_in_during_a_write_waits_for_the_next_linger() -> None:
    """A steady trickle is written a batch a linger, not a batch a write: without the wait, a
    write that takes longer than the gap between two calls would be followed at once by the
    next, a batch of the one or two calls that came in meanwhile."""
    entered, release = asyncio.Event(), asyncio.Event()
    written: list[tuple[CompletionFinished, ...]] = []

    async def slow_first(command: Command) -> None:
        assert isinstance(command, RecordCompletions)
        if not written:
            entered.set()
            await release.wait()
        written.append(command.completions)

    recorder = CompletionRecorder(slow_first, linger=0.5)
    recorder.start()
    first, during, after = (completion(request_id=name) for name in ("a", "b", "c"))
    try:
        recorder.record(first)
        await asyncio.wait_for(entered.wait(), 5)
        recorder.record(during)
        release.set()
        await asyncio.sleep(0.05)  # the first write is done; the next batch is still gathering
        assert written == [(first,)]
        recorder.record(after)
        await asyncio.wait_for(recorder.wait_idle(), 5)
    finally:
        await recorder.stop()
    assert written == [(first,), (during, after)]


async def test_a_full_batch_waiting_behind_a_write_goes_at_once() -> None:
    handler = Handler()
    recorder = CompletionRecorder(handler, max_batch=2, linger=60.0)
    for name in "abcde":
        recorder.record(completion(request_id=name))
    await recorder._drain(retry=True, lingering=True)  # what the loop does after a linger
    assert [len(command.completions) for command in handler.commands] == [2, 2]
    assert recorder.backlog == 1  # short of a batch: left for the next linger
    await recorder.stop()
    assert len(handler.recorded) == 5


async def test_a_backlog_at_high_water_holds_new_requests_back_until_a_batch_is_written() -> None:
    release = asyncio.Event()
    written: list[int] = []

    async def stalled(command: Command) -> None:  # a database that fell behind, then recovers
        assert isinstance(command, RecordCompletions)
        await release.wait()
        written.append(len(command.completions))

    recorder = CompletionRecorder(stalled, max_batch=2, linger=0.0, high_water=6)
    recorder.start()
    try:
        await asyncio.wait_for(recorder.room(), 1)  # room while below high water
        for _ in range(7):  # two go into the stalled write, five wait
            recorder.record(completion())
            await asyncio.sleep(0)
        await asyncio.wait_for(recorder.room(), 1)  # 5 waiting: still below 6
        recorder.record(completion())
        assert recorder.backlog == 6
        held = asyncio.ensure_future(recorder.room())
        await asyncio.sleep(0.05)
        assert not held.done()
        assert recorder.held_back == 1
        release.set()  # the stalled write ends: room as soon as the backlog is below 6
        await asyncio.wait_for(held, 5)
        assert recorder.backlog < 6
        await asyncio.wait_for(recorder.wait_idle(), 5)
    finally:
        await recorder.stop()
    assert sum(written) == 8  # nothing lost on the way


async def test_stop_lets_whoever_waits_for_room_go() -> None:
    release = asyncio.Event()

    async def stalled(command: Command) -> None:
        await release.wait()

    recorder = CompletionRecorder(stalled, linger=0.0, high_water=1)
    recorder.start()
    recorder.record(completion())
    held = asyncio.ensure_future(recorder.room())
    await asyncio.sleep(0.01)
    assert not held.done()
    stopping = asyncio.ensure_future(recorder.stop())  # waits for the stalled write
    await asyncio.wait_for(held, 1)  # but the request held back goes at once
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, 5)


async def test_while_the_writes_fail_a_request_waits_at_most_max_wait() -> None:
    handler = Handler(failures=1_000)  # the database is down
    recorder = CompletionRecorder(handler, linger=0.0, high_water=2, max_wait=0.05)
    recorder.start()
    try:
        recorder.record(completion(request_id="a"))
        recorder.record(completion(request_id="b"))
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(recorder.room(), 5)
        assert asyncio.get_running_loop().time() - started >= 0.05
        assert recorder.held_back == 1
        assert handler.recorded == []  # nothing written, nothing lost: kept for the retries
    finally:
        handler.failures = 0
        await recorder.stop()
    assert [event.request_id for event in handler.recorded] == ["a", "b"]
