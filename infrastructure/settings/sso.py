"""`sso`: single sign-on for people using the admin API from a browser (docs/sso.md)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from infrastructure.settings.rules import (
    ROLES,
    SECONDS,
    Invalid,
    NotBlank,
    Role,
    check_unique,
    check_url,
    quote,
)

_MONTH = 31 * 86400
ConnectionId = Annotated[
    str,
    Meta(
        pattern=r"\A[a-z0-9][a-z0-9-]{0,31}\Z",
        extra={"message": "must match [a-z0-9][a-z0-9-]{0,31}"},
    ),
]


class SsoConnectionSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A single sign-on connection declared here (docs/sso.md); at every start it is created,
    or made what this says. `id` is the connection's id in its URLs."""

    id: ConnectionId
    org: str
    kind: Literal["oidc", "saml"]
    issuer: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scopes: list[str] | None = None
    groups_claim: str | None = None
    idp_metadata_xml: str | None = None
    idp_metadata_file: str | None = None
    require_signed_assertions: bool = True
    """Must stay true: FluxRouter accepts only signed SAML assertions."""
    role_map: dict[str, dict[str, str]] = msgspec.field(default_factory=dict)
    """A directory group's name → the `team` its members join and/or the `role` it grants."""
    default_role: Role = "member"

    def __post_init__(self) -> None:
        if self.kind == "oidc":
            for field in ("issuer", "client_id", "client_secret"):
                if not getattr(self, field):
                    raise Invalid(field, "is required for an oidc connection")
            if self.issuer:
                check_url("issuer", self.issuer)
        elif self.kind == "saml":
            if not self.require_signed_assertions:
                unsigned = "must be true: unsigned SAML assertions are never accepted"
                raise Invalid("require_signed_assertions", unsigned)
            if (self.idp_metadata_xml is None) == (self.idp_metadata_file is None):
                raise Invalid("", "must give either `idp_metadata_xml` or `idp_metadata_file`")
        # A mapping keyed by the directory's group names: msgspec would report a bad entry
        # without the name, so its entries are checked here.
        for group, grant in self.role_map.items():
            if set(grant) - {"team", "role"} or not grant:
                raise Invalid(f"role_map.{group}", "must hold a `team`, a `role` or both")
            if "role" in grant and grant["role"] not in ROLES:
                wrong = f"must be one of {', '.join(ROLES)}, got {quote(grant['role'])}"
                raise Invalid(f"role_map.{group}.role", wrong)


class SsoSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Single sign-on for people using the admin API from a browser (docs/sso.md)."""

    secret_key_file: NotBlank = "./fluxrouter-sso-secret.key"
    """The AES-256 key that seals OIDC client secrets (base64); generated at first start.
    Every gateway process of a deployment must use the same file."""
    saml_key_file: NotBlank = "./fluxrouter-saml-sp.key"
    """The SAML service provider's RSA private key (PEM); generated at first start."""
    saml_cert_file: NotBlank = "./fluxrouter-saml-sp.crt"
    """Its self-signed certificate, published in the SP metadata; generated with the key."""
    xmlsec_binary: str | None = None
    """Where xmlsec1 is (null: found on the PATH)."""
    session_idle_seconds: Annotated[float, Meta(ge=60, le=_MONTH, extra=SECONDS)] = 3600.0
    """An SSO session unused this long ends."""
    session_absolute_seconds: Annotated[float, Meta(ge=60, le=_MONTH, extra=SECONDS)] = 43200.0
    """An SSO session ends this long after sign-in, however busy."""
    login_timeout_seconds: Annotated[float, Meta(ge=10, le=_MONTH, extra=SECONDS)] = 600.0
    """How long a sign-in may take at the identity provider."""
    connections: list[SsoConnectionSettings] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        ids = [connection.id for connection in self.connections]
        check_unique("connections[{}].id", ids, "connection id")
