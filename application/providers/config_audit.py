"""Recording the configuration the gateway starts with: a change since the last start is one
`config.change` row in the audit log, written in the same transaction as the new summary, once
however many replicas start with it."""

from __future__ import annotations

import hashlib
import json

from application.providers.uow import ProvidersUnitOfWork
from domains.providers.config_change import Summary, changes
from domains.providers.events import ConfigChanged
from domains.shared.events import Command


class RecordConfig(Command, frozen=True, kw_only=True):
    summary: dict[str, object]


def digest(summary: Summary) -> str:
    return hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()


async def record_config(command: RecordConfig, uow: ProvidersUnitOfWork) -> ConfigChanged | None:
    async with uow:
        previous = await uow.config.current()
        if previous == command.summary:
            return None
        if not await uow.config.replace(previous, command.summary):
            return None  # another replica recorded this start
        diff = changes(previous, command.summary)
        event = ConfigChanged(
            digest=digest(command.summary),
            added=diff["added"],
            removed=diff["removed"],
            changed=diff["changed"],
        )
        uow.publish(event)
        await uow.commit()
        return event
