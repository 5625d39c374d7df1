"""The summary of the configuration last started with, as one row of `system_settings`."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domains.providers.config_change import Summary
from infrastructure.db.tables import system_settings
from infrastructure.db.upsert import insert_for

CONFIG_SUMMARY_SETTING = "config_summary"


def _text(summary: Summary) -> str:
    return json.dumps(summary, sort_keys=True, separators=(",", ":"))


class SqlConfigRecord:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def current(self) -> dict[str, Any] | None:
        found = await self._conn.execute(
            select(system_settings.c.value).where(system_settings.c.name == CONFIG_SUMMARY_SETTING)
        )
        row = found.first()
        return None if row is None else dict(json.loads(row[0]))

    async def replace(self, previous: Summary | None, current: Summary) -> bool:
        if previous is None:
            statement = (
                insert_for(self._conn.dialect, system_settings)
                .values(name=CONFIG_SUMMARY_SETTING, value=_text(current))
                .on_conflict_do_nothing(index_elements=["name"])
            )
        else:
            statement = (
                update(system_settings)
                .where(system_settings.c.name == CONFIG_SUMMARY_SETTING)
                .where(system_settings.c.value == _text(previous))
                .values(value=_text(current))
            )
        result = await self._conn.execute(statement.returning(system_settings.c.name))
        return result.first() is not None
