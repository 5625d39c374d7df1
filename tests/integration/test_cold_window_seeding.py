"""Over Redis, a burst of first requests on a window Redis has never seen: each replica reads the
database once for it, and Redis then admits exactly the room the database's spend leaves."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from application.billing.admission import BudgetAdmission, SpentInWindow
from domains.billing.budget import Amount, Budget
from domains.billing.limits import LimitsSnapshot
from domains.billing.model import Price
from domains.shared.caller import Caller
from domains.shared.errors import LimitExceeded
from infrastructure.billing.redis_limit_store import RedisLimitStore
from infrastructure.billing.redis_pool import limit_client
from tests.support.services import REDIS_URL

pytestmark = pytest.mark.redis

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
USD = 10**12
PRICE = Price(input_per_mtok=Decimal("1"), output_per_mtok=Decimal("2"))
EACH = 5 * 10**9  # 1,000 prompt tokens and at most 2,000 out: $0.005
BUDGET = Budget("team", "t1", "month", 1 * USD, None)
BURST = 200


def estimate() -> tuple[int, int]:
    return 1_000, 2_000


async def test_two_replicas_seed_a_cold_window_once_each_and_admit_exactly_the_room_left() -> None:
    namespace = f"fluxrouter-test-{secrets.token_hex(4)}"
    snapshot = LimitsSnapshot.of([BUDGET], [], {("openai", "m"): PRICE})
    reads = [0, 0]
    opened = asyncio.Event()

    def database(replica: int) -> SpentInWindow:
        async def spent_in_window(budget: Budget, now: datetime) -> Amount:
            reads[replica] += 1
            await opened.wait()
            return Amount(USD // 2, 0)  # half spent: room for 100 requests

        return spent_in_window

    clients = [limit_client(REDIS_URL, max_connections=16, timeout=5) for _ in range(2)]
    stores = [RedisLimitStore(client, namespace) for client in clients]
    replicas = [
        BudgetAdmission(
            limits=lambda: snapshot,
            store=store,
            spent_in_window=database(i),
            clock=lambda: NOW,
        )
        for i, store in enumerate(stores)
    ]

    async def attempt(n: int) -> str:
        caller = Caller(key_id=f"k{n}", key_prefix="fr-abcdefgh", team_id="t1", org_id="o1")
        try:
            await replicas[n % 2].admit(caller, "openai", "m", estimate)
        except LimitExceeded as refused:
            return refused.code
        return "admitted"

    try:
        burst = [asyncio.ensure_future(attempt(n)) for n in range(BURST)]
        while sum(reads) < 2:  # both replicas are reading the database
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # the rest of the burst reaches the unseeded window
        opened.set()
        answers = await asyncio.gather(*burst)

        assert reads == [1, 1]
        assert answers.count("admitted") == 100
        assert answers.count("budget_exceeded") == BURST - 100
        spent, held = await stores[0].spent(BUDGET, now=NOW)
        assert (spent, held.picousd) == (Amount(USD // 2, 0), 100 * EACH)
    finally:
        keys = [key async for key in clients[0].scan_iter(match=f"{namespace}:*")]
        if keys:
            await clients[0].delete(*keys)
        for client in clients:
            await client.aclose()
