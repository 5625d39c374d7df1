from sqlalchemy import BigInteger, Column, Index, String, Table, Text

from infrastructure.db.tables.meta import metadata

audit_log = Table(
    "audit_log",
    metadata,
    Column(
        "seq",
        BigInteger().with_variant(BigInteger(), "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("ts", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("target", String(300), nullable=False),
    Column("data", Text(), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("event_id", String(32), nullable=True, unique=True),
    Index("ix_audit_log_actor_seq", "actor", "seq"),
    Index("ix_audit_log_action_seq", "action", "seq"),
    Index("ix_audit_log_target_seq", "target", "seq"),
    Index("ix_audit_log_ts_seq", "ts", "seq"),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", BigInteger(), primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("ts", String(32), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", String(200), nullable=False),
    Column("chain", String(64), nullable=True),  # null: written before checkpoints named it
)
