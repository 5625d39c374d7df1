"""The budget forecast check on both databases: a generated history whose trend crosses a team's
monthly budget raises one `BudgetForecastExceeded` however often the check runs, the outbox relay
audits it, and a webhook receiver on loopback gets it once, signed; a budget the trend does not
reach raises nothing. Figures hand-computed in `_history`."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from domains.billing.events import BudgetForecastExceeded
from infrastructure.alerts.deliveries import AlertDeliveries
from infrastructure.alerts.sender import WebhookSender
from infrastructure.alerts.signing import verify
from infrastructure.db.engine import create_sync_engine
from infrastructure.db.event_codec import EventCodec, all_event_types
from infrastructure.db.tables import analytics_hourly, audit_log, budgets, orgs, outbox, teams
from infrastructure.net.outbound import OutboundPolicy
from infrastructure.projections.budget_forecasts import BudgetForecasts
from infrastructure.settings.alerts import AlertsSettings, WebhookSettings
from tests.integration.conftest import migrated_database, serving_container
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver

CODEC = EventCodec(all_event_types())
SECRET = "whsec-forecast-0123456789"
NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
FIRST = date(2026, 11, 12)  # 28 days before today, the 10th
ORG, HOT, COOL = "org-forecast", "team-hot", "team-cool"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with migrated_database(request.param, tmp_path, "fluxrouter_forecast_alerts") as url:
        yield url


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as hooks:
        yield hooks


def _row(team_id: str, day: date, usd: Decimal) -> dict[str, object]:
    return {
        "hour": f"{day.isoformat()}T12",
        "org_id": ORG,
        "team_id": team_id,
        "key_id": f"key-{team_id}",
        "user_id": "",
        "model": "gpt-4o",
        "requested_model": "gpt-4o",
        "provider": "openai",
        "dialect": "openai",
        "status_class": "2xx",
        "tier": "",
        "tag": "",
        "requests": 10,
        "errors": 0,
        "cancelled": 0,
        "prompt_tokens": 1000,
        "cached_tokens": 0,
        "cache_write_tokens": 0,
        "completion_tokens": 100,
        "reasoning_tokens": 0,
        "cost_picousd": int(usd * 10**12),
        "cache_hits": 0,
        "cache_saved_picousd": 0,
        "latency_sum_ms": 100.0,
        "ttft_count": 0,
        "ttft_sum_ms": 0.0,
        "latency_hist": "{}",
        "ttft_hist": "{}",
    }


def _history(engine: sa.Engine) -> None:
    """Both teams spend `1 + 0.1·t` USD on day t (t = 1 is Nov 12, t = 28 Dec 9), nothing yet
    today (t = 29). December so far: t = 20..28, 30.6; the trend is the line itself, so today
    adds 3.9 and Dec 11..31 (t = 30..50) 105: 139.5 projected at the month's end. The
    cumulative spend reaches 100 on Dec 25 (t = 44: 99.6 + 5.4). The hot team's monthly budget
    is 100 USD (crossed), the cool team's 140 (not); the cool team's daily token budget has no
    USD limit and is not forecast."""
    created = NOW - timedelta(days=60)
    with engine.begin() as conn:
        conn.execute(sa.insert(orgs), [{"id": ORG, "name": "Forecast", "created_at": created}])
        conn.execute(
            sa.insert(teams),
            [
                {"id": team, "org_id": ORG, "name": team, "created_at": created}
                for team in (HOT, COOL)
            ],
        )
        conn.execute(
            sa.insert(budgets),
            [
                {**budget, "updated_at": created}
                for budget in (
                    {"scope": "team", "scope_id": HOT, "period": "month", "max_usd": Decimal(100)},
                    {"scope": "team", "scope_id": COOL, "period": "month", "max_usd": Decimal(140)},
                    {
                        "scope": "team",
                        "scope_id": COOL,
                        "period": "day",
                        "max_usd": None,
                        "max_tokens": 10**9,
                    },
                )
            ],
        )
        conn.execute(
            sa.insert(analytics_hourly),
            [
                _row(team, FIRST + timedelta(days=t - 1), Decimal(1) + Decimal("0.1") * t)
                for team in (HOT, COOL)
                for t in range(1, 29)
            ],
        )


def _deliveries(engine: sa.Engine, receiver: WebhookReceiver) -> AlertDeliveries:
    settings = AlertsSettings(
        webhooks=[
            WebhookSettings(
                name="ops",
                url=f"{receiver.url}/forecast",
                secret=SECRET,
                events=["budget.forecast_exceeded"],
            )
        ],
        timeout_seconds=5,
    )
    return AlertDeliveries(
        engine, CODEC, settings, WebhookSender(OutboundPolicy(["127.0.0.1"]), timeout=5)
    )


async def _relay_twice(database: str) -> tuple[int, int]:
    """The outbox relay's sweep, twice, as the serving process runs it."""
    async with serving_container(database) as container:
        first = await container.relay.sweep(container.bus.publish, older_than=0)
        return first, await container.relay.sweep(container.bus.publish, older_than=0)


def test_a_trend_crossing_a_budget_raises_one_audited_signed_alert(
    database: str, receiver: WebhookReceiver
) -> None:
    engine = create_sync_engine(database)
    try:
        _history(engine)
        (raised,) = BudgetForecasts(engine, CODEC).run(NOW)
        assert (raised.scope, raised.scope_id, raised.org_id, raised.period) == (
            "team",
            HOT,
            ORG,
            "month",
        )
        assert raised.window == f"team:{HOT}:month:2026-12"
        assert (raised.projected, raised.limit, raised.runs_out_on) == (
            "139.5",
            "100",
            "2026-12-25",
        )
        # again, later the same day, and by another worker: nothing more
        assert BudgetForecasts(engine, CODEC).run(NOW) == []
        assert BudgetForecasts(engine, CODEC).run(NOW + timedelta(hours=6)) == []
        with engine.connect() as conn:
            (row,) = conn.execute(
                sa.select(outbox).where(outbox.c.type == "BudgetForecastExceeded")
            ).all()
        assert row.event_id == raised.event_id
        assert row.dispatched_at is None  # the relay hands it on

        first, again = asyncio.run(_relay_twice(database))
        assert first >= 1
        assert again == 0
        with engine.connect() as conn:
            audited = conn.execute(
                sa.select(audit_log).where(audit_log.c.action == "budget.forecast")
            ).all()
            dispatched = conn.execute(
                sa.select(outbox.c.dispatched_at).where(outbox.c.event_id == raised.event_id)
            ).scalar_one()
        (entry,) = audited
        assert (entry.actor, entry.target, entry.event_id) == (
            "system",
            f"team:{HOT}",
            row.event_id,
        )
        assert json.loads(entry.data)["runs_out_on"] == "2026-12-25"
        assert dispatched is not None

        deliveries = _deliveries(engine, receiver)
        payload = bytes(row.payload).decode()
        assert isinstance(CODEC.decode(payload), BudgetForecastExceeded)
        (planned,) = deliveries.plan([payload])
        assert deliveries.plan([payload]) == []  # handed on again: planned once
        assert deliveries.attempt(planned, 1) is None
        (hit,) = receiver.on("/forecast")
        assert hit.headers["x-fluxrouter-event"] == "budget.forecast_exceeded"
        assert verify(SECRET, hit.headers["x-fluxrouter-signature"], hit.body, now=int(time.time()))
        body = json.loads(hit.body)
        assert body["event_id"] == raised.event_id
        assert body["data"]["runs_out_on"] == "2026-12-25"
        assert body["data"]["limit"] == "100"
    finally:
        engine.dispose()
