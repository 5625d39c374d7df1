"""The Redis scripts' bucket arithmetic is the domain's: the Lua `drained` of `redis_rate_lua`,
run in a real Redis at a moment the test chooses, reaches the figures `domains.billing.rate_limit`
does, a bucket emptied under a larger capacity than today's included."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.billing.rate_limit import MAX_CAPACITY, PARTS, drained
from infrastructure.billing.redis_rate_lua import RATE_LUA
from tests.support.services import REDIS_URL

pytestmark = pytest.mark.redis

# The script's own functions, with its clock set to ARGV[1] and one bucket's state given, not read.
_DRAINED = """
now = tonumber(ARGV[1])
local used, at = drained({used = tonumber(ARGV[2]), at = tonumber(ARGV[3])}, tonumber(ARGV[4]))
return {string.format(INT, used), string.format(INT, at)}
"""


@pytest.fixture
async def client() -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.from_url(REDIS_URL)
    yield redis
    await redis.aclose()


@st.composite
def states(draw: st.DrawFn) -> tuple[int, int, int, int]:
    """(used parts, as of ms, now ms, capacity): what a bucket lacked under a capacity that may
    have been larger, and the capacity now."""
    capacity = draw(st.one_of(st.integers(0, 100), st.integers(0, MAX_CAPACITY)))
    before = draw(st.one_of(st.integers(0, 1_000), st.integers(0, MAX_CAPACITY)))
    used = draw(st.integers(0, before * PARTS))
    at = draw(st.integers(1_700_000_000_000, 1_800_000_000_000))
    now = at + draw(st.one_of(st.integers(-5_000, 5_000), st.integers(-(10**9), 10**9)))
    return used, at, now, capacity


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=states())
async def test_the_script_drains_a_bucket_as_the_domain_does(
    client: aioredis.Redis, state: tuple[int, int, int, int]
) -> None:
    used, at, now, capacity = state
    answer = await client.eval(RATE_LUA + _DRAINED, 0, now, used, at, capacity)
    assert (int(answer[0]), int(answer[1])) == drained(used, at, now, capacity)
