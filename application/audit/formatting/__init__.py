"""Where an event becomes an audit row: the audit context reads each audited event of every
context through one formatter, looked up by the event's exact type.

The formatters of a context's events sit in one module here (two for teams), each ending with
its `ENTRIES`; an event type that appends no row is named in its module's `NOT_AUDITED`, with
the reason. A row's fields never change for an event already recorded: the
hash chain covers them (tests/unit/application/audit_rows_expected.json holds them).
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain

from application.audit.formatting import (
    billing,
    conversations,
    delivery,
    providers,
    teams_orgs,
    teams_people,
)
from application.audit.formatting.entries import Formatter
from domains.audit.facts import AuditFacts
from domains.shared.events import Event

FORMATTERS: Mapping[type[Event], Formatter] = dict(
    chain(
        teams_orgs.ENTRIES,
        teams_people.ENTRIES,
        billing.ENTRIES,
        conversations.ENTRIES,
        providers.ENTRIES,
        delivery.ENTRIES,
    )
)

NOT_AUDITED: frozenset[type[Event]] = frozenset(
    chain(conversations.NOT_AUDITED, providers.NOT_AUDITED)
)


def audit_facts(event: Event) -> AuditFacts | None:
    """The audit row `event` appends, or None when it is not audited."""
    formatter = FORMATTERS.get(type(event))
    return None if formatter is None else formatter(event)
