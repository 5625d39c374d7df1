"""Writing events that belong to no aggregate (thresholds crossed, refusals counted) to the
outbox in one transaction; the bus then hands them to their subscribers (the audit log)."""

from __future__ import annotations

from application.shared.uow import UnitOfWork
from domains.shared.events import Command, Event


class RecordEvents(Command, frozen=True, kw_only=True):
    events: tuple[Event, ...]


async def record_events(command: RecordEvents, uow: UnitOfWork) -> None:
    async with uow:
        uow.publish(*command.events)
        await uow.commit()
