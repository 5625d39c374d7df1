"""Who is calling the admin API and which orgs they may see and change.

The admin key is the operator: every org, every action. A person's admin token (or, later, an
SSO session) is scoped to the person's org and bounded by their role. Asking about another org's
resources is answered as if they did not exist (404), so ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from litestar.connection import ASGIConnection

from domains.teams.users import Role, manages
from interfaces.http.errors import ApiError

ROOT_ACTOR = "admin"


def no_such(what: str) -> ApiError:
    """The 404 for an id that does not exist and for one in another org alike."""
    return ApiError(404, f"There is no such {what}.", code="not_found")


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
        """404 unless the principal may see the org's resources."""
        if not self.sees(org_id):
            raise no_such(what)

    def require_manage(self, org_id: str, what: str = "resource") -> None:
        """404 unless the principal sees the org; 403 unless their role may change it."""
        self.require_read(org_id, what)
        if not manages(self.role):
            raise ApiError(
                403, f"The role {self.role!r} may not change this {what}.", code="forbidden"
            )

    def require_root(self) -> None:
        """403 unless this is the operator's admin key."""
        if not self.is_root:
            raise ApiError(403, "Only the operator's admin key may do this.", code="forbidden")


ROOT = Principal(actor=ROOT_ACTOR, role="owner")


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The principal the admin guard authenticated for this request."""
    return cast(Principal, connection.scope["state"]["principal"])
