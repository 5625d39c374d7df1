"""audit log privileges and query indexes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

PostgreSQL: no privilege on the audit tables for PUBLIC (only their owner, and the roles
`fluxrouter migrate` grants SELECT and INSERT to, reach them; see migrations/privileges.py).
Both databases: the indexes of the admin API's filters, (target, seq) and (ts, seq).
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_AUDIT_TABLES = ("audit_log", "audit_checkpoints")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _AUDIT_TABLES:
            op.execute(f"REVOKE ALL ON TABLE {table} FROM PUBLIC")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_target_seq", ["target", "seq"], unique=False)
        batch_op.create_index("ix_audit_log_ts_seq", ["ts", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_ts_seq")
        batch_op.drop_index("ix_audit_log_target_seq")
