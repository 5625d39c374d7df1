"""One line of the audit context's table of formatters: an event type and the function that
reads an instance of it as an audit row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from domains.audit.facts import AuditFacts
from domains.shared.events import Event

E = TypeVar("E", bound=Event)

Formatter = Callable[[Any], AuditFacts]
Entry = tuple[type[Event], Formatter]


def formats(event_type: type[E], formatter: Callable[[E], AuditFacts]) -> Entry:
    """The entry for `event_type` (mypy checks the formatter takes that very type)."""
    return (event_type, formatter)
