"""Hand-built events for unit tests (msgspec structs do not come from `st.from_type`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domains.billing.events import UsageRecorded
from domains.providers.events import CompletionFinished
from domains.shared.events import Event
from domains.teams.events import KeyIssued, KeyRevoked, KeyRotated, OrgCreated, TeamCreated

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


def one_of_each() -> list[Event]:
    """One instance of every concrete event, with every optional field filled in."""
    return [
        OrgCreated(org_id="org-1", name="Acme ünïcode", actor="admin", occurred_at=WHEN),
        TeamCreated(team_id="team-1", org_id="org-1", name="Research", actor="admin"),
        KeyIssued(
            key_id="key-1",
            team_id="team-1",
            org_id="org-1",
            user_id="user-1",
            name="ci",
            prefix="fr-abcdefgh",
            models=("gpt-4o-mini", "openai/gpt-4o"),
            actor="admin",
        ),
        KeyRevoked(key_id="key-1", team_id="team-1", org_id="org-1", actor="admin"),
        KeyRotated(
            key_id="key-2",
            new_key_id="key-3",
            team_id="team-1",
            org_id="org-1",
            expires_at=WHEN,
            actor="admin",
        ),
        completion(),
        usage(),
    ]
