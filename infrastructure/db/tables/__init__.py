"""All tables share one MetaData, so alembic sees one schema; each context has its own module."""

from infrastructure.db.tables.audit import audit_log
from infrastructure.db.tables.billing import usage_records
from infrastructure.db.tables.messaging import outbox
from infrastructure.db.tables.meta import metadata
from infrastructure.db.tables.read_models import projection_applied, usage_rollup
from infrastructure.db.tables.system import system_settings
from infrastructure.db.tables.teams import orgs, teams, virtual_keys

__all__ = [
    "audit_log",
    "metadata",
    "orgs",
    "outbox",
    "projection_applied",
    "system_settings",
    "teams",
    "usage_records",
    "usage_rollup",
    "virtual_keys",
]
