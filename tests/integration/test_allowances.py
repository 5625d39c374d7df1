"""Allowances over Redis, two replicas at once: many concurrent requests against a budget never
get more than it grants, and once both replicas stop, the budget's spend is exactly what the
admitted requests used and nothing is held. (What a settlement gives back to the rate buckets
is in test_limit_store: Redis's buckets refill as its clock goes, too fast to read here.)"""

from __future__ import annotations

import asyncio
import random
import secrets
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from application.billing.admission import BudgetAdmission
from application.billing.tickets import AllowedTicket
from domains.billing.budget import Amount, Budget
from domains.billing.limits import LimitsSnapshot, RateLimit
from domains.billing.model import Price
from domains.shared.caller import Caller
from domains.shared.errors import LimitExceeded
from domains.shared.usage import Usage
from infrastructure.billing.redis_limit_store import RedisLimitStore
from infrastructure.billing.redis_pool import limit_client
from tests.support.services import REDIS_URL

pytestmark = pytest.mark.redis

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CALLER = Caller(key_id="k1", key_prefix="fr-abcdefgh", team_id="t1", org_id="o1")
PRICE = Price(input_per_mtok=Decimal("1"), output_per_mtok=Decimal("2"))
EACH_PUSD = 5 * 10**9  # 1,000 prompt tokens and at most 2,000 out: $0.005
WAVES, AT_ONCE = 50, 20


def estimate() -> tuple[int, int]:
    return 1_000, 2_000


async def nothing_spent(budget: Budget, now: datetime) -> Amount:
    return Amount(0, 0)


async def test_two_replicas_with_allowances_never_overrun_and_charge_exactly() -> None:
    namespace = f"fluxrouter-test-{secrets.token_hex(4)}"
    budget = Budget("team", "t1", "month", 300 * EACH_PUSD, None)  # 300 requests' worth
    rate = RateLimit("key", "k1", rpm=100_000, tpm=None)
    snapshot = LimitsSnapshot.of([budget], [rate], {("openai", "m"): PRICE})
    clients = [limit_client(REDIS_URL, max_connections=16, timeout=5) for _ in range(2)]
    stores = [RedisLimitStore(client, namespace) for client in clients]
    replicas = [
        BudgetAdmission(
            limits=lambda: snapshot,
            store=store,
            spent_in_window=nothing_spent,
            allowances=True,
            clock=lambda: NOW,
        )
        for store in stores
    ]

    async def attempt(i: int) -> object | None:
        try:
            return await replicas[i % 2].admit(CALLER, "openai", "m", estimate)
        except LimitExceeded:
            return None

    try:
        answers = []
        for _ in range(WAVES):
            answers += await asyncio.gather(*(attempt(i) for i in range(AT_ONCE)))
        tickets = [ticket for ticket in answers if ticket is not None]
        from_allowances = [t for t in tickets if isinstance(t, AllowedTicket)]
        assert len(from_allowances) >= WAVES
        # slices of 300 / 64 = 4 requests: an unused one on each replica is the most lost
        assert 300 - 2 * 4 <= len(tickets) <= 300
        shuffle = random.Random(7)
        charged = Amount(0, 0)
        for ticket in tickets:
            used_in, used_out = shuffle.randint(0, 1_000), shuffle.randint(0, 2_000)
            ticket.settle(Usage(input_tokens=used_in, output_tokens=used_out))  # type: ignore[attr-defined]
            charged = charged + Amount((used_in + 2 * used_out) * 10**6, used_in + used_out)
        for replica in replicas:
            await replica.stop()
        spent, held = await stores[0].spent(budget, now=NOW)
        assert (spent, held) == (charged, Amount(0, 0))
    finally:
        keys = [key async for key in clients[0].scan_iter(match=f"{namespace}:*")]
        if keys:
            await clients[0].delete(*keys)
        for client in clients:
            await client.aclose()
