"""All tables share one MetaData, so alembic sees one schema; each context has its own module."""

from infrastructure.db.tables.alerts import alert_deliveries
from infrastructure.db.tables.analytics import (
    analytics_by_class,
    analytics_by_key,
    analytics_by_model,
    analytics_by_tag,
    analytics_hourly,
    analytics_summaries,
    analytics_watermark,
)
from infrastructure.db.tables.audit import audit_checkpoints, audit_log
from infrastructure.db.tables.billing import (
    request_bodies,
    request_log,
    request_tags,
    usage_records,
)
from infrastructure.db.tables.conversations import (
    conversation_messages,
    conversations,
    prompt_versions,
    prompts,
    stored_responses,
)
from infrastructure.db.tables.directory import directory_groups, group_members, scim_tokens
from infrastructure.db.tables.limits import (
    budgets,
    model_price_tiers,
    model_prices,
    org_budget_caps,
    rate_limits,
)
from infrastructure.db.tables.messaging import outbox, outbox_dead_letters
from infrastructure.db.tables.meta import metadata
from infrastructure.db.tables.read_models import projection_applied, usage_rollup
from infrastructure.db.tables.sso import sso_connections, sso_identities, sso_one_time, sso_sessions
from infrastructure.db.tables.system import system_settings
from infrastructure.db.tables.teams import admin_tokens, orgs, teams, users, virtual_keys

__all__ = [
    "admin_tokens",
    "alert_deliveries",
    "analytics_by_class",
    "analytics_by_key",
    "analytics_by_model",
    "analytics_by_tag",
    "analytics_hourly",
    "analytics_summaries",
    "analytics_watermark",
    "audit_checkpoints",
    "audit_log",
    "budgets",
    "conversation_messages",
    "conversations",
    "directory_groups",
    "group_members",
    "metadata",
    "model_price_tiers",
    "model_prices",
    "org_budget_caps",
    "orgs",
    "outbox",
    "outbox_dead_letters",
    "projection_applied",
    "prompt_versions",
    "prompts",
    "rate_limits",
    "request_bodies",
    "request_log",
    "request_tags",
    "scim_tokens",
    "sso_connections",
    "sso_identities",
    "sso_one_time",
    "sso_sessions",
    "stored_responses",
    "system_settings",
    "teams",
    "usage_records",
    "usage_rollup",
    "users",
    "virtual_keys",
]
