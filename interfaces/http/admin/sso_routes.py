"""An org's SSO connections, the e-mail domains it declares, and who the caller is
(`GET /admin/v1/me`).

Owners and admins of the org (and the admin key) create, list, read, change and delete its
connections; each change is audited, never with the client secret, which is sealed before it
is stored. A connection grants no role above the role of whoever creates or changes it (403);
it then acts on their authority. An OIDC issuer is checked by discovery when it is set; SAML
metadata when it is given. A connection the configuration file declares is changed there only
(409 here). Only an owner of the org (or the admin key) declares its sign-in domains.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post, put
from msgspec import UNSET

from application.teams.access import no_such, require_domain_owner, require_not_declared
from application.teams.sso_commands import (
    ChangeSsoConnection,
    CreateSsoConnection,
    DeclareSignInDomains,
    DeleteSsoConnection,
)
from domains.teams.model import Org
from domains.teams.sso import SsoConnection, valid_issuer
from infrastructure.queries.directory import user_by_id
from infrastructure.queries.sso import (
    connection_by_id,
    connections_of,
    sign_in_domains_of,
    teams_of_user,
)
from infrastructure.sso.oidc_client import OidcError
from interfaces.http.admin.guard import require_admin
from interfaces.http.admin.sso_schemas import (
    ChangeSsoConnectionBody,
    CreateSsoConnectionBody,
    GroupGrantBody,
    MeOut,
    SignInDomainsBody,
    SignInDomainsOut,
    SsoConnectionDeletedOut,
    SsoConnectionOut,
    TeamRef,
)
from interfaces.http.dependencies import Bus, Caller, Engine, Sso, Visible
from interfaces.http.errors import ApiError
from interfaces.http.sso.web import base_url
from interfaces.sso_wiring import SsoServices

AnyRequest = Request[Any, Any, Any]


def connection_out(request: AnyRequest, connection: SsoConnection) -> SsoConnectionOut:
    base = base_url(request)
    shown = SsoConnectionOut(
        id=connection.id,
        org_id=connection.org_id,
        kind=connection.kind,
        login_url=f"{base}/auth/{connection.kind}/{connection.id}/login",
        role_map={name: grant.as_dict() for name, grant in connection.role_map.items()},
        default_role=connection.default_role,
        groups_claim=connection.groups_claim,
        declared=connection.declared,
        set_by=connection.set_by,
        set_by_role=connection.set_by_role,
        created_at=connection.created_at,
        updated_at=connection.updated_at,
    )
    if connection.kind == "oidc":
        shown.issuer, shown.client_id = connection.issuer, connection.client_id
        shown.scopes = list(connection.scopes)
        shown.redirect_uri = f"{base}/auth/oidc/callback"
    else:
        shown.metadata_url = f"{base}/auth/saml/{connection.id}/metadata"
        shown.entity_id = shown.metadata_url
        shown.acs_url = f"{base}/auth/saml/{connection.id}/acs"
        shown.idp_entity_id = connection.idp_entity_id
    return shown


def _services(services: SsoServices | None) -> SsoServices:
    if services is None:
        raise ApiError(503, "Single sign-on is not running.", code="unavailable")
    return services


def _role_map(raw: dict[str, GroupGrantBody]) -> dict[str, dict[str, str]]:
    return {
        group: {k: v for k, v in (("team", g.team), ("role", g.role)) if v is not None}
        for group, g in raw.items()
    }


async def _settings(sso: Sso, kind: str, given: dict[str, Any]) -> dict[str, Any]:
    """The body's settings as the domain takes them: the secret sealed, the issuer discovered,
    the metadata read."""
    services = _services(sso)
    settings = {name: value for name, value in given.items() if name != "client_secret"}
    if "role_map" in settings:
        settings["role_map"] = _role_map(settings["role_map"])
    if "scopes" in settings:
        settings["scopes"] = tuple(settings["scopes"])
    if given.get("client_secret") is not None:
        settings["client_secret_sealed"] = services.seal_client_secret(given["client_secret"])
    if kind == "oidc" and settings.get("issuer") is not None:
        try:
            await services.oidc.metadata(valid_issuer(settings["issuer"]), fresh=True)
        except OidcError as error:
            raise ApiError(400, f"`issuer`: {error.message}", code="discovery_failed") from None
    if kind == "saml" and settings.get("idp_metadata_xml") is not None:
        try:
            settings["idp_entity_id"] = services.saml.idp_entity_id(settings["idp_metadata_xml"])
        except ValueError as error:
            raise ApiError(400, f"`idp_metadata_xml`: {error}", code="invalid_metadata") from None
    return settings


async def _managed(visible: Visible, connection_id: str) -> SsoConnection:
    connection = await connection_by_id(visible.engine, connection_id)
    principal = visible.principal
    if connection is None or not principal.sees(connection.org_id):
        raise no_such("SSO connection")
    principal.require_manage(connection.org_id, "SSO connection")
    return connection


class SsoController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: single sign-on"]

    @post(
        "/orgs/{org_id:str}/sso-connections",
        status_code=201,
        summary="Connect an org to its identity provider (OIDC or SAML)",
    )
    async def create_connection(
        self,
        request: AnyRequest,
        bus: Bus,
        visible: Visible,
        sso: Sso,
        org_id: str,
        data: CreateSsoConnectionBody,
    ) -> SsoConnectionOut:
        await visible.org(org_id)
        principal = visible.principal
        principal.require_manage(org_id, "org")
        given = {
            name: getattr(data, name)
            for name in data.__struct_fields__
            if name != "kind" and getattr(data, name) is not None
        }
        settings = await _settings(sso, data.kind, given)
        connection: SsoConnection = await bus.handle(
            CreateSsoConnection(
                org_id=org_id,
                kind=data.kind,
                settings=settings,
                actor=principal.actor,
                actor_role=principal.role,
            )
        )
        return connection_out(request, connection)

    @get("/orgs/{org_id:str}/sso-connections", summary="An org's SSO connections")
    async def list_connections(
        self, request: AnyRequest, visible: Visible, org_id: str
    ) -> list[SsoConnectionOut]:
        await visible.org(org_id)
        visible.principal.require_manage(org_id, "org")
        found = await connections_of(visible.engine, org_id)
        return [connection_out(request, connection) for connection in found]

    @get("/sso-connections/{connection_id:str}", summary="One SSO connection")
    async def get_connection(
        self, request: AnyRequest, visible: Visible, connection_id: str
    ) -> SsoConnectionOut:
        return connection_out(request, await _managed(visible, connection_id))

    @patch("/sso-connections/{connection_id:str}", summary="Change an SSO connection")
    async def change_connection(
        self,
        request: AnyRequest,
        bus: Bus,
        visible: Visible,
        sso: Sso,
        connection_id: str,
        data: ChangeSsoConnectionBody,
    ) -> SsoConnectionOut:
        found = await _managed(visible, connection_id)
        require_not_declared(found.declared)
        principal = visible.principal
        given = {
            name: getattr(data, name)
            for name in data.__struct_fields__
            if getattr(data, name) is not UNSET
        }
        settings = await _settings(sso, found.kind, given)
        connection: SsoConnection = await bus.handle(
            ChangeSsoConnection(
                connection_id=connection_id,
                settings=settings,
                actor=principal.actor,
                actor_role=principal.role,
            )
        )
        return connection_out(request, connection)

    @delete(
        "/sso-connections/{connection_id:str}", status_code=200, summary="Delete an SSO connection"
    )
    async def delete_connection(
        self, bus: Bus, visible: Visible, connection_id: str
    ) -> SsoConnectionDeletedOut:
        require_not_declared((await _managed(visible, connection_id)).declared)
        await bus.handle(
            DeleteSsoConnection(connection_id=connection_id, actor=visible.principal.actor)
        )
        return SsoConnectionDeletedOut(id=connection_id, deleted=True)

    @get(
        "/orgs/{org_id:str}/sign-in-domains",
        summary="The e-mail domains the org declares it owns (what a sign-in may link by)",
    )
    async def get_sign_in_domains(self, visible: Visible, org_id: str) -> SignInDomainsOut:
        await visible.org(org_id)
        visible.principal.require_manage(org_id, "org")
        domains = await sign_in_domains_of(visible.engine, org_id)
        return SignInDomainsOut(org_id=org_id, domains=domains)

    @put(
        "/orgs/{org_id:str}/sign-in-domains",
        summary="Declare the e-mail domains the org owns (an owner of the org or the admin key)",
    )
    async def put_sign_in_domains(
        self, bus: Bus, visible: Visible, org_id: str, data: SignInDomainsBody
    ) -> SignInDomainsOut:
        await visible.org(org_id)
        principal = visible.principal
        require_domain_owner(principal, org_id)
        org: Org = await bus.handle(
            DeclareSignInDomains(org_id=org_id, domains=tuple(data.domains), actor=principal.actor)
        )
        return SignInDomainsOut(org_id=org.id, domains=list(org.sign_in_domains))

    @get("/me", summary="Who is calling: the person behind the session or admin token")
    async def me(self, engine: Engine, principal: Caller) -> MeOut:
        user = await user_by_id(engine, principal.user_id) if principal.user_id else None
        if user is None:
            raise no_such("person: the admin key is the operator's")
        teams = await teams_of_user(engine, user.id)
        return MeOut(
            user_id=user.id,
            email=user.email,
            org_id=user.org_id,
            roles=[user.role],
            teams=[TeamRef(id=team["id"], name=team["name"]) for team in teams],
            display_name=user.display_name,
        )
