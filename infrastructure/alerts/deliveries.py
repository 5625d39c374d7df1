"""The delivery log's writer, run by the Dramatiq actors (synchronous).

`plan` writes one row per alert event and webhook that asks for it; the unique key
(event, webhook) makes an event handed on twice (a replay, the relay's sweep, another process)
planned once. `attempt` claims a row for one try (a compare-and-set on its status and count of
tries, so a message Dramatiq delivers twice is tried once), POSTs its body signed afresh, and
records the answer: delivered, due again after a backoff, or failed for good.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import Engine, Row, select, update

from domains.shared.clock import utcnow
from domains.shared.ids import new_id
from infrastructure.alerts.backoff import retry_delay, retryable
from infrastructure.alerts.payloads import alert_name, body
from infrastructure.alerts.sender import Answer, WebhookSender
from infrastructure.alerts.signing import SIGNATURE_HEADER, signature_header
from infrastructure.db.event_codec import EventCodec
from infrastructure.db.tables import alert_deliveries
from infrastructure.db.upsert import insert_for
from infrastructure.settings.alerts import AlertsSettings, WebhookSettings

log = structlog.get_logger("fluxrouter.alerts")

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"


class AlertDeliveries:
    def __init__(
        self,
        engine: Engine,
        codec: EventCodec,
        settings: AlertsSettings,
        sender: WebhookSender,
    ) -> None:
        self._engine = engine
        self._codec = codec
        self._settings = settings
        self._hooks = {hook.name: hook for hook in settings.webhooks}
        self._sender = sender
        self._stuck_after = settings.timeout_seconds + 30.0

    def plan(self, payloads: Iterable[str]) -> list[str]:
        """The deliveries the events make that were not planned before (their ids)."""
        now = utcnow()
        rows = []
        for payload in payloads:
            event = self._codec.decode(payload)
            name = alert_name(event)
            if name is None:
                continue
            for hook in self._settings.webhooks:
                if not hook.wants(name):
                    continue
                delivery_id = new_id()
                rows.append(
                    {
                        "id": delivery_id,
                        "event_id": event.event_id,
                        "event_type": name,
                        "webhook": hook.name,
                        "body": body(event, delivery_id, hook.format),
                        "status": PENDING,
                        "attempts": 0,
                        "created_at": now,
                        "next_attempt_at": now,
                    }
                )
        if not rows:
            return []
        with self._engine.connect() as conn:
            conn.execution_options(fluxrouter_writes=True)
            with conn.begin():
                fresh: list[str] = []
                for row in rows:  # few: an alert is rare
                    claim = (
                        insert_for(conn.dialect, alert_deliveries)
                        .values(row)
                        .on_conflict_do_nothing(index_elements=["event_id", "webhook"])
                        .returning(alert_deliveries.c.id)
                    )
                    claimed = conn.execute(claim).scalar()
                    if claimed is not None:
                        fresh.append(str(claimed))
        return fresh

    def attempt(self, delivery_id: str, attempt: int) -> float | None:
        """Try number `attempt` of the delivery, if it is still due; seconds until the next
        try when this one failed and may be retried, else None."""
        with self._engine.connect() as conn:
            conn.execution_options(fluxrouter_writes=True)
            with conn.begin():
                claimed = conn.execute(
                    update(alert_deliveries)
                    .where(
                        alert_deliveries.c.id == delivery_id,
                        alert_deliveries.c.status == PENDING,
                        alert_deliveries.c.attempts == attempt - 1,
                    )
                    # due again then if this try never ends (its process died)
                    .values(
                        status=SENDING,
                        attempts=attempt,
                        next_attempt_at=utcnow() + timedelta(seconds=self._stuck_after),
                    )
                ).rowcount
                row = conn.execute(
                    select(
                        alert_deliveries.c.event_id,
                        alert_deliveries.c.event_type,
                        alert_deliveries.c.webhook,
                        alert_deliveries.c.body,
                    ).where(alert_deliveries.c.id == delivery_id)
                ).first()
        if not claimed or row is None:
            return None
        hook = self._hooks.get(row.webhook)
        if hook is None:
            answer = Answer(None, "the webhook is no longer configured")
            return self._record(delivery_id, attempt, answer, final=True)
        answer = self._sender.post(
            hook.url, bytes(row.body), _headers(hook, row, delivery_id, attempt)
        )
        ok = answer.status is not None and 200 <= answer.status < 300
        final = ok or not retryable(answer.status) or attempt >= self._settings.max_attempts
        return self._record(delivery_id, attempt, answer, final=final)

    def overdue(self, *, grace: float, limit: int = 100) -> list[tuple[str, int]]:
        """The deliveries whose next try should have been made `grace` seconds ago and was
        not (its message was lost with a process, or its try never ended), as (id, the try
        to make); a try that never ended is made pending again. Sending one of them twice is
        harmless: a try is claimed once."""
        table = alert_deliveries
        due = utcnow() - timedelta(seconds=grace)
        with self._engine.connect() as conn:
            conn.execution_options(fluxrouter_writes=True)
            with conn.begin():
                rows = conn.execute(
                    select(table.c.id, table.c.status, table.c.attempts)
                    .where(table.c.status.in_((PENDING, SENDING)), table.c.next_attempt_at <= due)
                    .order_by(table.c.next_attempt_at)
                    .limit(limit)
                ).all()
                stuck = [row.id for row in rows if row.status == SENDING]
                if stuck:
                    conn.execute(
                        update(table)
                        .where(table.c.id.in_(stuck), table.c.status == SENDING)
                        .values(
                            status=PENDING, error="the try did not end", next_attempt_at=utcnow()
                        )
                    )
        return [(str(row.id), int(row.attempts) + 1) for row in rows]

    def _record(
        self, delivery_id: str, attempt: int, answer: Answer, *, final: bool
    ) -> float | None:
        now = utcnow()
        delivered = answer.status is not None and 200 <= answer.status < 300
        delay = None
        if delivered:
            values = {"status": DELIVERED, "delivered_at": now, "next_attempt_at": None}
        elif final:
            values = {"status": FAILED, "next_attempt_at": None}
        else:
            settings = self._settings
            delay = retry_delay(
                attempt, base=settings.retry_base_seconds, most=settings.retry_max_seconds
            )
            values = {"status": PENDING, "next_attempt_at": now + timedelta(seconds=delay)}
        with self._engine.connect() as conn:
            conn.execution_options(fluxrouter_writes=True)
            with conn.begin():
                conn.execute(
                    update(alert_deliveries)
                    .where(alert_deliveries.c.id == delivery_id)
                    .values(status_code=answer.status, error=answer.error, **values)
                )
        log.info(
            "alerts.delivery",
            delivery_id=delivery_id,
            attempt=attempt,
            status=values["status"],
            status_code=answer.status,
            error=answer.error,
        )
        return delay


def _headers(
    hook: WebhookSettings, row: Row[Any, Any, Any, Any], delivery_id: str, attempt: int
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "FluxRouter-Alerts",
        "X-FluxRouter-Event": str(row.event_type),
        "X-FluxRouter-Event-Id": str(row.event_id),
        "X-FluxRouter-Delivery-Id": delivery_id,
        "X-FluxRouter-Attempt": str(attempt),
    }
    if hook.secret:
        headers[SIGNATURE_HEADER] = signature_header(hook.secret, int(time.time()), bytes(row.body))
    return headers
