"""Call batches: a lone call goes at once on its own, calls made while one is in flight go
together in the next (a bounded number at a time), and each caller gets its own answer or the
error of the call its item went in."""

from __future__ import annotations

import asyncio

import pytest

from infrastructure.billing.call_batches import CallBatches


class Sender:
    """Answers each item doubled, once let through; records what went together."""

    def __init__(self) -> None:
        self.sent: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, items: list[int]) -> list[int]:
        self.sent.append(items)
        await self.gate.wait()
        if any(item < 0 for item in items):
            raise ValueError("negative")
        return [2 * item for item in items]


async def test_a_lone_call_goes_at_once_on_its_own() -> None:
    sender = Sender()
    batches = CallBatches(sender, most=4)
    assert await batches.call(1) == 2
    assert await batches.call(2) == 4
    assert sender.sent == [[1], [2]]


async def test_calls_made_meanwhile_go_together_a_few_at_a_time() -> None:
    sender = Sender()
    sender.gate.clear()
    batches = CallBatches(sender, most=4)
    first = asyncio.ensure_future(batches.call(0))
    await asyncio.sleep(0)
    rest = [asyncio.ensure_future(batches.call(n)) for n in range(1, 7)]
    await asyncio.sleep(0)
    assert sender.sent == [[0]]
    sender.gate.set()
    assert await asyncio.gather(first, *rest) == [0, 2, 4, 6, 8, 10, 12]
    assert sender.sent == [[0], [1, 2, 3, 4], [5, 6]]
    assert await batches.call(7) == 14  # nothing in flight again: at once
    assert sender.sent[-1] == [7]


async def test_an_error_reaches_every_caller_of_its_batch_and_no_other() -> None:
    sender = Sender()
    sender.gate.clear()
    batches = CallBatches(sender, most=2)
    first = asyncio.ensure_future(batches.call(1))
    await asyncio.sleep(0)
    calls = [asyncio.ensure_future(batches.call(n)) for n in (-1, 2, 3)]
    await asyncio.sleep(0)
    sender.gate.set()
    assert await first == 2
    answers = await asyncio.gather(*calls, return_exceptions=True)
    assert [type(answer) for answer in answers[:2]] == [ValueError, ValueError]
    assert answers[2] == 6
    assert sender.sent == [[1], [-1, 2], [3]]


async def test_a_cancelled_caller_does_not_strand_the_calls_queued_behind_it() -> None:
    sender = Sender()
    sender.gate.clear()
    batches = CallBatches(sender, most=4)
    first = asyncio.ensure_future(batches.call(1))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(batches.call(2))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    sender.gate.set()
    assert await second == 4
    assert sender.sent == [[1], [2]]
