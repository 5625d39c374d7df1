"""What the teams context needs from the outside world."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from domains.teams.groups import Group
from domains.teams.management import OrgHoldings
from domains.teams.model import Org, Team, VirtualKey
from domains.teams.scim_tokens import ScimToken
from domains.teams.sso import SsoConnection
from domains.teams.users import AdminToken, Role, User


class OrgRepository(Protocol):
    async def add(self, org: Org) -> None: ...
    async def get(self, org_id: str) -> Org | None: ...
    async def save(self, org: Org) -> None: ...

    async def holdings(self, org_id: str) -> OrgHoldings:
        """What the org still holds, counted once rows being added to it are in."""
        ...

    async def active_user_ids(self, org_id: str) -> list[str]: ...


class TeamRepository(Protocol):
    async def add(self, team: Team) -> None: ...
    async def get(self, team_id: str) -> Team | None: ...

    async def find_by_name(self, org_id: str, name: str) -> Team | None:
        """The org's team of that exact name."""
        ...

    async def save(self, team: Team) -> None:
        """Refuses (Conflict) a name another team of the org has."""
        ...


class KeyRepository(Protocol):
    async def add(self, key: VirtualKey) -> None: ...
    async def get(self, key_id: str) -> VirtualKey | None: ...
    async def save(self, key: VirtualKey) -> None: ...

    async def unrevoked_of_team(self, team_id: str) -> list[VirtualKey]:
        """The team's keys not revoked yet (expired ones too)."""
        ...


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Refuses (Conflict) an email already in the org, compared case-insensitively."""
        ...

    async def get(self, user_id: str) -> User | None:
        """The user, whose row stays locked against other changes until the transaction ends."""
        ...

    async def save(self, user: User) -> None:
        """Refuses (Conflict) a login name or email another person of the org has."""
        ...

    async def live_ids(self, org_id: str, user_ids: Iterable[str]) -> set[str]:
        """Which of these ids are people of the org, not deleted."""
        ...

    async def find_for_sign_in(
        self, org_id: str, *, user_name: str | None, email: str | None
    ) -> User | None:
        """The org's person (not deleted) whose login name or address this is, compared
        case-insensitively: how a sign-in finds someone SCIM provisioned."""
        ...

    async def count_active_owners(self, org_id: str) -> int:
        """Locks the org against other changes to its owners until the transaction ends, so two
        changes can't both see an owner to spare."""
        ...


class AdminTokenRepository(Protocol):
    async def add(self, token: AdminToken) -> None: ...
    async def get(self, token_id: str) -> AdminToken | None: ...
    async def save(self, token: AdminToken) -> None: ...


class GroupRepository(Protocol):
    async def add(self, group: Group) -> None:
        """Refuses (Conflict) a name already in the org, compared case-insensitively."""
        ...

    async def get(self, group_id: str) -> Group | None:
        """The group, locked against other changes until the transaction ends."""
        ...

    async def save(self, group: Group) -> None:
        """Writes the group and its members; removes a deleted one (the team stays)."""
        ...

    async def roles_of(self, user_id: str) -> list[Role]:
        """The roles that the groups a person is in grant."""
        ...

    async def find_by_name(self, org_id: str, name: str) -> Group | None:
        """The org's group of that name (case-insensitively), locked like `get`."""
        ...


class ScimTokenRepository(Protocol):
    async def add(self, token: ScimToken) -> None: ...
    async def get(self, token_id: str) -> ScimToken | None: ...
    async def save(self, token: ScimToken) -> None: ...


class SsoConnectionRepository(Protocol):
    async def add(self, connection: SsoConnection) -> None: ...
    async def get(self, connection_id: str) -> SsoConnection | None: ...

    async def save(self, connection: SsoConnection) -> None:
        """Writes the connection; removes a deleted one, and the identities linked through it."""
        ...


class SsoIdentityRepository(Protocol):
    async def user_for(self, connection_id: str, subject: str) -> str | None:
        """The person a connection's subject signed in as before."""
        ...

    async def link(self, connection_id: str, subject: str, user_id: str) -> None: ...


class DashboardSessionRepository(Protocol):
    """Dashboard sessions kept in the database (without Redis), in the unit's transaction."""

    async def end_for_user(self, user_id: str) -> int:
        """Ends every session of the person; how many there were."""
        ...
