"""A burst of first requests on a window nobody has used yet: the window is seeded from the
database once (the others wait for that one seeding), exactly (what the database says was
spent counts before anything is admitted), and a seeding that fails or a request that goes away
leaves nothing stuck."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from application.billing.admission import BudgetAdmission
from domains.billing.budget import Amount, Budget
from domains.billing.limits import LimitsSnapshot
from domains.billing.model import Price
from domains.shared.caller import Caller
from domains.shared.errors import LimitExceeded
from infrastructure.billing.memory_limit_store import InMemoryLimitStore

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
USD = 10**12
PRICE = Price(input_per_mtok=Decimal("1"), output_per_mtok=Decimal("2"))
EACH = 5 * 10**9  # 1,000 prompt tokens and at most 2,000 out at $1 / $2 per Mtok: $0.005
BUDGET = Budget("team", "t1", "month", 1 * USD, None)
WINDOW = "team:t1:month:2026-11"


def caller(n: int) -> Caller:
    return Caller(key_id=f"k{n}", key_prefix="fr-abcdefgh", team_id="t1", org_id="o1")


def estimate() -> tuple[int, int]:
    return 1_000, 2_000


class Database:
    """The spend the database holds, read only once `opened` is set; counts its reads."""

    def __init__(self, spent: Amount) -> None:
        self.spent = spent
        self.reads = 0
        self.opened = asyncio.Event()
        self.fail_next = False

    async def spent_in_window(self, budget: Budget, now: datetime) -> Amount:
        self.reads += 1
        await self.opened.wait()
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("the database went away")
        return self.spent


def admission(
    database: Database, *, allowances: bool = False
) -> tuple[BudgetAdmission, InMemoryLimitStore]:
    snapshot = LimitsSnapshot.of([BUDGET], [], {("openai", "m"): PRICE})
    store = InMemoryLimitStore()
    return BudgetAdmission(
        limits=lambda: snapshot,
        store=store,
        spent_in_window=database.spent_in_window,
        allowances=allowances,
        clock=lambda: NOW,
    ), store


async def _burst(gate: BudgetAdmission, database: Database, count: int) -> list[object]:
    async def one(n: int) -> object:
        try:
            return await gate.admit(caller(n), "openai", "m", estimate)
        except LimitExceeded as refused:
            return refused

    tasks = [asyncio.ensure_future(one(n)) for n in range(count)]
    for _ in range(5):  # every request reaches the unseeded window before the database answers
        await asyncio.sleep(0)
    database.opened.set()
    return await asyncio.gather(*tasks)


@pytest.mark.parametrize("allowances", [False, True])
@pytest.mark.parametrize("count", [50, 200])
async def test_a_cold_burst_reads_the_database_once_and_admits_exactly_the_room_left(
    count: int, allowances: bool
) -> None:
    database = Database(Amount(USD // 2, 0))  # half the budget spent: room for 100 requests
    gate, store = admission(database, allowances=allowances)

    answers = await _burst(gate, database, count)

    assert database.reads == 1
    admitted = [a for a in answers if not isinstance(a, LimitExceeded)]
    refused = [a for a in answers if isinstance(a, LimitExceeded)]
    assert all(r.code == "budget_exceeded" for r in refused)
    spent, reserved = await store.spent(BUDGET, now=NOW)
    assert spent == Amount(USD // 2, 0)  # what the database said, counted once
    assert spent.picousd + reserved.picousd <= BUDGET.max_picousd  # type: ignore[operator]
    if allowances:  # an allowance holds a slice for requests yet to come
        assert 0 < len(admitted) <= 100
    else:
        assert len(admitted) == min(count, 100)
        assert reserved.picousd == len(admitted) * EACH


async def test_a_failed_seeding_fails_its_waiters_and_the_next_request_seeds_again() -> None:
    database = Database(Amount(0, 0))
    database.fail_next = True
    gate, _ = admission(database)

    answers = await asyncio.gather(
        *(gate.admit(caller(n), "openai", "m", estimate) for n in range(3)),
        _open(database),
        return_exceptions=True,
    )

    assert database.reads == 1
    assert all(isinstance(answer, ConnectionError) for answer in answers[:3])
    await gate.admit(caller(9), "openai", "m", estimate)  # nothing stuck: seeded afresh
    assert database.reads == 2


async def test_a_request_that_goes_away_mid_seeding_leaves_the_seeding_to_the_rest() -> None:
    database = Database(Amount(0, 0))
    gate, store = admission(database)
    first = asyncio.ensure_future(gate.admit(caller(0), "openai", "m", estimate))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(gate.admit(caller(1), "openai", "m", estimate))
    await asyncio.sleep(0)
    first.cancel()  # the client that started the seeding left
    database.opened.set()

    await second

    assert first.cancelled()
    assert database.reads == 1
    _, reserved = await store.spent(BUDGET, now=NOW)
    assert reserved.picousd == EACH  # the second's; the first held nothing


async def _open(database: Database) -> None:
    await asyncio.sleep(0)
    database.opened.set()


class SlowAnswers(InMemoryLimitStore):
    """A store whose answers to the held-back admissions arrive only when `arrive` is set:
    as a remote store's answers do, they can cross a seeding that finishes meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.hold_back = 0
        self.arrive = asyncio.Event()

    async def admit(self, *args: object, **kwargs: object) -> Any:
        answer = await super().admit(*args, **kwargs)  # type: ignore[arg-type]
        if self.hold_back:
            self.hold_back -= 1
            await self.arrive.wait()
        return answer


async def test_an_unseeded_answer_that_crossed_a_finished_seeding_does_not_seed_again() -> None:
    database = Database(Amount(USD // 2, 0))
    database.opened.set()
    snapshot = LimitsSnapshot.of([BUDGET], [], {("openai", "m"): PRICE})
    store = SlowAnswers()
    gate = BudgetAdmission(
        limits=lambda: snapshot,
        store=store,
        spent_in_window=database.spent_in_window,
        clock=lambda: NOW,
    )
    store.hold_back = 1  # the first request's "unseeded" is on its way while the second seeds
    late = asyncio.ensure_future(gate.admit(caller(0), "openai", "m", estimate))
    await asyncio.sleep(0)
    await gate.admit(caller(1), "openai", "m", estimate)  # finds it unseeded, seeds, reserves
    assert database.reads == 1
    store.arrive.set()  # the first request's answer arrives: "unseeded", from before the seeding

    await late

    assert database.reads == 1  # asked again rather than seeded again
    spent, reserved = await store.spent(BUDGET, now=NOW)
    assert spent == Amount(USD // 2, 0)
    assert reserved.picousd == 2 * EACH
