"""The teams context's repositories over the in-memory store (`TeamsUnitOfWork`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from domains.shared.errors import Conflict
from domains.teams.groups import Group, group_name_key
from domains.teams.management import OrgHoldings
from domains.teams.model import Org, Team, VirtualKey
from domains.teams.scim_tokens import ScimToken
from domains.teams.sso import SsoConnection
from domains.teams.users import AdminToken, Role, User, email_key, user_name_key
from tests.unit.application.fakes.staging import AggregateRepo, Staged

if TYPE_CHECKING:
    from tests.unit.application.fakes.unit import FakeUnitOfWork


class FakeOrgs(AggregateRepo[Org]):
    def __init__(
        self,
        uow: FakeUnitOfWork,
        table: dict[str, Org],
        *,
        teams: FakeTeams,
        users: FakeUsers,
        scim_tokens: FakeScimTokens,
        sso_connections: FakeSsoConnections,
    ) -> None:
        super().__init__(uow, table)
        self._teams, self._users = teams, users
        self._scim_tokens, self._sso_connections = scim_tokens, sso_connections

    async def holdings(self, org_id: str) -> OrgHoldings:
        return OrgHoldings(
            teams=sum(
                t.org_id == org_id and t.deleted_at is None for t in self._teams.view().values()
            ),
            scim_tokens=sum(
                t.org_id == org_id and t.revoked_at is None
                for t in self._scim_tokens.view().values()
            ),
            sso_connections=sum(
                c.org_id == org_id and not c.deleted for c in self._sso_connections.view().values()
            ),
        )

    async def active_user_ids(self, org_id: str) -> list[str]:
        return [
            u.id
            for u in self._users.view().values()
            if u.org_id == org_id and u.active and not u.deleted
        ]


class FakeTeams(AggregateRepo[Team]):
    async def find_by_name(self, org_id: str, name: str) -> Team | None:
        for team in self.view().values():
            if team.org_id == org_id and team.name == name:
                self._uow.seen.append(team)
                return team
        return None

    async def save(self, item: Team) -> None:
        for other in self.view().values():
            if other.id != item.id and other.org_id == item.org_id and other.name == item.name:
                raise Conflict(f"team {item.name} exists")
        await super().save(item)


class FakeKeys(AggregateRepo[VirtualKey]):
    async def unrevoked_of_team(self, team_id: str) -> list[VirtualKey]:
        keys = [k for k in self.view().values() if k.team_id == team_id and k.revoked_at is None]
        self._uow.seen.extend(keys)
        return keys


class FakeUsers(AggregateRepo[User]):
    async def add(self, item: User) -> None:
        self._refuse_taken(item)
        await super().add(item)

    async def save(self, item: User) -> None:
        self._refuse_taken(item)
        await super().save(item)

    def _refuse_taken(self, user: User) -> None:
        for other in self.view().values():
            if other.id == user.id or other.org_id != user.org_id or other.deleted:
                continue
            if user.email_key is not None and other.email_key == user.email_key:
                raise Conflict("a person of the org has that email")
            if user.user_name_key is not None and other.user_name_key == user.user_name_key:
                raise Conflict("a person of the org has that login name")

    async def live_ids(self, org_id: str, user_ids: Iterable[str]) -> set[str]:
        users = self.view()
        return {
            i
            for i in user_ids
            if (u := users.get(i)) is not None and u.org_id == org_id and not u.deleted
        }

    async def find_for_sign_in(
        self, org_id: str, *, user_name: str | None, email: str | None
    ) -> User | None:
        for user in self.view().values():
            if user.org_id != org_id or user.deleted:
                continue
            if (user_name is not None and user.user_name_key == user_name_key(user_name)) or (
                email is not None and user.email_key == email_key(email)
            ):
                self._uow.seen.append(user)
                return user
        return None

    async def count_active_owners(self, org_id: str) -> int:
        return sum(
            u.org_id == org_id and u.is_active_owner and not u.deleted for u in self.view().values()
        )


class FakeAdminTokens(AggregateRepo[AdminToken]):
    pass


class FakeGroups(AggregateRepo[Group]):
    async def add(self, item: Group) -> None:
        if await self._named(item.org_id, item.name_key, other_than=item.id) is not None:
            raise Conflict(f"group {item.display_name} exists")
        await super().add(item)

    async def save(self, item: Group) -> None:
        self._uow.seen.append(item)
        if item.deleted:
            self.unset(item.id)
        else:
            self.put(item.id, item)

    async def roles_of(self, user_id: str) -> list[Role]:
        return [g.role for g in self.view().values() if user_id in g.members and g.role is not None]

    async def find_by_name(self, org_id: str, name: str) -> Group | None:
        group = await self._named(org_id, group_name_key(name), other_than=None)
        if group is not None:
            self._uow.seen.append(group)
        return group

    async def _named(self, org_id: str, key: str, *, other_than: str | None) -> Group | None:
        for group in self.view().values():
            if group.org_id == org_id and group.name_key == key and group.id != other_than:
                return group
        return None


class FakeScimTokens(AggregateRepo[ScimToken]):
    pass


class FakeSsoConnections(AggregateRepo[SsoConnection]):
    def __init__(
        self,
        uow: FakeUnitOfWork,
        table: dict[str, SsoConnection],
        *,
        identities: FakeSsoIdentities,
    ) -> None:
        super().__init__(uow, table)
        self._identities = identities

    async def save(self, item: SsoConnection) -> None:
        self._uow.seen.append(item)
        if not item.deleted:
            self.put(item.id, item)
            return
        self.unset(item.id)
        identities = self._identities
        for key in list(identities.view()):
            if key[0] == item.id:
                identities.unset(key)


class FakeSsoIdentities(Staged[tuple[str, str], str]):
    """The person each (connection, subject) signed in as."""

    async def user_for(self, connection_id: str, subject: str) -> str | None:
        return self.read((connection_id, subject))

    async def link(self, connection_id: str, subject: str, user_id: str) -> None:
        self.put((connection_id, subject), user_id)


class FakeDashboardSessions(Staged[str, str]):
    """Dashboard sessions: the person of each session id."""

    async def end_for_user(self, user_id: str) -> int:
        ended = [s for s, u in self.view().items() if u == user_id]
        for session in ended:
            self.unset(session)
        return len(ended)
