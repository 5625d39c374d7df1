"""The limits held in memory: a reload that began before another but ends after it is dropped."""

from __future__ import annotations

import asyncio

from application.billing.limits_cache import LimitsCache
from domains.billing.budget import Budget
from domains.billing.limits import LimitsSnapshot

BEFORE = LimitsSnapshot()
AFTER = LimitsSnapshot.of([Budget("key", "k1", "total", None, 100)])


async def test_a_stale_periodic_read_never_overwrites_the_read_made_for_a_change() -> None:
    answers: list[asyncio.Future[LimitsSnapshot]] = []

    async def load() -> LimitsSnapshot:
        answer: asyncio.Future[LimitsSnapshot] = asyncio.get_running_loop().create_future()
        answers.append(answer)
        return await answer

    cache = LimitsCache(load)
    periodic = asyncio.create_task(cache.reload())  # began before the change was committed
    await asyncio.sleep(0)
    for_the_change = asyncio.create_task(cache.reload())
    await asyncio.sleep(0)
    answers[1].set_result(AFTER)
    await for_the_change
    assert cache.current() is AFTER
    answers[0].set_result(BEFORE)  # the database as it was before the change
    await periodic
    assert cache.current() is AFTER


async def test_reloads_in_order_each_show_their_snapshot() -> None:
    snapshots = iter([BEFORE, AFTER])

    async def load() -> LimitsSnapshot:
        return next(snapshots)

    cache = LimitsCache(load)
    await cache.reload()
    assert cache.current() is BEFORE
    await cache.reload()
    assert cache.current() is AFTER
