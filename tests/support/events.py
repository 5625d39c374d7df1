"""Builders of events for tests (msgspec structs do not come from `st.from_type`).

Each builder fills every field with a plausible value; a test passes only what it is about:
`key_revoked(actor="bob")`. One instance of every concrete event is in
`tests.support.every_event`; one more per branch of an audit row in `tests.support.audit_variants`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domains.billing.events import (
    RequestRefused,
    UsageRecorded,
)
from domains.providers.events import CompletionFinished
from domains.teams.events import (
    AccessRefused,
    KeyRevoked,
    OrgCreated,
    TeamCreated,
)

WHEN = datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def completion(**overrides: Any) -> CompletionFinished:
    fields: dict[str, Any] = {
        "request_id": "req-1",
        "endpoint": "chat",
        "key_id": "key-1",
        "team_id": "team-1",
        "org_id": "org-1",
        "user_id": "user-1",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "upstream_model": "gpt-4o-mini-2024-07-18",
        "stream": True,
        "status": 200,
        "outcome": "ok",
        "input_tokens": 1234,
        "output_tokens": 567,
        "cached_tokens": 200,
        "usage_reported": True,
        "latency_ms": 12.5,
        "transport": "websocket",
        "occurred_at": WHEN,
    }
    fields.update(overrides)
    return CompletionFinished(**fields)


def usage(**overrides: Any) -> UsageRecorded:
    fields: dict[str, Any] = {
        "usage_id": "usage-1",
        "source_event_id": "event-1",
        "request_id": "req-1",
        "org_id": "org-1",
        "team_id": "team-1",
        "user_id": None,
        "key_id": "key-1",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "endpoint": "chat",
        "input_tokens": 1234,
        "output_tokens": 567,
        "cached_tokens": 0,
        "cost_usd": Decimal("0.000525300000001"),
        "priced": True,
        "occurred_at": WHEN,
    }
    fields.update(overrides)
    return UsageRecorded(**fields)


def org_created(**overrides: Any) -> OrgCreated:
    fields: dict[str, Any] = {"org_id": "org-1", "name": "Acme", "actor": "admin"}
    fields.update(overrides)
    return OrgCreated(**fields)


def team_created(**overrides: Any) -> TeamCreated:
    fields: dict[str, Any] = {
        "team_id": "team-1",
        "org_id": "org-1",
        "name": "Research",
        "actor": "admin",
    }
    fields.update(overrides)
    return TeamCreated(**fields)


def key_revoked(**overrides: Any) -> KeyRevoked:
    fields: dict[str, Any] = {
        "key_id": "key-1",
        "team_id": "team-1",
        "org_id": "org-1",
        "actor": "admin",
    }
    fields.update(overrides)
    return KeyRevoked(**fields)


def access_refused(**overrides: Any) -> AccessRefused:
    fields: dict[str, Any] = {
        "surface": "v1",
        "prefix": "fr-abcdefgh",
        "reason": "invalid",
        "source_ip": "127.0.0.1",
        "count": 1,
        "first_at": WHEN,
        "last_at": WHEN,
    }
    fields.update(overrides)
    return AccessRefused(**fields)


def request_refused(**overrides: Any) -> RequestRefused:
    fields: dict[str, Any] = {
        "kind": "budget",
        "key_id": "key-1",
        "team_id": "team-1",
        "org_id": "org-1",
        "user_id": None,
        "limit": "team:team-1:month:2026-11",
        "measure": "usd",
        "count": 1,
        "first_at": WHEN,
        "last_at": WHEN,
    }
    fields.update(overrides)
    return RequestRefused(**fields)
