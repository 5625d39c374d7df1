"""What the teams context tells the others, one module per seam: orgs and teams, credentials,
users, the SCIM directory, single sign-on. Never carries a key's or an admin token's secret or
its hash."""

from __future__ import annotations

from domains.shared.events import Event
from domains.teams.events import bodies, credentials, directory, orgs, sso, users
from domains.teams.events.bodies import BodiesLoggingSet
from domains.teams.events.credentials import (
    AccessRefused,
    AdminTokenIssued,
    AdminTokenRevoked,
    KeyChanged,
    KeyIssued,
    KeyRevoked,
    KeyRotated,
)
from domains.teams.events.directory import (
    GroupChanged,
    GroupCreated,
    GroupDeleted,
    GroupMembersChanged,
    ScimTokenIssued,
    ScimTokenRevoked,
)
from domains.teams.events.orgs import (
    OrgChanged,
    OrgCreated,
    OrgDeleted,
    OrgSignInDomainsSet,
    TeamChanged,
    TeamCreated,
    TeamDeleted,
    TeamRenamed,
)
from domains.teams.events.sso import (
    SignedIn,
    SignedOut,
    SignInFailed,
    SsoConnectionChanged,
    SsoConnectionCreated,
    SsoConnectionDeleted,
    SsoIdentityLinked,
    SsoRoleCapped,
)
from domains.teams.events.users import (
    UserChanged,
    UserCreated,
    UserDeleted,
    UserIdentityChanged,
)

EVENTS: tuple[type[Event], ...] = (
    *orgs.EVENTS,
    *credentials.EVENTS,
    *users.EVENTS,
    *directory.EVENTS,
    *sso.EVENTS,
    *bodies.EVENTS,
)

__all__ = [
    "EVENTS",
    "AccessRefused",
    "AdminTokenIssued",
    "AdminTokenRevoked",
    "BodiesLoggingSet",
    "GroupChanged",
    "GroupCreated",
    "GroupDeleted",
    "GroupMembersChanged",
    "KeyChanged",
    "KeyIssued",
    "KeyRevoked",
    "KeyRotated",
    "OrgChanged",
    "OrgCreated",
    "OrgDeleted",
    "OrgSignInDomainsSet",
    "ScimTokenIssued",
    "ScimTokenRevoked",
    "SignInFailed",
    "SignedIn",
    "SignedOut",
    "SsoConnectionChanged",
    "SsoConnectionCreated",
    "SsoConnectionDeleted",
    "SsoIdentityLinked",
    "SsoRoleCapped",
    "TeamChanged",
    "TeamCreated",
    "TeamDeleted",
    "TeamRenamed",
    "UserChanged",
    "UserCreated",
    "UserDeleted",
    "UserIdentityChanged",
]
