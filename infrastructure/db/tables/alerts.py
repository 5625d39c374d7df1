from sqlalchemy import Column, Index, Integer, LargeBinary, String, Table, UniqueConstraint

from infrastructure.db.tables.meta import metadata
from infrastructure.db.types import UtcDateTime

# The alerts' delivery log: one row per event and webhook (the unique key is what makes a
# replayed event go out once), its body as signed and sent, and where its tries stand.
alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("event_id", String(32), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("webhook", String(100), nullable=False),
    Column("body", LargeBinary(), nullable=False),
    # pending (due at next_attempt_at), sending, delivered, failed
    Column("status", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("status_code", Integer(), nullable=True),
    Column("error", String(500), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("delivered_at", UtcDateTime(), nullable=True),
    UniqueConstraint("event_id", "webhook", name="uq_alert_deliveries_event_id_webhook"),
    Index("ix_alert_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
)
