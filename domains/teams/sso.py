"""Single sign-on connections: how an org's people sign in to the dashboard through their
identity provider, by OpenID Connect or SAML 2.0.

A connection belongs to one org. Signing in through it creates the person in that org on their
first visit (just-in-time), or finds the one SCIM provisioned. `role_map` turns the identity
provider's groups into the org's directory groups: each named group links its members to a team,
grants them a role, or both. The OIDC client secret is held only sealed (encrypted by the
infrastructure), never in clear; the domain never sees it.

A connection acts on the authority of whoever last set it (`set_by`, with their role then,
`set_by_role`): it may grant no role above that role, so an org admin can't make a connection
that signs people in as owners. Creating or changing it refuses (Forbidden) what it would
grant above the role of the one who does it; signing in is capped again (see
`application.teams.sso_sign_in`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from domains.shared.aggregate import Aggregate
from domains.shared.clock import utcnow
from domains.shared.errors import Forbidden, InvalidValue
from domains.shared.ids import new_id
from domains.teams.events import SsoConnectionChanged, SsoConnectionCreated, SsoConnectionDeleted
from domains.teams.model import Org
from domains.teams.users import Role, as_role, outranks

Kind = Literal["oidc", "saml"]
KINDS: Final[tuple[Kind, ...]] = ("oidc", "saml")
DEFAULT_SCOPES: Final[tuple[str, ...]] = ("openid", "email", "profile")
MAX_GROUP_NAME = 200
MAX_ROLE_MAP = 200


@dataclass(frozen=True, kw_only=True)
class GroupGrant:
    """What belonging to one identity-provider group gives: a team, a role, or both."""

    team: str | None = None
    role: Role | None = None

    def as_dict(self) -> dict[str, str]:
        return {
            name: value
            for name, value in (("team", self.team), ("role", self.role))
            if value is not None
        }


@dataclass(frozen=True, kw_only=True)
class Identity:
    """What the identity provider vouched for, once its answer was checked."""

    subject: str  # OIDC `sub`, SAML NameID: unique per connection
    email: str | None = None
    user_name: str | None = None
    display_name: str | None = None
    groups: tuple[str, ...] = ()


def as_kind(kind: str) -> Kind:
    for known in KINDS:
        if kind == known:
            return known
    raise InvalidValue("`kind` must be oidc or saml")


def role_map_of(raw: Mapping[str, Mapping[str, Any]]) -> dict[str, GroupGrant]:
    """Checks a role map given as {group: {"team"?: name, "role"?: role}}."""
    if len(raw) > MAX_ROLE_MAP:
        raise InvalidValue(f"`role_map` may name at most {MAX_ROLE_MAP} groups")
    grants: dict[str, GroupGrant] = {}
    for group, grant in raw.items():
        if not group.strip() or len(group) > MAX_GROUP_NAME or "\x00" in group:
            raise InvalidValue(f"`role_map` group names must be 1 to {MAX_GROUP_NAME} characters")
        unknown = set(grant) - {"team", "role"}
        if unknown:
            raise InvalidValue(f"`role_map.{group}` may hold only `team` and `role`")
        team, role = grant.get("team"), grant.get("role")
        if team is None and role is None:
            raise InvalidValue(f"`role_map.{group}` must name a `team`, a `role` or both")
        if team is not None and (not isinstance(team, str) or not team.strip()):
            raise InvalidValue(f"`role_map.{group}.team` must be a team name")
        grants[group] = GroupGrant(team=team, role=as_role(str(role)) if role is not None else None)
    return grants


def _scopes(scopes: tuple[str, ...]) -> tuple[str, ...]:
    if "openid" not in scopes:
        raise InvalidValue("`scopes` must include openid")
    for scope in scopes:
        if not scope or any(c.isspace() or c in '"\\' for c in scope) or len(scope) > 100:
            raise InvalidValue("`scopes` must be words without spaces")
    return tuple(dict.fromkeys(scopes))


@dataclass(eq=False)
class SsoConnection(Aggregate):
    id: str
    org_id: str
    kind: Kind
    issuer: str | None = None  # OIDC
    client_id: str | None = None  # OIDC
    client_secret_sealed: str | None = None  # OIDC, encrypted
    scopes: tuple[str, ...] = DEFAULT_SCOPES  # OIDC
    groups_claim: str | None = None  # OIDC claim, or SAML attribute, that lists groups
    idp_metadata_xml: str | None = None  # SAML
    idp_entity_id: str | None = None  # SAML, read from the metadata
    role_map: dict[str, GroupGrant] = field(default_factory=dict)
    default_role: Role = "member"
    declared: bool = False  # declared in the configuration file (which wins at every start)
    set_by: str | None = None  # who last set it: "admin", "config", "user:<id>"
    set_by_role: Role = "admin"  # their role then: the most the connection may ever grant
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    deleted: bool = False

    def __post_init__(self) -> None:
        Aggregate.__init__(self)

    @classmethod
    def create(
        cls,
        org: Org,
        kind: str,
        *,
        actor: str,
        actor_role: Role,
        connection_id: str | None = None,
        declared: bool = False,
        **settings: Any,
    ) -> SsoConnection:
        """Forbidden when the connection would grant a role above `actor_role`."""
        connection = cls(
            id=connection_id or new_id(), org_id=org.id, kind=as_kind(kind), declared=declared
        )
        connection._apply(settings)
        connection._require_complete()
        connection._set_by(actor, actor_role)
        connection.record(
            SsoConnectionCreated(
                connection_id=connection.id,
                org_id=connection.org_id,
                kind=connection.kind,
                settings=connection.public_settings(),
                actor=actor,
            )
        )
        return connection

    def change(self, *, actor: str, actor_role: Role, **settings: Any) -> bool:
        """Applies the settings given, on the authority of `actor` (who then stands for the
        connection, even when nothing else changes); False when nothing differs (and nothing is
        recorded). Forbidden when the connection would grant a role above `actor_role`."""
        names = (*settings, "set_by", "set_by_role")
        before = {name: getattr(self, name) for name in names}
        self._apply(settings)
        self._require_complete()
        self._set_by(actor, actor_role)
        changed = tuple(name for name in names if getattr(self, name) != before[name])
        if not changed:
            return False
        self.updated_at = utcnow()
        self.record(
            SsoConnectionChanged(
                connection_id=self.id,
                org_id=self.org_id,
                changed=tuple(
                    "client_secret" if n == "client_secret_sealed" else n for n in changed
                ),
                settings=self.public_settings(),
                actor=actor,
            )
        )
        return True

    def delete(self, *, actor: str) -> None:
        self.deleted = True
        self.record(SsoConnectionDeleted(connection_id=self.id, org_id=self.org_id, actor=actor))

    def _set_by(self, actor: str, role: Role) -> None:
        """Records whose authority the connection now acts on; Forbidden when it would grant
        more than they may."""
        for group, grant in (("default_role", self.default_role), *self._mapped_roles()):
            if outranks(grant, role):
                raise Forbidden(
                    f"The role {role!r} may not make a connection that grants {grant!r} "
                    f"(`{group}`): a connection grants no role above its maker's."
                )
        self.set_by, self.set_by_role = actor, role

    def _mapped_roles(self) -> list[tuple[str, Role]]:
        return [(f"role_map.{n}", g.role) for n, g in self.role_map.items() if g.role is not None]

    def grants_for(self, groups: tuple[str, ...]) -> dict[str, GroupGrant]:
        """The role map's entries for the groups a person is in (matched case-insensitively)."""
        held = {group.casefold() for group in groups}
        return {name: grant for name, grant in self.role_map.items() if name.casefold() in held}

    def public_settings(self) -> dict[str, object]:
        """The settings that may be shown and audited: never the secret, nor the metadata."""
        shown: dict[str, object] = {
            "role_map": {name: grant.as_dict() for name, grant in self.role_map.items()},
            "default_role": self.default_role,
            "groups_claim": self.groups_claim,
            "set_by": self.set_by,
            "set_by_role": self.set_by_role,
        }
        if self.kind == "oidc":
            shown.update(issuer=self.issuer, client_id=self.client_id, scopes=list(self.scopes))
        else:
            shown.update(idp_entity_id=self.idp_entity_id)
        return shown

    def _apply(self, settings: Mapping[str, Any]) -> None:
        allowed = {
            "oidc": {"issuer", "client_id", "client_secret_sealed", "scopes"},
            "saml": {"idp_metadata_xml", "idp_entity_id"},
        }[self.kind] | {"groups_claim", "role_map", "default_role"}
        for name, value in settings.items():
            if name not in allowed:
                raise InvalidValue(f"`{name}` is not a setting of an {self.kind} connection")
            setattr(self, name, _checked(name, value))

    def _require_complete(self) -> None:
        if self.kind == "oidc":
            for name in ("issuer", "client_id", "client_secret_sealed"):
                if not getattr(self, name):
                    shown = "client_secret" if name == "client_secret_sealed" else name
                    raise InvalidValue(f"an oidc connection needs `{shown}`")
        elif not self.idp_metadata_xml or not self.idp_entity_id:
            raise InvalidValue("a saml connection needs `idp_metadata_xml`")


def valid_issuer(value: str) -> str:
    """An http(s) URL with a host, no credentials, no query and no fragment (an empty `?` or
    `#` included). Whether it may be fetched (https, a public address, unless the operator
    allows the host) is the outbound guard's to say, at discovery."""
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError:
        raise InvalidValue("`issuer` must be an https URL") from None
    if not host or parts.scheme not in ("https", "http") or any(c.isspace() for c in value):
        raise InvalidValue("`issuer` must be an https URL")
    if "@" in parts.netloc:
        raise InvalidValue("`issuer` must carry no credentials")
    if "?" in value or "#" in value:
        raise InvalidValue("`issuer` must have no query or fragment")
    return value


def _checked(name: str, value: Any) -> Any:
    if name == "issuer":
        return valid_issuer(str(value))
    if name == "scopes":
        return _scopes(tuple(value))
    if name == "role_map":
        return value if _is_grants(value) else role_map_of(value)
    if name == "default_role":
        return as_role(value)
    if (
        name == "groups_claim"
        and value is not None
        and (not str(value).strip() or len(str(value)) > 200)
    ):
        raise InvalidValue("`groups_claim` must be 1 to 200 characters")
    return value


def _is_grants(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(v, GroupGrant) for v in value.values())
