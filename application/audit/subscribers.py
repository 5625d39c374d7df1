"""The audit context appends a hash-chained row for every audited event, read as a row by its
formatter (application/audit/formatting)."""

from __future__ import annotations

from application.audit.formatting import FORMATTERS
from application.audit.uow import AuditUnitOfWork
from domains.audit.chain import AuditRow, chain_row, format_ts
from domains.shared.events import Event


async def when_event_append_audit(events: list[Event], uow: AuditUnitOfWork) -> None:
    audited = [
        (event, formatter(event))
        for event in events
        if (formatter := FORMATTERS.get(type(event))) is not None
    ]
    if not audited:
        return
    async with uow:
        head, done = await uow.audit.lock_head(event.event_id for event, _ in audited)
        rows: list[tuple[AuditRow, str | None]] = []
        for event, fact in audited:
            if event.event_id in done:
                continue
            row = chain_row(
                prev=head,
                ts=format_ts(event.occurred_at),
                actor=fact.actor,
                action=fact.action,
                target=fact.target,
                data=fact.data,
            )
            rows.append((row, event.event_id))
            done.add(event.event_id)
            head = (row.seq, row.hash)
        await uow.audit.append_all(rows)
        await uow.commit()
