"""An org's SCIM bearer tokens: what its identity provider provisions people and groups with.

A token ("frs-" and 43 URL-safe characters) is shown once and kept only as a SHA-256 hash. It
reaches its own org only, and nothing once revoked.

A token carries the reach of whoever minted it: their role then (the admin key's is owner). It
changes, deactivates and deletes no one who outranks that role, and puts no one in or out of a
group that grants a role above it, just as its minter could not through the admin API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domains.shared.aggregate import Aggregate
from domains.shared.clock import utcnow
from domains.shared.errors import Conflict
from domains.shared.ids import new_id
from domains.teams.events import ScimTokenIssued, ScimTokenRevoked
from domains.teams.model import Org, issue_secret
from domains.teams.users import Role, as_role

SCIM_TOKEN_SCHEME = "frs-"
SCIM_TOKEN_PREFIX_LENGTH = 12  # "frs-" and the first eight random characters


def looks_like_scim_token(value: str) -> bool:
    return value.startswith(SCIM_TOKEN_SCHEME) and len(value) >= len(SCIM_TOKEN_SCHEME) + 32


@dataclass(eq=False)
class ScimToken(Aggregate):
    id: str
    org_id: str
    prefix: str
    secret_hash: str
    created_at: datetime = field(default_factory=utcnow)
    revoked_at: datetime | None = None
    role: Role | None = None  # the minter's; None: minted before roles were recorded

    def __post_init__(self) -> None:
        Aggregate.__init__(self)

    @classmethod
    def issue(cls, org: Org, *, actor: str, actor_role: str) -> tuple[ScimToken, str]:
        """A token acting with `actor_role` (the minter's role), and its secret."""
        secret, prefix, secret_hash = issue_secret(SCIM_TOKEN_SCHEME, SCIM_TOKEN_PREFIX_LENGTH)
        token = cls(
            id=new_id(),
            org_id=org.id,
            prefix=prefix,
            secret_hash=secret_hash,
            role=as_role(actor_role),
        )
        token.record(
            ScimTokenIssued(
                token_id=token.id,
                org_id=org.id,
                prefix=token.prefix,
                actor=actor,
                role=as_role(actor_role),
            )
        )
        return token, secret

    @property
    def reach(self) -> Role:
        return token_reach(self.role)

    def revoke(self, *, actor: str) -> None:
        if self.revoked_at is not None:
            raise Conflict(f"SCIM token {self.id} is already revoked")
        self.revoked_at = utcnow()
        self.record(ScimTokenRevoked(token_id=self.id, org_id=self.org_id, actor=actor))


def token_reach(role: str | None) -> Role:
    """The role a token acts with: its minter's, or an admin's for a token minted before the
    role was recorded (the least role that could mint one)."""
    return as_role(role) if role is not None else "admin"
