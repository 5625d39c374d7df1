"""The base of every domain event and of every command.

Events are frozen msgspec Structs tagged with their class name, so any event round-trips through
JSON on its own. A field is never renamed in place: add a new one and keep the old.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from domains.shared.clock import utcnow
from domains.shared.ids import new_id


class Event(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    event_id: str = msgspec.field(default_factory=new_id)
    occurred_at: datetime = msgspec.field(default_factory=utcnow)


class Command(msgspec.Struct, frozen=True, kw_only=True):
    """An instruction to one handler. Commands are imperative: IssueKey, CreateOrg."""
