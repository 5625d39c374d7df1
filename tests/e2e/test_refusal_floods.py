"""A flood of random key-shaped tokens from one address, through the real gateway: a handful of
audit rows however many, the address answered 429 (in each surface's error shape) once past its
allowance of refusals without any lookup, another address untouched, a key the gateway already
accepted from the flooding address still served, and the audit chain still verifying.

The flood comes from 127.0.0.2 (the loopback network is all local), so the other tests' client,
127.0.0.1, is never throttled by it."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.tenants import create_tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

FLOODER = "127.0.0.2"
FLOOD = 10_000
THREADS = 4


def from_address(gateway: GatewayProcess, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=gateway.base_url, transport=transport, timeout=30)


def refusal_rows(admin: httpx.Client, address: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    params: dict[str, Any] = {"action": "auth.refused", "actor": f"ip:{address}", "limit": 1000}
    answer = admin.get("/audit", params=params)
    assert answer.status_code == 200, answer.text
    rows.extend(answer.json()["rows"])
    return [row for row in rows if row["actor"] == f"ip:{address}"]


SENT_AFTER = [0]


def bogus(scheme: str, header: str = "Authorization") -> dict[str, str]:
    token = scheme + secrets.token_urlsafe(32)
    return {header: f"Bearer {token}" if header == "Authorization" else token}


def until_throttled(send: Callable[[], httpx.Response]) -> httpx.Response:
    """Sends refused credentials until the address is throttled again (its allowance refills
    while the test runs); that answer, which must carry Retry-After."""
    for _ in range(500):
        answer = send()
        SENT_AFTER[0] += 1
        if answer.status_code != 401:
            assert answer.status_code == 429, answer.text
            assert int(answer.headers["retry-after"]) >= 1
            return answer
    raise AssertionError("never throttled")


def flood(gateway: GatewayProcess, count: int) -> Counter[int]:
    def send(share: int) -> Counter[int]:
        statuses: Counter[int] = Counter()
        with from_address(gateway, FLOODER) as client:
            for _ in range(share):
                token = "fr-" + secrets.token_urlsafe(32)
                answer = client.get("/v1/models", headers={"Authorization": f"Bearer {token}"})
                statuses[answer.status_code] += 1
                if answer.status_code == 429:
                    assert answer.json()["error"]["code"] == "too_many_refused_credentials"
                    assert int(answer.headers["retry-after"]) >= 1
        return statuses

    with ThreadPoolExecutor(THREADS) as pool:
        return sum(pool.map(send, [count // THREADS] * THREADS), Counter())


@pytest.mark.timeout(400)
def test_ten_thousand_random_keys_from_one_address_add_a_handful_of_audit_rows(
    gateway: GatewayProcess,
) -> None:
    SENT_AFTER[0] = 0  # per shape
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"refusal-flood-{gateway.shape}")
        assert refusal_rows(admin, FLOODER) == []  # no test but this one uses the address
        with from_address(gateway, FLOODER) as client:  # accepted (and cached) before the flood
            headers = {"Authorization": f"Bearer {tenant.key}"}
            assert client.get("/v1/models", headers=headers).status_code == 200

        started = time.monotonic()
        statuses = flood(gateway, FLOOD)
        print(f"flood: {FLOOD} requests in {time.monotonic() - started:.1f} s: {statuses}")
        assert set(statuses) <= {401, 429}, statuses
        assert statuses[429] > FLOOD // 2, statuses  # most never reached a lookup

        with from_address(gateway, FLOODER) as client:
            headers = {"Authorization": f"Bearer {tenant.key}"}
            assert client.get("/v1/models", headers=headers).status_code == 200
            admin_refused = until_throttled(
                lambda: client.get("/admin/v1/orgs", headers=bogus("fra-"))
            )
            assert admin_refused.headers["content-type"].startswith("application/problem+json")
            assert admin_refused.json()["status"] == 429
            scim_refused = until_throttled(
                lambda: client.get("/scim/v2/Users", headers=bogus("frs-"))
            )
            assert scim_refused.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
            assert scim_refused.json()["status"] == "429"
            messages_refused = until_throttled(
                lambda: client.post("/v1/messages", headers=bogus("fr-", "x-api-key"), json={})
            )
            assert messages_refused.json()["type"] == "error"
            assert messages_refused.json()["error"]["type"] == "rate_limit_error"
        # another address is not throttled
        with httpx.Client(base_url=gateway.base_url) as client:
            assert client.get("/v1/models", headers=bogus("fr-")).status_code == 401

        sent = FLOOD + SENT_AFTER[0]  # the flood and those refused after it

        def all_counted() -> list[dict[str, Any]]:
            rows = refusal_rows(admin, FLOODER)
            return rows if sum(row["data"]["count"] for row in rows) >= sent else []

        rows = eventually(all_counted, timeout=120, every=1)
        added = len(rows)
        assert sum(row["data"]["count"] for row in rows) == sent
        flood_rows = [row for row in rows if row["data"]["surface"] == "v1"]
        print(f"audit rows added: {added}, of the flood on /v1: {len(flood_rows)}")
        # a row after a second, then 8 s and 60 s apart, for each of the two reasons (and
        # those refused after the flood): at most 8 for a flood of up to two minutes
        assert len(flood_rows) <= 8, [(r["target"], r["data"]) for r in flood_rows]
        assert "key-prefix:mixed" in {row["target"] for row in flood_rows}
        assert {row["data"]["reason"] for row in flood_rows} == {"invalid", "throttled"}
        assert all(
            row["target"] != "key-prefix:none"
            for row in flood_rows
            if row["data"]["reason"] == "invalid"
        )
        verify = admin.get("/audit/verify")
        assert verify.status_code == 200
        assert verify.json()["ok"] is True, verify.json()
