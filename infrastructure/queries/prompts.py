"""Reads of the teams' prompt libraries: for the admin API, and to render a prompt a chat names."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.db.tables import prompt_versions, prompts


class PromptView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    org_id: str
    team_id: str
    name: str
    description: str | None
    latest_version: int
    created_at: datetime
    updated_at: datetime


class PromptVersionView(msgspec.Struct, frozen=True, kw_only=True):
    prompt_id: str
    version: int
    messages: list[dict[str, Any]]
    variables: list[str]
    created_by: str
    created_at: datetime


_PROMPT = tuple(prompts.c[name] for name in PromptView.__struct_fields__)
_VERSION = tuple(prompt_versions.c[name] for name in PromptVersionView.__struct_fields__)


async def _rows(engine: AsyncEngine, query: Any) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in (await conn.execute(query)).all()]


async def prompts_of(engine: AsyncEngine, team_id: str) -> list[PromptView]:
    """A team's prompts, by name."""
    query = select(*_PROMPT).where(prompts.c.team_id == team_id).order_by(prompts.c.name)
    return [PromptView(**row) for row in await _rows(engine, query)]


async def prompt_named(engine: AsyncEngine, team_id: str, name: str) -> PromptView | None:
    query = select(*_PROMPT).where(prompts.c.team_id == team_id, prompts.c.name == name)
    rows = await _rows(engine, query)
    return PromptView(**rows[0]) if rows else None


async def versions_of(engine: AsyncEngine, prompt_id: str) -> list[PromptVersionView]:
    """Every version of a prompt, oldest first."""
    query = (
        select(*_VERSION)
        .where(prompt_versions.c.prompt_id == prompt_id)
        .order_by(prompt_versions.c.version)
    )
    return [PromptVersionView(**row) for row in await _rows(engine, query)]


async def prompt_version(
    engine: AsyncEngine, team_id: str, name: str, version: int | None
) -> PromptVersionView | None:
    """The named version of a team's prompt, or its latest."""
    wanted = prompts.c.latest_version if version is None else version
    query = (
        select(*_VERSION)
        .join(prompts, prompts.c.id == prompt_versions.c.prompt_id)
        .where(
            prompts.c.team_id == team_id,
            prompts.c.name == name,
            prompt_versions.c.version == wanted,
        )
    )
    rows = await _rows(engine, query)
    return PromptVersionView(**rows[0]) if rows else None
