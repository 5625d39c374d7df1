"""What admission and settlement cost a request with Redis, without the HTTP server around them.

A caller with a USD budget (month) on its org, team and key, a token budget (day) on its key,
and rpm/tpm limits on its key and team, all too large to ever refuse: each request is admitted,
then settled beside, one after the other, as at one client (a settlement goes in a call of its
own while the next admission is on its way); the last settlement is waited for. Prints the
CPU time and wall time per request, and admit's p50 and p99 latency.

With ``--allowances``, admission goes as the gateway's does with Redis: most requests are admitted
from an allowance taken in one call for many (``docs/limits.md``), and the loop runs the work
beside between requests, as a server's does.

Usage: ``python -m tests.bench.admission_micro [REQUESTS] [--allowances]`` (2000 by default),
with the tests' Redis (``FLUXROUTER_TEST_REDIS_URL``, else ``redis://127.0.0.1:6379/0``).
Uses a namespace of its own and deletes it. The machine's other load shows in the figures:
compare runs made alternately.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from datetime import datetime
from decimal import Decimal

import uvloop

from application.billing.admission import BudgetAdmission
from domains.billing.budget import Amount, Budget
from domains.billing.limits import LimitsSnapshot, RateLimit
from domains.billing.model import Price
from domains.shared.caller import Caller
from domains.shared.usage import Usage
from infrastructure.billing.redis_limit_store import RedisLimitStore
from infrastructure.billing.redis_pool import limit_client
from tests.support.services import REDIS_URL

USD = 10**12
WARM_UP = 200


def snapshot() -> LimitsSnapshot:
    budgets = [
        Budget("org", "o1", "month", 10**6 * USD, None),
        Budget("team", "t1", "month", 10**6 * USD, None),
        Budget("key", "k1", "month", 10**6 * USD, None),
        Budget("key", "k1", "day", None, 10**12),
    ]
    rates = [RateLimit("key", "k1", 10**7, 10**10), RateLimit("team", "t1", 10**7, 10**10)]
    prices = {("openai", "m"): Price(Decimal("0.15"), Decimal("0.6"))}
    return LimitsSnapshot.of(budgets, rates, prices)


async def nothing_spent(budget: Budget, now: datetime) -> Amount:
    return Amount(0, 0)


def estimate() -> tuple[int, int]:
    return 20, 100


USED = Usage(input_tokens=20, output_tokens=30)  # what the upstream reported: made beforehand


async def run(requests: int, allowances: bool = False) -> str:
    client = limit_client(REDIS_URL, max_connections=64, timeout=5)
    namespace = f"bench-{secrets.token_hex(4)}"
    limits = snapshot()
    admission = BudgetAdmission(
        limits=lambda: limits,
        store=RedisLimitStore(client, namespace),
        spent_in_window=nothing_spent,
        allowances=allowances,
    )
    caller = Caller(key_id="k1", key_prefix="fr-x", team_id="t1", org_id="o1")
    try:
        for _ in range(WARM_UP):
            ticket = await admission.admit(caller, "openai", "m", estimate)
            ticket.settle(USED)
        await admission.wait_settled()
        latencies = []
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(requests):
            start = time.perf_counter()
            ticket = await admission.admit(caller, "openai", "m", estimate)
            latencies.append(time.perf_counter() - start)
            ticket.settle(USED)
            await asyncio.sleep(0)
        await admission.stop()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    latencies.sort()
    p50, p99 = latencies[requests // 2], latencies[int(requests * 0.99)]
    return (
        f"per request: cpu {1e6 * cpu / requests:.0f} us, wall {1e6 * wall / requests:.0f} us; "
        f"admit p50 {1e6 * p50:.0f} us p99 {1e6 * p99:.0f} us"
    )


def main() -> None:
    args = [arg for arg in sys.argv[1:] if arg != "--allowances"]
    requests = int(args[0]) if args else 2000
    print(uvloop.run(run(requests, allowances="--allowances" in sys.argv[1:])))


if __name__ == "__main__":
    main()
