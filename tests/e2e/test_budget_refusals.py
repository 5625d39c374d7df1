"""What a caller sees of budgets and rate limits, through the official SDKs: the refusals in
each API's own shape, the SDKs not retrying a spent budget, the rate headers on every answer,
a person's budget over their keys, unpriced models, and the thresholds in the audit log."""

from __future__ import annotations

import secrets
import time
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.support.gateway import LIMITS_RELOAD, GatewayProcess
from tests.support.tenants import Tenant, create_tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

HELLO: Any = [{"role": "user", "content": "one two three four"}]


def _put(admin: httpx.Client, path: str, body: dict[str, Any]) -> None:
    answer = admin.put(path, json=body)
    assert answer.status_code == 200, answer.text


def _openai(gateway: GatewayProcess, key: str, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=retries)


def _requests_seen(admin: httpx.Client, tenant: Tenant) -> int:
    params = {"actor": f"key:{tenant.key_id}", "action": "chat.completion", "limit": 1000}
    rows = admin.get("/audit", params=params)
    return len(rows.json()["rows"])


def test_a_spent_budget_is_a_429_the_sdks_do_not_retry(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, "spent")
    _put(admin, f"/keys/{tenant.key_id}/limits", {"period": "day", "max_tokens": 40})
    time.sleep(LIMITS_RELOAD)
    client = _openai(gateway, tenant.key, retries=2)  # would retry a 429 twice if told to
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_tokens=100)
    error = refused.value
    assert error.code == "budget_exceeded"
    assert error.type == "insufficient_quota"
    assert error.response.headers["x-should-retry"] == "false"
    assert 0 < int(error.response.headers["retry-after"]) <= 86_400
    assert "tokens left" in error.message

    answer = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_tokens=5)
    assert answer.choices[0].message.content
    eventually(lambda: _requests_seen(admin, tenant) == 1)  # one call made, none retried

    with pytest.raises(anthropic.RateLimitError) as messages_refused:
        anthropic.Anthropic(
            base_url=gateway.base_url, api_key=tenant.key, max_retries=0
        ).messages.create(model="claude-haiku-4-5", max_tokens=200, messages=HELLO)
    body: Any = messages_refused.value.body
    assert body["type"] == "error"
    assert body["error"]["type"] == "rate_limit_error"
    assert "Budget exceeded" in body["error"]["message"]

    def refusals() -> list[dict[str, Any]]:
        rows = admin.get("/audit", params={"action": "budget.refused", "limit": 1000}).json()
        return [row for row in rows["rows"] if row["actor"] == f"key:{tenant.key_id}"]

    # both refusals are in the audit log, counted (alike refusals are written together)
    rows = eventually(lambda: sum(r["data"]["count"] for r in refusals()) == 2 and refusals())
    assert {row["target"] for row in rows} == {f"key:{tenant.key_id}:day:{rows[0]['ts'][:10]}"}
    assert {row["data"]["measure"] for row in rows} == {"tokens"}


def test_every_answer_to_a_rate_limited_key_carries_openais_headers(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, "headers")
    _put(admin, f"/keys/{tenant.key_id}/limits", {"rpm": 100, "tpm": 100_000})
    _put(admin, f"/teams/{tenant.team_id}/limits", {"rpm": 50})
    time.sleep(LIMITS_RELOAD)
    raw = _openai(gateway, tenant.key).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=HELLO, max_tokens=10
    )
    headers = raw.headers
    assert headers["x-ratelimit-limit-requests"] == "50"  # the team's is the tighter
    assert headers["x-ratelimit-remaining-requests"] == "49"
    assert headers["x-ratelimit-limit-tokens"] == "100000"
    assert int(headers["x-ratelimit-remaining-tokens"]) < 100_000
    assert headers["x-ratelimit-reset-requests"].endswith("s")
    streamed = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {tenant.key}"},
        json={"model": "gpt-4o-mini", "messages": HELLO, "stream": True},
    )
    assert streamed.status_code == 200
    assert int(streamed.headers["x-ratelimit-remaining-requests"]) <= 49  # refills 50 a minute


def test_a_persons_budget_covers_every_key_issued_for_them(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, "person")
    user = admin.post(
        "/users", json={"org_id": tenant.org_id, "email": "ada@example.com", "role": "member"}
    )
    assert user.status_code == 201, user.text
    user_id = user.json()["id"]
    keys = []
    for name in ("laptop", "ci"):
        issued = admin.post(
            "/keys", json={"team_id": tenant.team_id, "name": name, "user_id": user_id}
        )
        assert issued.status_code == 201, issued.text
        keys.append(issued.json()["key"])
    _put(admin, f"/users/{user_id}/budget", {"period": "month", "max_tokens": 60})
    time.sleep(LIMITS_RELOAD)

    first = _openai(gateway, keys[0]).chat.completions.create(
        model="gpt-4o-mini", messages=HELLO, max_tokens=10
    )
    assert first.usage is not None
    with pytest.raises(openai.RateLimitError):  # the other key shares the person's budget
        _openai(gateway, keys[1]).chat.completions.create(
            model="gpt-4o-mini", messages=HELLO, max_tokens=50
        )

    def spend() -> dict[str, Any] | None:
        month = admin.get(f"/users/{user_id}/spend").json()["periods"][1]
        return month if month["spent_tokens"] == first.usage.total_tokens else None  # type: ignore[union-attr]

    month = eventually(spend)
    assert month["max_tokens"] == 60
    assert month["reserved_tokens"] == 0


def test_an_unpriced_model_is_refused_under_a_usd_budget(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, "unpriced")
    _put(admin, f"/teams/{tenant.team_id}/budget", {"period": "month", "max_usd": "5"})
    time.sleep(LIMITS_RELOAD)
    client = _openai(gateway, tenant.key)
    with pytest.raises(openai.PermissionDeniedError) as refused:
        client.embeddings.create(model="nomic-embed", input="hello")  # priced nowhere
    assert refused.value.code == "model_unpriced"
    assert client.embeddings.create(model="text-embedding-3-small", input="hello").data


def test_crossing_a_threshold_is_written_to_the_audit_log_once(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, "threshold")
    _put(admin, f"/teams/{tenant.team_id}/budget", {"period": "day", "max_tokens": 100})
    time.sleep(LIMITS_RELOAD)
    client = _openai(gateway, tenant.key)
    used = 0
    while used < 55:  # each call uses ~10 tokens and may reserve up to 14
        answer = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_tokens=5)
        assert answer.usage is not None
        used += answer.usage.total_tokens

    def crossings() -> list[dict[str, Any]]:
        rows = admin.get("/audit", params={"action": "budget.threshold", "limit": 1000})
        return [r for r in rows.json()["rows"] if r["target"] == f"team:{tenant.team_id}"]

    rows = eventually(crossings)
    time.sleep(0.5)
    assert [row["data"]["percent"] for row in crossings()] == [50]
    data = rows[0]["data"]
    assert (data["measure"], data["limit"], data["period"]) == ("tokens", "100", "day")
    assert 50 <= int(data["spent"]) < 100


def test_a_flood_of_bad_keys_is_audited_as_a_count_without_the_secret(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    bad = "fr-" + secrets.token_urlsafe(32)
    with httpx.Client(base_url=gateway.base_url) as client:
        for _ in range(60):
            answer = client.get("/v1/models", headers={"Authorization": f"Bearer {bad}"})
            assert answer.status_code == 401
        assert (
            client.get("/admin/v1/audit", headers={"Authorization": "Bearer nope"}).status_code
            == 401
        )

    def refused() -> list[dict[str, Any]]:
        rows = admin.get("/audit", params={"action": "auth.refused", "limit": 1000}).json()["rows"]
        return [row for row in rows if row["target"] == f"key-prefix:{bad[:11]}"]

    rows = eventually(lambda: sum(r["data"]["count"] for r in refused()) == 60 and refused())
    assert len(rows) <= 10  # counted, not one row a request
    assert {(r["actor"], r["data"]["surface"], r["data"]["reason"]) for r in rows} == {
        ("ip:127.0.0.1", "v1", "invalid")
    }
    every = admin.get("/audit", params={"action": "auth.refused", "limit": 1000}).text
    assert bad not in every
    assert bad[11:20] not in every
    assert '"surface":"admin"' in every.replace(" ", "")
