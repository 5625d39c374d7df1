"""What the audit log keeps of an event: the fields of its row before it is chained."""

from __future__ import annotations

from typing import Any

import msgspec


class AuditFacts(msgspec.Struct, frozen=True, kw_only=True):
    """Who did what to which target, and the details: never a secret, a prompt or a response."""

    actor: str
    action: str
    target: str
    data: dict[str, Any]
