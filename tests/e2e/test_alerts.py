"""Alerts through the running gateway on both shapes: a webhook receiver on loopback gets each
budget threshold a team crosses (50, 80, 100 %) once, signed, after a first try it answered
with a 500; a Slack-compatible hook gets the same thresholds as text; a deployment's circuit
opening is alerted and audited; the delivery log says how each delivery went."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infrastructure.alerts.signing import verify
from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import LIMITS_RELOAD, GatewayProcess, gateway_config
from tests.support.services import REDIS_URL, postgres_database
from tests.support.tenants import Tenant, create_tenant, eventually
from tests.support.webhook_receiver import Received, WebhookReceiver, webhook_receiver

SECRET = "whsec-" + secrets.token_hex(16)
HELLO: Any = [{"role": "user", "content": "one two three four"}]


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver(fail_first_on=("/ops",)) as hooks:
        yield hooks


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])],
)
def gateway(
    request: pytest.FixtureRequest,
    upstream: FakeOpenAI,
    receiver: WebhookReceiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    workdir: Path = tmp_path_factory.mktemp(f"gateway-alerts-{request.param}")
    receiver.clear()  # what each shape's hooks got is read apart
    postgres = request.param == "postgres"
    with postgres_database() if postgres else contextlib.nullcontext("") as pg_url:
        config = gateway_config(
            database_url=pg_url or f"sqlite+aiosqlite:///{workdir / 'fluxrouter.db'}",
            redis_url=REDIS_URL if postgres else None,
            upstream_url=upstream.base_url,
            upstream_key=UPSTREAM_KEY,
            extra_providers=[
                {
                    "name": "exact",
                    "kind": "openai",
                    "base_url": upstream.base_url,
                    "api_key": "${TEST_UPSTREAM_KEY}",
                    # as many words as `max_tokens`, $1 each and the prompt free: a call costs
                    # what it reserved, so its budget is spent to the cent
                    "models": [
                        {
                            "name": "dollar-a-word",
                            "upstream": "fake-flood-stream",
                            "price": {"input_per_mtok": 0, "output_per_mtok": 1_000_000},
                        }
                    ],
                }
            ],
        )
        config["routing"]["circuit_breaker"] = {
            "consecutive_failures": 2,
            "cooldown_seconds": 30,
            "min_requests": 1000,
        }
        config["alerts"] = {
            "retry_base_seconds": 0.2,
            "max_attempts": 3,
            "timeout_seconds": 5,
            "webhooks": [
                {"name": "ops", "url": f"{receiver.url}/ops", "secret": "${ALERT_SECRET}"},
                {
                    "name": "chat",
                    "url": f"{receiver.url}/chat",
                    "format": "slack",
                    "events": ["budget.threshold_crossed"],
                },
            ],
        }
        process = GatewayProcess(
            workdir,
            config,
            admin_key="fradm-" + secrets.token_urlsafe(32),
            upstream_key=UPSTREAM_KEY,
            with_worker=postgres,
        )
        process.env["ALERT_SECRET"] = SECRET
        if postgres:
            process.env["FLUXROUTER_REDIS_NAMESPACE"] = f"fluxrouter-test-{secrets.token_hex(4)}"
        process.start()
        yield process
        process.stop()


def _ask(gateway: GatewayProcess, tenant: Tenant, model: str) -> httpx.Response:
    return httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        json={"model": model, "messages": HELLO, "max_tokens": 1},
        headers={"Authorization": f"Bearer {tenant.key}"},
        timeout=30,
    )


def _about(seen: list[Received], team_id: str) -> list[Received]:
    return [
        hit
        for hit in seen
        if json.loads(hit.body).get("data", {}).get("scope_id") == team_id
        or team_id in json.loads(hit.body).get("text", "")
    ]


def test_each_threshold_reaches_the_webhooks_once_signed_after_a_retry(
    gateway: GatewayProcess, admin: httpx.Client, tenant: Tenant, receiver: WebhookReceiver
) -> None:
    answer = admin.put(f"/teams/{tenant.team_id}/budget", json={"period": "day", "max_usd": 10})
    assert answer.status_code == 200, answer.text
    time.sleep(LIMITS_RELOAD)
    for _ in range(10):  # $1 each: 50 % at the 5th, 80 % at the 8th, 100 % at the 10th
        answer = _ask(gateway, tenant, "exact/dollar-a-word")
        assert answer.status_code == 200, answer.text
    assert _ask(gateway, tenant, "exact/dollar-a-word").status_code == 429

    def delivered() -> list[Received] | None:
        ops = [hit for hit in _about(receiver.on("/ops"), tenant.team_id) if hit.status == 200]
        chat = _about(receiver.on("/chat"), tenant.team_id)
        return ops if len(ops) == 3 and len(chat) == 3 else None

    eventually(delivered, timeout=20)
    time.sleep(1.0)  # nothing more comes: no alert is sent twice
    ops = _about(receiver.on("/ops"), tenant.team_id)
    tries: dict[str, list[Received]] = defaultdict(list)
    for hit in ops:
        tries[hit.headers["x-fluxrouter-delivery-id"]].append(hit)
    assert len(tries) == 3
    percents = []
    for delivery_id, hits in tries.items():
        assert [hit.status for hit in hits] == [500, 200]  # retried after the 500, then done
        assert [hit.headers["x-fluxrouter-attempt"] for hit in hits] == ["1", "2"]
        assert hits[0].body == hits[1].body
        body = json.loads(hits[1].body)
        assert body["id"] == delivery_id
        assert body["type"] == "budget.threshold_crossed"
        assert hits[1].headers["x-fluxrouter-event"] == "budget.threshold_crossed"
        assert hits[1].headers["x-fluxrouter-event-id"] == body["event_id"]
        for hit in hits:
            header = hit.headers["x-fluxrouter-signature"]
            assert verify(SECRET, header, hit.body, now=int(time.time()))
            assert not verify("wrong-" + SECRET, header, hit.body, now=int(time.time()))
            assert not verify(SECRET, header, hit.body + b" ", now=int(time.time()))
        data = body["data"]
        assert (data["scope"], data["measure"], data["period"]) == ("team", "usd", "day")
        assert float(data["limit"]) == 10
        percents.append(data["percent"])
    assert sorted(percents) == [50, 80, 100]
    assert len({json.loads(hits[0].body)["event_id"] for hits in tries.values()}) == 3

    chat = _about(receiver.on("/chat"), tenant.team_id)
    texts = sorted(json.loads(hit.body)["text"] for hit in chat)
    assert [set(json.loads(hit.body)) for hit in chat] == [{"text"}] * 3
    assert all("x-fluxrouter-signature" not in hit.headers for hit in chat)  # no secret given
    crossed = sorted(int(re.search(r"crossed (\d+)%", text)[1]) for text in texts)  # type: ignore[index]
    assert crossed == [50, 80, 100]
    assert all(tenant.team_id in text for text in texts)

    log = admin.get("/alerts/deliveries", params={"webhook": "ops", "limit": 500})
    assert log.status_code == 200, log.text
    rows = [row for row in log.json()["deliveries"] if row["id"] in tries]
    assert len(rows) == 3
    for row in rows:
        assert (row["status"], row["attempts"], row["status_code"]) == ("delivered", 2, 200)
        assert row["event_type"] == "budget.threshold_crossed"
        assert row["delivered_at"] is not None
        assert row["next_attempt_at"] is None
    assert SECRET not in log.text

    audit = admin.get("/audit", params={"action": "budget.threshold", "limit": 1000}).json()
    mine = [row for row in audit["rows"] if row["target"] == f"team:{tenant.team_id}"]
    assert sorted(row["data"]["percent"] for row in mine) == [50, 80, 100]


def test_a_circuit_opening_is_alerted_and_audited(
    gateway: GatewayProcess, admin: httpx.Client, tenant: Tenant, receiver: WebhookReceiver
) -> None:
    other = create_tenant(admin, f"alerts-circuit-{secrets.token_hex(3)}")
    for _ in range(2):  # two failures in a row open it
        assert _ask(gateway, other, "fake-error-500").status_code >= 500
    assert _ask(gateway, other, "fake-error-500").status_code == 503  # open: not even tried

    def opened() -> list[Received]:
        return [
            hit
            for hit in receiver.on("/ops")
            if hit.status == 200
            and hit.headers["x-fluxrouter-event"] == "deployment.circuit_opened"
        ]

    hits = eventually(opened, timeout=20)
    time.sleep(1.5)  # the watch looks every second: it raised it once
    assert len(opened()) == 1
    data = json.loads(hits[0].body)["data"]
    assert data["deployment"] == "openai/fake-error-500"
    assert (data["reason"], data["consecutive_failures"]) == ("consecutive_failures", 2)
    assert verify(
        SECRET, hits[0].headers["x-fluxrouter-signature"], hits[0].body, now=int(time.time())
    )
    assert not [hit for hit in receiver.on("/chat") if "circuit" in hit.body.decode()]

    audit = admin.get("/audit", params={"action": "deployment.circuit_open", "limit": 100})
    rows = audit.json()["rows"]
    assert [row["target"] for row in rows] == ["deployment:openai/fake-error-500"]


def test_the_delivery_log_is_the_operators_only(gateway: GatewayProcess, tenant: Tenant) -> None:
    answer = httpx.get(
        f"{gateway.base_url}/admin/v1/alerts/deliveries",
        headers={"Authorization": f"Bearer {tenant.key}"},
        timeout=10,
    )
    assert answer.status_code in (401, 403)
    assert answer.headers["content-type"].startswith("application/problem+json")
    with gateway.admin() as admin:
        wrong = admin.get("/alerts/deliveries", params={"status": "lost"})
    assert wrong.status_code == 400
    assert wrong.headers["content-type"].startswith("application/problem+json")
