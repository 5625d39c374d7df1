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
    # The relay's retries: how many it made, when the next is due, and the last failure seen
    # (the subscriber, the error's class and its redacted message).
    Column("attempts", Integer(), nullable=False, server_default=text("0")),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("first_failed_at", UtcDateTime(), nullable=True),
    Column("failed_subscriber", String(200), nullable=True),
    Column("error_class", String(200), nullable=True),
    Column("error_message", String(500), nullable=True),
    Index("ix_outbox_type_id", "type", "id"),
    Index(
        "ix_outbox_pending",
        "id",
        postgresql_where=text("dispatched_at IS NULL"),
        sqlite_where=text("dispatched_at IS NULL"),
    ),
)

# Events the relay gave up on after its retries: out of the outbox's pending rows (marked
# dispatched there, the payload stays), listed and replayed by the operator.
outbox_dead_letters = Table(
    "outbox_dead_letters",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("event_id", String(32), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("subscriber", String(200), nullable=True),
    Column("error_class", String(200), nullable=True),
    Column("error_message", String(500), nullable=True),
    Column("attempts", Integer(), nullable=False),
    Column("first_failed_at", UtcDateTime(), nullable=True),
    Column("dead_lettered_at", UtcDateTime(), nullable=False),
    Column("replayed_at", UtcDateTime(), nullable=True),
    Column("replayed_by", String(200), nullable=True),
    Index("ix_outbox_dead_letters_event_id", "event_id"),
)
