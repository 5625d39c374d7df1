"""Budget forecast alerts through the running gateway on both shapes: with four weeks of spend
in the rollups, the periodic job forecasts each team's monthly budget; the team whose projection
reaches its limit gets one `budget.forecast_exceeded`, audited and POSTed signed once to a
webhook receiver on loopback, however many times the job runs; the other team gets none."""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from infrastructure.alerts.signing import verify
from infrastructure.db.engine import create_sync_engine
from infrastructure.db.tables import analytics_hourly
from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config
from tests.support.services import REDIS_URL, postgres_database
from tests.support.tenants import Tenant, create_tenant, eventually
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver

SECRET = "whsec-" + secrets.token_hex(16)
DAILY_USD = 10


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as hooks:
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
    workdir: Path = tmp_path_factory.mktemp(f"gateway-forecast-{request.param}")
    receiver.clear()
    postgres = request.param == "postgres"
    with postgres_database() if postgres else contextlib.nullcontext("") as pg_url:
        config = gateway_config(
            database_url=pg_url or f"sqlite+aiosqlite:///{workdir / 'fluxrouter.db'}",
            redis_url=REDIS_URL if postgres else None,
            upstream_url=upstream.base_url,
            upstream_key=UPSTREAM_KEY,
        )
        config["workers"] = {"analytics_every_seconds": 0.3, "summaries_every_seconds": 1}
        config["outbox"] = {"retry_base_seconds": 0.3, "sweep_every_seconds": 0.2}
        config["alerts"] = {
            "webhooks": [
                {
                    "name": "ops",
                    "url": f"{receiver.url}/forecast",
                    "secret": "${ALERT_SECRET}",
                    "events": ["budget.forecast_exceeded"],
                }
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


def _history(database_url: str, tenant: Tenant) -> None:
    """`DAILY_USD` a day on each of the 28 whole days before today, in the hourly rollups."""
    today = datetime.now(UTC).date()
    rows = [
        {
            "hour": f"{(today - timedelta(days=back)).isoformat()}T12",
            "org_id": tenant.org_id,
            "team_id": tenant.team_id,
            "key_id": tenant.key_id,
            "user_id": "",
            "model": "gpt-4o",
            "requested_model": "gpt-4o",
            "provider": "openai",
            "dialect": "openai",
            "status_class": "2xx",
            "tier": "",
            "tag": "",
            "requests": 1,
            "errors": 0,
            "cancelled": 0,
            "prompt_tokens": 1,
            "cached_tokens": 0,
            "cache_write_tokens": 0,
            "completion_tokens": 1,
            "reasoning_tokens": 0,
            "cost_picousd": DAILY_USD * 10**12,
            "cache_hits": 0,
            "cache_saved_picousd": 0,
            "latency_sum_ms": 1.0,
            "ttft_count": 0,
            "ttft_sum_ms": 0.0,
            "latency_hist": "{}",
            "ttft_hist": "{}",
        }
        for back in range(1, 29)
    ]
    engine = create_sync_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(analytics_hourly), rows)
    finally:
        engine.dispose()


def test_a_budget_forecast_to_run_out_is_alerted_once_signed_and_audited(
    gateway: GatewayProcess, admin: httpx.Client, receiver: WebhookReceiver
) -> None:
    hot = create_tenant(admin, f"forecast-hot-{secrets.token_hex(3)}")
    cool = create_tenant(admin, f"forecast-cool-{secrets.token_hex(3)}")
    for tenant in (hot, cool):
        _history(gateway.database_url, tenant)
    # 10 a day: today alone is forecast 10, so 5 runs out today whatever the day of the month;
    # a month is at most 31 x 10 = 310, under a million
    answer = admin.put(f"/teams/{hot.team_id}/budget", json={"period": "month", "max_usd": 5})
    assert answer.status_code == 200, answer.text
    answer = admin.put(
        f"/teams/{cool.team_id}/budget", json={"period": "month", "max_usd": 1_000_000}
    )
    assert answer.status_code == 200, answer.text

    (hit,) = eventually(lambda: receiver.on("/forecast"), timeout=30)
    today = datetime.now(UTC).date()
    body = json.loads(hit.body)
    assert hit.headers["x-fluxrouter-event"] == "budget.forecast_exceeded"
    assert verify(SECRET, hit.headers["x-fluxrouter-signature"], hit.body, now=int(time.time()))
    assert body["type"] == "budget.forecast_exceeded"
    data = body["data"]
    assert (data["scope"], data["scope_id"], data["org_id"]) == ("team", hot.team_id, hot.org_id)
    assert data["window"] == f"team:{hot.team_id}:month:{today.isoformat()[:7]}"
    assert (data["limit"], data["runs_out_on"]) == ("5", today.isoformat())

    def audited() -> list[dict[str, object]]:
        rows = admin.get("/audit", params={"action": "budget.forecast", "limit": 100}).json()
        return [row for row in rows["rows"] if str(row["target"]).startswith("team:")]

    (row,) = eventually(audited)
    assert row["target"] == f"team:{hot.team_id}"
    # several more runs of the job (one a second) and sweeps: still one alert, one row
    time.sleep(3)
    assert len(receiver.on("/forecast")) == 1
    assert len(audited()) == 1
