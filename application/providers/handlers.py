"""Providers command handlers."""

from __future__ import annotations

from application.providers.commands import RecordCompletions
from application.shared.uow import UnitOfWork


async def record_completions(command: RecordCompletions, uow: UnitOfWork) -> None:
    async with uow:
        uow.publish(*command.completions)
        await uow.commit()
