"""A key's rpm lowered through the admin API while its bucket is empty under the old limit: the
key is admitted again after the new limit's refill time, in both shapes (in process on SQLite,
in Redis on PostgreSQL), where it used to stay refused."""

from __future__ import annotations

import time

import openai
import pytest

from tests.support.gateway import LIMITS_RELOAD, GatewayProcess
from tests.support.tenants import create_tenant

BEFORE, AFTER = 61, 30  # rpm: 61 taken, then one request back every 2 s
REFILL = 60 / AFTER


def ask(client: openai.OpenAI) -> bool:
    """Whether one chat completion was admitted (False: refused by the rate limit)."""
    try:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=5
        )
    except openai.RateLimitError as refused:
        retry_after = float(refused.response.headers["retry-after-ms"]) / 1000
        assert 0 < retry_after <= REFILL  # never longer than the new limit's refill time
        return False
    return True


def test_a_lowered_rpm_admits_again_after_its_refill_time(open_gateway: GatewayProcess) -> None:
    with open_gateway.admin() as admin:
        tenant = create_tenant(admin, "lowered")
        limits = f"/keys/{tenant.key_id}/limits"
        assert admin.put(limits, json={"rpm": BEFORE}).status_code == 200
        time.sleep(LIMITS_RELOAD)
        client = openai.OpenAI(
            base_url=f"{open_gateway.base_url}/v1", api_key=tenant.key, max_retries=0
        )
        admitted = 0
        while admitted < 3 * BEFORE and ask(client):
            admitted += 1
        assert BEFORE <= admitted < 3 * BEFORE  # the old bucket is empty
        assert admin.put(limits, json={"rpm": AFTER}).status_code == 200
        lowered_at = time.monotonic()
    time.sleep(LIMITS_RELOAD)
    deadline = lowered_at + LIMITS_RELOAD + REFILL + 5  # the reload, the refill, a busy machine
    while not ask(client):
        if time.monotonic() > deadline:
            pytest.fail(f"still refused {time.monotonic() - lowered_at:.1f} s after lowering")
        time.sleep(0.2)
