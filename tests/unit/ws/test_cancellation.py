"""When a cancel interrupts a WebSocket generation: at once while it streams, at the next step
before that, and never a task it did not cancel."""

from __future__ import annotations

import asyncio

import pytest

from interfaces.ws.cancellation import Cancellation, Stopped


async def test_a_cancel_before_the_stream_is_honoured_at_the_next_step() -> None:
    cancellation = Cancellation()
    cancellation.task = asyncio.current_task()
    cancellation.request(by_client=True)
    assert cancellation.task is not None
    assert not cancellation.task.cancelling()
    with pytest.raises(Stopped):
        cancellation.check()
    assert cancellation.admitted() is False  # admission waited: the stream is never opened
    assert cancellation.phase == "preparing"
    assert cancellation.by_client


async def test_a_cancel_while_streaming_interrupts_the_task_and_is_absorbed() -> None:
    cancellation = Cancellation()
    started = asyncio.Event()

    async def streaming() -> str:
        assert cancellation.admitted() is True
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            assert cancellation.absorb()
            return "ended by the cancel"
        return "not interrupted"

    cancellation.task = task = asyncio.create_task(streaming())
    await started.wait()
    assert cancellation.phase == "streaming"
    cancellation.request(by_client=False)
    assert await task == "ended by the cancel"
    assert not task.cancelling()
    assert not cancellation.by_client


async def test_only_the_first_cancel_counts_and_a_foreign_one_is_not_absorbed() -> None:
    cancellation = Cancellation()
    assert cancellation.absorb() is False  # nobody asked: the server is stopping
    cancellation.request(by_client=False)
    cancellation.request(by_client=True)
    assert cancellation.requested
    assert not cancellation.by_client
