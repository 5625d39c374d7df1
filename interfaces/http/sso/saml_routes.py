"""Signing in with SAML 2.0: the SP metadata, the AuthnRequest (HTTP-Redirect binding) and the
assertion consumer service (HTTP-POST binding).

`GET /auth/saml/{id}/login?next=/path` keeps the request's id, single use, with where to return,
and sends the browser to the identity provider. `POST /auth/saml/{id}/acs` refuses anything the
structure checks refuse (see `infrastructure.sso.saml_checks`), takes the request the response
answers (a response to no request of ours, or to one answered already, is refused), has pysaml2
verify the signed assertion, remembers the assertion's id until it expires (a replay is refused)
and signs the person in. The SP's entity id is its metadata URL.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect

from application.teams.access import no_such
from application.teams.sso_commands import SignInWithSso
from domains.teams.sso import SsoConnection
from infrastructure.queries.sso import connection_by_id
from infrastructure.security.secret_box import SealError
from infrastructure.sso.saml_checks import CLOCK_SKEW, SamlRefused
from interfaces.http.dependencies import Bus, Engine, Sso
from interfaces.http.sso.oidc_routes import sso_of
from interfaces.http.sso.signing_in import sign_in
from interfaces.http.sso.web import base_url, refuse_sign_in, safe_next, source_ip

PENDING = "saml-request"
SEEN = "saml-assertion"
PENDING_PURPOSE = "sso.saml.pending"


class SpUrls:
    def __init__(self, request: Request[Any, Any, Any], connection_id: str) -> None:
        base = f"{base_url(request)}/auth/saml/{connection_id}"
        self.entity_id = f"{base}/metadata"
        self.acs = f"{base}/acs"


async def saml_connection(engine: Engine, connection_id: str) -> SsoConnection:
    connection = await connection_by_id(engine, connection_id)
    if connection is None or connection.kind != "saml":
        raise no_such("SSO connection")
    return connection


@get(
    "/auth/saml/{connection_id:str}/metadata",
    summary="The SAML service provider's metadata",
    tags=["SSO"],
    media_type="application/samlmetadata+xml",
)
async def saml_metadata(
    request: Request[Any, Any, Any],
    engine: Engine,
    sso: Sso,
    connection_id: str,
) -> Response[str]:
    services = sso_of(sso)
    connection = await saml_connection(engine, connection_id)
    urls = SpUrls(request, connection.id)
    xml = await asyncio.to_thread(
        services.saml.metadata,
        connection.idp_metadata_xml or "",
        entity_id=urls.entity_id,
        acs_url=urls.acs,
    )
    return Response(xml, media_type="application/samlmetadata+xml")


@get("/auth/saml/{connection_id:str}/login", summary="Sign in with SAML 2.0", tags=["SSO"])
async def saml_login(
    request: Request[Any, Any, Any],
    engine: Engine,
    sso: Sso,
    connection_id: str,
    next: str | None = None,
) -> Redirect:
    services = sso_of(sso)
    connection = await saml_connection(engine, connection_id)
    back_to = safe_next(next)
    urls = SpUrls(request, connection.id)
    request_id, location = await asyncio.to_thread(
        services.saml.authn_request,
        connection.idp_metadata_xml or "",
        idp_entity_id=connection.idp_entity_id or "",
        entity_id=urls.entity_id,
        acs_url=urls.acs,
    )
    sealed = services.secrets.seal(back_to, purpose=PENDING_PURPOSE)
    key = f"{connection.id}:{request_id}"
    await services.one_time.put(PENDING, key, sealed, ttl=services.login_timeout)
    return Redirect(location, status_code=302)


@post(
    "/auth/saml/{connection_id:str}/acs",
    summary="Where the identity provider posts its SAML response",
    tags=["SSO"],
    status_code=303,
)
async def saml_acs(
    request: Request[Any, Any, Any],
    bus: Bus,
    engine: Engine,
    sso: Sso,
    connection_id: str,
) -> Redirect:
    services = sso_of(sso)
    connection = await saml_connection(engine, connection_id)
    cid = connection.id
    urls = SpUrls(request, cid)
    form = await request.form()
    posted = form.get("SAMLResponse")
    if not isinstance(posted, str) or not posted:
        raise refuse_sign_in(request, cid, "malformed", "the post carries no SAMLResponse")
    try:
        xml = services.saml.decode_response(posted)
        facts = services.saml.facts(xml, acs_url=urls.acs, entity_id=urls.entity_id)
        if not facts.in_response_to:
            raise SamlRefused("unsolicited", "the response answers no request")
        sealed = await services.one_time.take(PENDING, f"{cid}:{facts.in_response_to}")
        if sealed is None:
            raise SamlRefused("unsolicited", "the response answers no request under way")
        back_to = services.secrets.open(sealed, purpose=PENDING_PURPOSE)
        identity = await asyncio.to_thread(
            services.saml.read_response,
            connection.idp_metadata_xml or "",
            posted,
            request_id=facts.in_response_to,
            entity_id=urls.entity_id,
            acs_url=urls.acs,
            groups_attribute=connection.groups_claim,
        )
        seen_until = facts.not_on_or_after + CLOCK_SKEW
        if not await services.one_time.first_time(
            SEEN, f"{cid}:{facts.assertion_id}", until=seen_until
        ):
            raise SamlRefused("replayed", "the assertion was used already")
    except SamlRefused as refused:
        raise refuse_sign_in(request, cid, refused.reason, refused.message) from None
    except SealError:
        raise refuse_sign_in(request, cid, "bad_state", "the request's state is unusable") from None
    command = SignInWithSso(connection_id=cid, identity=identity, source_ip=source_ip(request))
    return await sign_in(request, bus, services, command, back_to)
