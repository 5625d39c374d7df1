"""The gateway's accounting lag: requests served versus usage records written.

The gateway records finished calls after the response: an in-memory queue, written in batches
to the outbox, then dispatched to billing (``usage_records``) and audit. Right after the load
stops, this compares the usage records with the requests wrk saw completed, then waits for the
gateway to catch up (a completed request must give exactly one usage record).
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

_USAGE = sa.text("SELECT count(*) FROM usage_records")
_PENDING = sa.text("SELECT count(*) FROM outbox WHERE dispatched_at IS NULL")


def sync_url(async_url: str) -> str:
    return async_url.replace("+aiosqlite", "")


def catch_up(
    database_url: str, served: int, *, timeout: float = 180.0, stall: float = 30.0
) -> dict[str, Any]:
    """Polls until usage records >= `served`, `timeout` passes, or nothing moves for `stall`."""
    engine = sa.create_engine(sync_url(database_url), poolclass=sa.pool.NullPool)
    try:
        started = time.monotonic()
        usage_at_stop, pending_at_stop = _counts(engine)
        usage, last_change, last_usage = usage_at_stop, started, usage_at_stop
        while usage < served:
            now = time.monotonic()
            if now - started > timeout or now - last_change > stall:
                break
            time.sleep(0.5)
            usage = _counts(engine)[0]
            if usage != last_usage:
                last_change, last_usage = time.monotonic(), usage
        return {
            "requests_served": served,
            "usage_records_when_load_stopped": usage_at_stop,
            "outbox_pending_when_load_stopped": pending_at_stop,
            "caught_up": usage >= served,
            "catch_up_s": round(time.monotonic() - started, 1),
            "usage_records_final": usage,
        }
    finally:
        engine.dispose()


def _counts(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return int(conn.execute(_USAGE).scalar_one()), int(conn.execute(_PENDING).scalar_one())


def describe(seen: dict[str, Any]) -> str:
    text = (
        f"{seen['usage_records_when_load_stopped']} usage records for "
        f"{seen['requests_served']} requests served when the load stopped; "
    )
    if seen["caught_up"]:
        return text + f"caught up {seen['catch_up_s']} s later"
    return text + f"NOT caught up after {seen['catch_up_s']} s ({seen['usage_records_final']})"


def pending(database_url: str) -> int:
    """Events in the outbox not yet dispatched, now."""
    engine = sa.create_engine(sync_url(database_url), poolclass=sa.pool.NullPool)
    try:
        return _counts(engine)[1]
    finally:
        engine.dispose()
