"""Finding what an admin call names, as its caller may see it (the `visible` dependency).

Each lookup answers the same 404 for an id that does not exist and for one in an org the caller
does not see, so ids of other orgs cannot be probed. Role checks come after, as 403s
(`application.teams.access`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from application.teams.access import Principal, no_such
from domains.billing.budget import Scope
from infrastructure.queries import directory
from infrastructure.queries.directory import (
    AdminTokenView,
    KeyView,
    OrgView,
    TeamView,
    UserView,
)


class Visibility:
    """The directory's records, each found only when `principal` sees its org."""

    __slots__ = ("engine", "principal")

    def __init__(self, engine: AsyncEngine, principal: Principal) -> None:
        self.engine, self.principal = engine, principal

    async def org(self, org_id: str) -> str:
        if not self.principal.sees(org_id) or not await directory.org_exists(self.engine, org_id):
            raise no_such("org")
        return org_id

    async def org_view(self, org_id: str) -> OrgView:
        org = None
        if self.principal.sees(org_id):
            org = await directory.org_by_id(self.engine, org_id)
        if org is None:
            raise no_such("org")
        return org

    async def team(self, team_id: str) -> TeamView:
        team = await directory.team_by_id(self.engine, team_id)
        if team is None or not self.principal.sees(team.org_id):
            raise no_such("team")
        return team

    async def managed_team(self, team_id: str) -> TeamView:
        """The team, if the caller sees it (404) and may change it (403)."""
        team = await self.team(team_id)
        self.principal.require_manage(team.org_id, "team")
        return team

    async def key(self, key_id: str) -> KeyView:
        key = await directory.key_by_id(self.engine, key_id)
        if key is None or not self.principal.sees(key.org_id):
            raise no_such("key")
        return key

    async def user(self, user_id: str) -> UserView:
        user = await directory.user_by_id(self.engine, user_id)
        if user is None or not self.principal.sees(user.org_id):
            raise no_such("user")
        return user

    async def admin_token(self, token_id: str) -> AdminTokenView:
        token = await directory.admin_token_by_id(self.engine, token_id)
        if token is None or not self.principal.sees(token.org_id):
            raise no_such("admin token")
        return token

    async def scope_org(self, scope: Scope, scope_id: str) -> str:
        """The org the org, team, person or key belongs to, when the caller sees it."""
        found: str | None = None
        if scope == "org":
            found = scope_id if await directory.org_exists(self.engine, scope_id) else None
        else:
            lookup = {"team": directory.team_by_id, "key": directory.key_by_id}.get(scope)
            view = await (lookup or directory.user_by_id)(self.engine, scope_id)
            found = None if view is None else view.org_id
        if found is None:
            raise no_such(scope)
        self.principal.require_read(found, scope)
        return found
