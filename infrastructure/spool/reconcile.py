"""What a dead process's spool still owes the database: the calls it served, once each.

- A finished call is written as it was recorded (its event id makes the write idempotent).
- A call that started but neither finished nor was released (it was streaming, or waiting for
  the upstream, when the process died) is charged what its admission reserved: its prompt as
  counted and the most output it could produce, recorded as `cancelled` with
  `usage_reported: false`. It may have cost less; it cannot have cost more, so spend never
  under-counts.
- A call released without finishing used nothing and is not recorded.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from domains.providers.events import CompletionFinished
from infrastructure.spool.records import Finished, Record, Released, Started


class Owed(msgspec.Struct, kw_only=True):
    finished: list[CompletionFinished]
    """Calls recorded as they ended, in the order they ended."""
    reconciled: list[CompletionFinished]
    """Calls that started and never ended, charged their reservation."""

    @property
    def events(self) -> list[CompletionFinished]:
        return [*self.finished, *self.reconciled]


def owed(records: Iterable[Record]) -> Owed:
    finished: dict[str, CompletionFinished] = {}
    started: dict[str, Started] = {}
    released: set[str] = set()
    for record in records:
        if isinstance(record, Finished):
            finished.setdefault(record.event.event_id, record.event)
        elif isinstance(record, Started):
            started.setdefault(record.call_id, record)
        elif isinstance(record, Released):
            released.add(record.call_id)
    reconciled = [
        charged(call)
        for call_id, call in started.items()
        if call_id not in finished and call_id not in released
    ]
    return Owed(finished=list(finished.values()), reconciled=reconciled)


def charged(call: Started) -> CompletionFinished:
    """A call cut by its process's death, charged what it reserved."""
    return CompletionFinished(
        event_id=call.call_id,
        occurred_at=call.at,
        request_id=call.request_id,
        endpoint=call.endpoint,
        key_id=call.key_id,
        team_id=call.team_id,
        org_id=call.org_id,
        user_id=call.user_id,
        provider=call.provider,
        model=call.model,
        upstream_model=call.upstream_model,
        stream=call.stream,
        status=200,
        outcome="cancelled",
        input_tokens=call.input_tokens,
        output_tokens=call.output_tokens,
        usage_reported=False,
        transport=call.transport,
    )
