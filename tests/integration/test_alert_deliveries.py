"""The alerts' delivery log on both databases, against a receiver on loopback: an event is
planned once per webhook however often it is handed on, a try is made once however often its
message comes, a 5xx is retried with backoff until the tries run out, a 4xx is not, and the
secret is nowhere in the log."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from domains.billing.events import BudgetThresholdCrossed
from domains.providers.events import DeploymentCircuitOpened
from domains.shared.clock import utcnow
from infrastructure.alerts.deliveries import AlertDeliveries
from infrastructure.alerts.sender import WebhookSender
from infrastructure.alerts.signing import verify
from infrastructure.db.engine import create_sync_engine
from infrastructure.db.event_codec import EventCodec, all_event_types
from infrastructure.db.tables import alert_deliveries
from infrastructure.net.outbound import OutboundPolicy
from infrastructure.settings.alerts import AlertsSettings, WebhookSettings
from tests.integration.conftest import migrated_database
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver

CODEC = EventCodec(all_event_types())
SECRET = "whsec-integration-0123456789"


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    with migrated_database(request.param, tmp_path, "fluxrouter_alerts") as url:
        sync = create_sync_engine(url)
        yield sync
        sync.dispose()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver(always={"/down": 503, "/gone": 410}) as hooks:
        yield hooks


def _deliveries(engine: sa.Engine, receiver: WebhookReceiver, path: str) -> AlertDeliveries:
    settings = AlertsSettings(
        webhooks=[
            WebhookSettings(
                name="ops",
                url=f"{receiver.url}{path}",
                secret=SECRET,
                events=["budget.threshold_crossed"],
            )
        ],
        max_attempts=3,
        retry_base_seconds=1.5,
        retry_max_seconds=2.0,
        timeout_seconds=5,
    )
    sender = WebhookSender(OutboundPolicy(["127.0.0.1"]), timeout=5)
    return AlertDeliveries(engine, CODEC, settings, sender)


def _crossed() -> str:
    event = BudgetThresholdCrossed(
        scope="team",
        scope_id="team-1",
        period="day",
        window="team:team-1:day:2026-12-07",
        measure="usd",
        percent=50,
        spent="5.000000",
        limit="10.000000",
    )
    return CODEC.encode(event).decode()


def _rows(engine: sa.Engine) -> list[sa.Row[tuple[object, ...]]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(alert_deliveries)).all())


def test_an_event_handed_on_twice_is_planned_and_sent_once(
    engine: sa.Engine, receiver: WebhookReceiver
) -> None:
    deliveries = _deliveries(engine, receiver, "/ok")
    payload = _crossed()
    other = CODEC.encode(
        DeploymentCircuitOpened(
            deployment="a/m",
            provider="a",
            model="m",
            reason="error_rate",
            consecutive_failures=1,
            calls=20,
            failures=10,
            cooldown_seconds=30,
        )
    ).decode()
    (planned,) = deliveries.plan([payload, other])  # the webhook does not ask for circuits
    assert deliveries.plan([payload]) == []  # replayed: planned before
    assert deliveries.attempt(planned, 1) is None  # delivered: nothing more to do
    assert deliveries.attempt(planned, 1) is None  # the same message again: not sent again
    (hit,) = receiver.on("/ok")
    assert hit.headers["x-fluxrouter-delivery-id"] == planned
    assert verify(SECRET, hit.headers["x-fluxrouter-signature"], hit.body, now=int(time.time()))
    assert json.loads(hit.body)["id"] == planned
    (row,) = _rows(engine)
    assert (row.status, row.attempts, row.status_code, row.error) == ("delivered", 1, 200, None)
    assert row.delivered_at is not None
    assert SECRET.encode() not in row.body


def test_a_5xx_is_retried_with_backoff_until_the_tries_run_out(
    engine: sa.Engine, receiver: WebhookReceiver
) -> None:
    deliveries = _deliveries(engine, receiver, "/down")
    (planned,) = deliveries.plan([_crossed()])
    assert deliveries.attempt(planned, 1) == 1.5
    (row,) = _rows(engine)
    assert (row.status, row.attempts, row.status_code, row.error) == (
        "pending",
        1,
        503,
        "HTTP 503",
    )
    assert row.next_attempt_at is not None
    assert deliveries.attempt(planned, 2) == 2.0  # twice as long, capped
    assert deliveries.attempt(planned, 3) is None  # the last try
    (row,) = _rows(engine)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 3, None)
    assert [hit.headers["x-fluxrouter-attempt"] for hit in receiver.on("/down")] == ["1", "2", "3"]


def test_a_4xx_is_not_retried(engine: sa.Engine, receiver: WebhookReceiver) -> None:
    deliveries = _deliveries(engine, receiver, "/gone")
    (planned,) = deliveries.plan([_crossed()])
    assert deliveries.attempt(planned, 1) is None
    (row,) = _rows(engine)
    assert (row.status, row.status_code) == ("failed", 410)


def test_a_refused_address_is_a_failed_try_that_names_no_url(engine: sa.Engine) -> None:
    settings = AlertsSettings(
        webhooks=[WebhookSettings(name="inside", url="http://10.1.2.3/hook?token=abc")],
        max_attempts=1,
    )
    deliveries = AlertDeliveries(
        engine, CODEC, settings, WebhookSender(OutboundPolicy(), timeout=2)
    )
    (planned,) = deliveries.plan([_crossed()])
    assert deliveries.attempt(planned, 1) is None
    (row,) = _rows(engine)
    assert row.status == "failed"
    assert row.status_code is None
    assert row.error == "refused by the outbound guard: not_https"


def test_an_overdue_delivery_is_handed_on_again_and_a_try_that_never_ended_is_redone(
    engine: sa.Engine, receiver: WebhookReceiver
) -> None:
    deliveries = _deliveries(engine, receiver, "/ok")
    (planned,) = deliveries.plan([_crossed()])
    assert deliveries.overdue(grace=60) == []  # its message is on its way
    assert deliveries.overdue(grace=-1) == [(planned, 1)]  # lost with a process
    with engine.begin() as conn:  # a try whose process died while it was out
        conn.execute(
            sa.update(alert_deliveries).values(
                status="sending",
                attempts=1,
                next_attempt_at=utcnow() - timedelta(minutes=5),
            )
        )
    assert deliveries.overdue(grace=-1) == [(planned, 2)]
    (row,) = _rows(engine)
    assert (row.status, row.attempts, row.error) == ("pending", 1, "the try did not end")
    assert deliveries.attempt(planned, 2) is None
    assert deliveries.attempt(planned, 2) is None  # handed on twice: tried once
    assert len(receiver.on("/ok")) == 1
    (row,) = _rows(engine)
    assert (row.status, row.attempts) == ("delivered", 2)
