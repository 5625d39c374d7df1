"""Whether a team's or a key's calls keep their bodies (prompt and answer, scrubbed) in the
request log: off unless an owner or admin of its org (or the operator) turns it on. Each change
is audited (`team.bodies_logging`, `key.bodies_logging`)."""

from __future__ import annotations

from typing import Literal

import msgspec
from litestar import Controller, get, put

from application.teams.access import no_such
from application.teams.commands import SetBodiesLogging
from infrastructure.queries.bodies_logging import bodies_logged
from interfaces.http.admin.guard import require_admin
from interfaces.http.dependencies import Bus, Engine, Visible


class BodiesLoggingBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    enabled: bool


class BodiesLoggingOut(msgspec.Struct, kw_only=True):
    scope: Literal["team", "key"]
    id: str
    enabled: bool
    """Whether this team's (this key's) own setting keeps bodies: a key's calls keep them
    when the key or its team says so."""


async def _answer(
    engine: Engine, scope: Literal["team", "key"], target_id: str
) -> BodiesLoggingOut:
    enabled = await bodies_logged(engine, scope, target_id)
    if enabled is None:
        raise no_such(scope)
    return BodiesLoggingOut(scope=scope, id=target_id, enabled=enabled)


class BodiesLoggingController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: teams"]

    @get("/teams/{team_id:str}/request-bodies", summary="Whether the team's calls keep bodies")
    async def team_bodies(self, engine: Engine, visible: Visible, team_id: str) -> BodiesLoggingOut:
        team = await visible.team(team_id)
        return await _answer(engine, "team", team.id)

    @put(
        "/teams/{team_id:str}/request-bodies",
        summary="Opt a team's calls in or out of keeping their bodies (scrubbed)",
    )
    async def set_team_bodies(
        self, bus: Bus, engine: Engine, visible: Visible, team_id: str, data: BodiesLoggingBody
    ) -> BodiesLoggingOut:
        team = await visible.managed_team(team_id)
        await bus.handle(
            SetBodiesLogging(
                scope="team",
                target_id=team.id,
                enabled=data.enabled,
                actor=visible.principal.actor,
            )
        )
        return await _answer(engine, "team", team.id)

    @get("/keys/{key_id:str}/request-bodies", summary="Whether the key's calls keep bodies")
    async def key_bodies(self, engine: Engine, visible: Visible, key_id: str) -> BodiesLoggingOut:
        key = await visible.key(key_id)
        return await _answer(engine, "key", key.id)

    @put(
        "/keys/{key_id:str}/request-bodies",
        summary="Opt a key's calls in or out of keeping their bodies (scrubbed)",
    )
    async def set_key_bodies(
        self, bus: Bus, engine: Engine, visible: Visible, key_id: str, data: BodiesLoggingBody
    ) -> BodiesLoggingOut:
        key = await visible.key(key_id)
        visible.principal.require_manage(key.org_id, "key")
        await bus.handle(
            SetBodiesLogging(
                scope="key", target_id=key.id, enabled=data.enabled, actor=visible.principal.actor
            )
        )
        return await _answer(engine, "key", key.id)
