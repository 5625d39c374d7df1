from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, String, Table, text

from infrastructure.db.tables.meta import metadata
from infrastructure.db.types import UtcDateTime

# The transactional outbox, kept as the event history: dispatched rows stay, so read models can
# be rebuilt by replaying them.
outbox = Table(
    "outbox",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event_id", String(32), nullable=False, unique=True),
    Column("type", String(100), nullable=False),
    Column("payload", LargeBinary(), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("dispatched_at", UtcDateTime(), nullable=True),
    # when the row was written: the relay's sweep waits from here, not from occurred_at
    Column("stored_at", UtcDateTime(), nullable=True),
    Index("ix_outbox_type_id", "type", "id"),
    Index(
        "ix_outbox_pending",
        "id",
        postgresql_where=text("dispatched_at IS NULL"),
        sqlite_where=text("dispatched_at IS NULL"),
    ),
)
