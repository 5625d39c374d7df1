"""request bodies (opted in per team or key, scrubbed) and the request log's retention

- `teams.log_bodies`, `virtual_keys.log_bodies`: whether the calls of a team, of a key, keep
  their bodies (off by default);
- `request_bodies`: the prompt and the answer of a call, scrubbed, keyed as its record of
  `request_log` (`ts`, `id`);
- on PostgreSQL, `request_log` and `request_bodies` become tables partitioned by day on `ts`
  (declarative partitioning: one partition a day, and a default one for a day without its own),
  the existing records moved into them, so that retention drops whole partitions instead of
  deleting rows.

Revision ID: 0021_request_bodies_retention
Revises: 0020_alert_deliveries
Create Date: 2026-12-07
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0021_request_bodies_retention"
down_revision = "0020_alert_deliveries"
branch_labels = None
depends_on = None

LOG_INDEXES = {
    "ix_request_log_org_id_ts": ["org_id", "ts", "id"],
    "ix_request_log_team_id_ts": ["team_id", "ts", "id"],
    "ix_request_log_user_id_ts": ["user_id", "ts", "id"],
    "ix_request_log_key_id_ts": ["key_id", "ts", "id"],
    "ix_request_log_model_ts": ["model", "ts", "id"],
    "ix_request_log_request_id": ["request_id"],
}
AHEAD_DAYS = 7
"""Partitions made ahead at the migration (the pruning job keeps making them ahead)."""


def _bodies_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("ts", sa.DateTime(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("prompt_truncated", sa.Boolean(), nullable=False),
        sa.Column("response_truncated", sa.Boolean(), nullable=False),
    ]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _partition(table: str, day: date) -> str:
    following = day + timedelta(days=1)
    return (
        f'CREATE TABLE IF NOT EXISTS "{table}_p{day:%Y%m%d}" PARTITION OF "{table}" '
        f"FOR VALUES FROM ('{day.isoformat()}') TO ('{following.isoformat()}')"
    )


def _partitioned_postgres() -> None:
    bind = op.get_bind()
    today = datetime.now(UTC).date()
    oldest = bind.execute(sa.text("SELECT min(ts) FROM request_log")).scalar()
    first = oldest.date() if oldest is not None else today
    days = _days(first, today + timedelta(days=AHEAD_DAYS))
    # request_log: a partitioned copy, the records moved into it, the old table dropped
    op.execute("ALTER TABLE request_log RENAME TO request_log_unpartitioned")
    op.execute("ALTER INDEX pk_request_log RENAME TO pk_request_log_unpartitioned")
    for name in LOG_INDEXES:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_unpartitioned")
    op.execute(
        "CREATE TABLE request_log (LIKE request_log_unpartitioned INCLUDING DEFAULTS) "
        "PARTITION BY RANGE (ts)"
    )
    op.execute("ALTER TABLE request_log ADD CONSTRAINT pk_request_log PRIMARY KEY (ts, id)")
    for name, columns in LOG_INDEXES.items():
        op.create_index(name, "request_log", columns)
    op.execute('CREATE TABLE "request_log_default" PARTITION OF request_log DEFAULT')
    for day in days:
        op.execute(_partition("request_log", day))
    op.execute("INSERT INTO request_log SELECT * FROM request_log_unpartitioned")
    op.execute("DROP TABLE request_log_unpartitioned")
    # request_bodies: partitioned from the start
    columns = ", ".join(
        f"{column.name} {column.type.compile(dialect=bind.dialect)}"
        + (" NOT NULL" if not column.nullable else "")
        for column in _bodies_columns()
    )
    op.execute(
        f"CREATE TABLE request_bodies ({columns}, "
        "CONSTRAINT pk_request_bodies PRIMARY KEY (ts, id)) PARTITION BY RANGE (ts)"
    )
    op.execute('CREATE TABLE "request_bodies_default" PARTITION OF request_bodies DEFAULT')
    for day in _days(today, today + timedelta(days=AHEAD_DAYS)):
        op.execute(_partition("request_bodies", day))


def upgrade() -> None:
    for table in ("teams", "virtual_keys"):
        op.add_column(
            table,
            sa.Column("log_bodies", sa.Boolean(), nullable=False, server_default=sa.false()),
        )
    if op.get_bind().dialect.name == "postgresql":
        _partitioned_postgres()
        return
    op.create_table(
        "request_bodies",
        *_bodies_columns(),
        sa.PrimaryKeyConstraint("ts", "id", name="pk_request_bodies"),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE request_bodies")
        op.execute("ALTER TABLE request_log RENAME TO request_log_partitioned")
        op.execute("ALTER INDEX pk_request_log RENAME TO pk_request_log_partitioned")
        for name in LOG_INDEXES:
            op.execute(f"ALTER INDEX {name} RENAME TO {name}_partitioned")
        op.execute(
            "CREATE TABLE request_log (LIKE request_log_partitioned INCLUDING DEFAULTS)"
        )
        op.execute("ALTER TABLE request_log ADD CONSTRAINT pk_request_log PRIMARY KEY (ts, id)")
        op.execute("INSERT INTO request_log SELECT * FROM request_log_partitioned")
        op.execute("DROP TABLE request_log_partitioned")
        for name, columns in LOG_INDEXES.items():
            op.create_index(name, "request_log", columns)
    else:
        op.drop_table("request_bodies")
    for table in ("teams", "virtual_keys"):
        # in place, also on SQLite (3.35 and later): a copy of the table, which alembic's batch
        # mode makes there, could not drop the original that other tables' keys point at
        op.execute(f"ALTER TABLE {table} DROP COLUMN log_bodies")
