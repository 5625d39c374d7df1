"""Admin API bodies and answers for SSO connections and for `GET /admin/v1/me`. A client
secret goes in and never comes out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from interfaces.http.admin.users_schemas import RoleIn

Text = Annotated[str, Meta(min_length=1, max_length=1000, pattern=r"^[^\x00]*$")]
Secret = Annotated[str, Meta(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")]
Scope = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")]
GroupName = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00]*\S[^\x00]*$")]
Metadata = Annotated[str, Meta(min_length=1, max_length=1_000_000)]


class GroupGrantBody(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    team: GroupName | None = None
    role: RoleIn | None = None


class CreateSsoConnectionBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`oidc`: issuer, client_id and client_secret (the rest optional); `saml`:
    idp_metadata_xml."""

    kind: Literal["oidc", "saml"]
    issuer: Text | None = None
    client_id: Text | None = None
    client_secret: Secret | None = None
    scopes: Annotated[list[Scope], Meta(max_length=50)] | None = None
    groups_claim: Text | None = None
    role_map: dict[GroupName, GroupGrantBody] | None = None
    default_role: RoleIn | None = None
    idp_metadata_xml: Metadata | None = None


class ChangeSsoConnectionBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only what is sent changes; `groups_claim: null` goes back to the default."""

    issuer: Text | UnsetType = UNSET
    client_id: Text | UnsetType = UNSET
    client_secret: Secret | UnsetType = UNSET
    scopes: Annotated[list[Scope], Meta(max_length=50)] | UnsetType = UNSET
    groups_claim: Text | UnsetType | None = UNSET
    role_map: dict[GroupName, GroupGrantBody] | UnsetType = UNSET
    default_role: RoleIn | UnsetType = UNSET
    idp_metadata_xml: Metadata | UnsetType = UNSET


class SsoConnectionOut(msgspec.Struct, kw_only=True):
    id: str
    org_id: str
    kind: str
    login_url: str
    role_map: dict[str, dict[str, str]]
    default_role: str
    groups_claim: str | None
    declared: bool
    set_by: str | None  # whose authority it acts on: "admin", "config" or "user:<id>"
    set_by_role: str  # their role when they set it: the most the connection may grant
    created_at: datetime
    updated_at: datetime
    issuer: str | None = None  # oidc
    client_id: str | None = None
    scopes: list[str] | None = None
    redirect_uri: str | None = None  # oidc: register this with the provider
    metadata_url: str | None = None  # saml: the SP metadata (its URL is the SP entity id)
    acs_url: str | None = None
    entity_id: str | None = None
    idp_entity_id: str | None = None


class SsoConnectionDeletedOut(msgspec.Struct):
    id: str
    deleted: bool


class TeamRef(msgspec.Struct):
    id: str
    name: str


class MeOut(msgspec.Struct, kw_only=True):
    user_id: str
    email: str | None
    org_id: str
    roles: list[str]
    teams: list[TeamRef]
    display_name: str | None = None


Domain = Annotated[str, Meta(min_length=1, max_length=253, pattern=r"^[^\x00]*$")]


class SignInDomainsBody(msgspec.Struct, forbid_unknown_fields=True):
    """Every e-mail domain the org owns (the list replaces the one before)."""

    domains: Annotated[list[Domain], Meta(max_length=50)]


class SignInDomainsOut(msgspec.Struct):
    org_id: str
    domains: list[str]
