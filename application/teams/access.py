"""Who is calling the admin API, and what they may see and change.

The admin key is the operator: every org, every action. A person's admin token or SSO session
is scoped to the person's org and bounded by their role. Asking about another org's resources
is answered as if they did not exist (`NotFound`), so ids cannot be probed; a role that may not
do what it asks is `Forbidden`, checked after.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from domains.shared.errors import Conflict, Forbidden, NotFound
from domains.teams.users import Role, as_role, manages, may_grant

ROOT_ACTOR = "admin"


def no_such(what: str) -> NotFound:
    """The refusal for an id that does not exist and for one in another org alike."""
    return NotFound(f"There is no such {what}.")


@dataclass(frozen=True, slots=True)
class Principal:
    actor: str  # as the audit log names them: "admin", or "user:<id>"
    role: Role
    org_id: str | None = None  # None: every org (the admin key)
    user_id: str | None = None

    @property
    def is_root(self) -> bool:
        return self.org_id is None

    def sees(self, org_id: str) -> bool:
        return self.org_id is None or self.org_id == org_id

    def require_read(self, org_id: str, what: str = "resource") -> None:
        """NotFound unless the principal may see the org's resources."""
        if not self.sees(org_id):
            raise no_such(what)

    def require_manage(self, org_id: str, what: str = "resource") -> None:
        """NotFound unless the principal sees the org; Forbidden unless their role may
        change it."""
        self.require_read(org_id, what)
        if not manages(self.role):
            raise Forbidden(f"The role {self.role!r} may not change this {what}.")

    def require_root(self) -> None:
        """Forbidden unless this is the operator's admin key."""
        if not self.is_root:
            raise Forbidden("Only the operator's admin key may do this.")

    def listed_org(self, org_id: str | None) -> str | None:
        """The org a list or a report covers: a person's own org (naming another is a
        NotFound); for the admin key, the org asked for, or every org (None)."""
        if self.org_id is None:
            return org_id
        if org_id is not None and org_id != self.org_id:
            raise no_such("org")
        return self.org_id


ROOT = Principal(actor=ROOT_ACTOR, role="owner")


def require_key_change(principal: Principal, org_id: str, holder_id: str | None) -> None:
    """Owners and admins change their org's keys; members their own; viewers none."""
    principal.require_read(org_id, "key")
    if principal.role == "viewer":
        raise Forbidden("The role 'viewer' may not change keys.")
    if principal.role == "member" and (holder_id is None or holder_id != principal.user_id):
        raise Forbidden("A member may change their own keys only.")


def key_holder_named(principal: Principal, user_id: str | None) -> str | None:
    """The person a new key is for, as far as the role decides it: a member's keys are their
    own, a viewer issues none. An owner's or admin's choice (None: the key is nobody's) is
    returned as it is; `key_holder` checks the person is in the team's org."""
    if principal.role == "viewer":
        raise Forbidden("The role 'viewer' may not issue keys.")
    if principal.role == "member":
        if user_id is not None and user_id != principal.user_id:
            raise Forbidden("A member may issue keys for themselves only.")
        return principal.user_id
    return user_id


async def key_holder(
    principal: Principal,
    user_id: str | None,
    team_org_id: str,
    org_of: Callable[[str], Awaitable[str]],
) -> str | None:
    """The user a new key of a team of `team_org_id` is for. A member's keys are their own; an
    owner or admin names a user of the team's org (or none: another org's is a `NotFound`, as
    if there were no such user); the admin key may name any user id. (`org_of`: the org of
    the user named, as far as the principal may see them.)"""
    named = key_holder_named(principal, user_id)
    if principal.role == "member" or principal.is_root or named is None:
        return named
    if await org_of(named) != team_org_id:
        raise no_such("user")
    return named


def require_granting(principal: Principal, role: str) -> None:
    """Forbidden unless the principal may give `role`."""
    if not may_grant(principal.role, as_role(role)):
        raise Forbidden(f"The role {principal.role!r} may not grant the role {role!r}.")


def require_acting_on(principal: Principal, org_id: str, role: str) -> None:
    """Unless the principal manages the person's org and outranks or equals the person."""
    principal.require_manage(org_id, "user")
    if not may_grant(principal.role, as_role(role)):
        raise Forbidden(
            f"The role {principal.role!r} may not act on a user whose role is {role!r}."
        )


def require_prompt_writer(principal: Principal) -> None:
    """Owners, admins and members publish to and delete from a prompt library."""
    if principal.role == "viewer":
        raise Forbidden("The role 'viewer' may not change the prompt library.")


def require_domain_owner(principal: Principal, org_id: str) -> None:
    """Only an owner of the org (or the admin key) declares its sign-in domains."""
    principal.require_manage(org_id, "org")
    if principal.role != "owner":
        raise Forbidden("Only an owner of the org declares its sign-in domains.")


def require_self_or_acting_on(principal: Principal, user_id: str, org_id: str, role: str) -> None:
    """A person reads and revokes their own admin tokens; otherwise `require_acting_on`."""
    if user_id != principal.user_id:
        require_acting_on(principal, org_id, role)


def require_not_declared(declared: bool) -> None:
    """An SSO connection the configuration file declares is changed there only."""
    if declared:
        raise Conflict("This connection is declared in the configuration file: change it there.")


def require_analytics_beyond_own_keys(principal: Principal, what: str) -> None:
    """A member reads the analytics of their own keys only: not `what` (an org's, a team's)."""
    if principal.role == "member" and not principal.is_root:
        raise Forbidden(f"A member reads the analytics of their own keys only, not {what}.")


def require_forecast_of_key(principal: Principal, holder_id: str | None) -> None:
    """A member reads the forecasts of their own keys only (`holder_id`: the key's person)."""
    member = principal.role == "member" and not principal.is_root
    if member and holder_id != principal.user_id:
        raise Forbidden("A member reads the forecasts of their own keys only.")


def conversations_listed(principal: Principal, user_id: str | None) -> tuple[str | None, bool]:
    """(whose conversations, whether anyone's) a listing covers: the org's owners and admins
    (and the admin key) list anyone's, or one person's; members and viewers their own only."""
    if principal.is_root or manages(principal.role):
        return user_id, user_id is None
    if user_id is not None and user_id != principal.user_id:
        raise Forbidden("A member or viewer lists their own conversations only.")
    return principal.user_id, False


def _owns(principal: Principal, owner_id: str | None) -> bool:
    return principal.user_id is not None and owner_id == principal.user_id


def require_conversation_reader(principal: Principal, owner_id: str | None) -> None:
    """A conversation is read by its owner (and the admin key) only."""
    if not (principal.is_root or _owns(principal, owner_id)):
        raise Forbidden("A conversation is read by its owner only.")


def require_conversation_deleter(principal: Principal, owner_id: str | None) -> None:
    """A conversation is deleted by its owner, the org's owners and admins, or the admin key."""
    if not (principal.is_root or _owns(principal, owner_id) or manages(principal.role)):
        raise Forbidden("A conversation is deleted by its owner or the org's owners and admins.")


def requests_listed(principal: Principal, user_id: str | None) -> str | None:
    """Whose records of the request log a caller reads: the operator's admin key and an org's
    owners, admins and viewers anyone's of the org (or the one person named); a member their
    own only (naming anyone else is a 403)."""
    if principal.role != "member" or principal.is_root:
        return user_id
    if user_id is not None and user_id != principal.user_id:
        raise Forbidden("A member reads the records of their own keys only.")
    return principal.user_id
