"""The base of every domain event, and the facts an event gives the audit log.

Events are frozen msgspec Structs tagged with their class name, so any event round-trips through
JSON on its own. A field is never renamed in place: add a new one and keep the old.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from domains.shared.clock import utcnow
from domains.shared.ids import new_id


class AuditFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the audit log keeps of an event: never a secret, a prompt or a response."""

    actor: str
    action: str
    target: str
    data: dict[str, Any]


class Event(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    event_id: str = msgspec.field(default_factory=new_id)
    occurred_at: datetime = msgspec.field(default_factory=utcnow)

    def audit_facts(self) -> AuditFacts | None:
        """The audit row this event appends, or None when it is not audited."""
        return None


class Command(msgspec.Struct, frozen=True, kw_only=True):
    """An instruction to one handler. Commands are imperative: IssueKey, CreateOrg."""
