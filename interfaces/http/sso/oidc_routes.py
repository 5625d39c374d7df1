"""Signing in with OpenID Connect: the authorization code flow with PKCE (S256).

`GET /auth/oidc/{id}/login?next=/path` keeps, single use, what the callback must find again
(the nonce, the PKCE verifier, where to return) under a random `state`, binds it to this browser
with a short-lived cookie, and sends the browser to the identity provider.
`GET /auth/oidc/callback` takes that state (a second use finds nothing: a replayed
authorization response is refused), checks the browser and the issuer the response names,
exchanges the code, checks the ID token (signature by an announced algorithm, issuer,
audience, expiry, nonce), signs the person in and returns them to `next`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.params import Parameter
from litestar.response import Redirect

from application.teams.access import no_such
from application.teams.sso_commands import SignInWithSso
from domains.teams.sso import Identity, SsoConnection
from infrastructure.queries.sso import connection_by_id
from infrastructure.security.secret_box import SealError
from infrastructure.sso.oidc_client import OidcError, authorization_url
from interfaces.http.dependencies import Bus, Engine, Sso
from interfaces.http.sso.signing_in import sign_in
from interfaces.http.sso.web import (
    base_url,
    cookie,
    expired_cookie,
    refuse_sign_in,
    safe_next,
    source_ip,
)
from interfaces.sso_wiring import SsoServices

CALLBACK_PATH = "/auth/oidc/callback"
BINDING_COOKIE = "fluxrouter_oidc"
PENDING = "oidc-state"
PENDING_PURPOSE = "sso.oidc.pending"


class Pending(msgspec.Struct, frozen=True, kw_only=True):
    connection_id: str
    nonce: str
    verifier: str
    next: str
    redirect_uri: str
    browser: str  # SHA-256 of the binding cookie's value


def sso_of(services: SsoServices | None) -> SsoServices:
    """The services, while single sign-on runs; else every connection is unknown."""
    if services is None:
        raise no_such("SSO connection")
    return services


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def oidc_connection(engine: Engine, connection_id: str) -> SsoConnection:
    connection = await connection_by_id(engine, connection_id)
    if connection is None or connection.kind != "oidc":
        raise no_such("SSO connection")
    return connection


@get("/auth/oidc/{connection_id:str}/login", summary="Sign in with OpenID Connect", tags=["SSO"])
async def oidc_login(
    request: Request[Any, Any, Any],
    engine: Engine,
    sso: Sso,
    connection_id: str,
    next: str | None = None,
) -> Redirect:
    services = sso_of(sso)
    connection = await oidc_connection(engine, connection_id)
    back_to = safe_next(next)
    try:
        metadata = await services.oidc.metadata(connection.issuer or "")
    except OidcError as error:
        raise refuse_sign_in(request, connection.id, error.reason, error.message, 502) from None
    state, nonce, verifier, browser = (secrets.token_urlsafe(32) for _ in range(4))
    redirect_uri = base_url(request) + CALLBACK_PATH
    pending = Pending(
        connection_id=connection.id,
        nonce=nonce,
        verifier=verifier,
        next=back_to,
        redirect_uri=redirect_uri,
        browser=_digest(browser),
    )
    sealed = services.secrets.seal(msgspec.json.encode(pending).decode(), purpose=PENDING_PURPOSE)
    await services.one_time.put(PENDING, state, sealed, ttl=services.login_timeout)
    target = authorization_url(
        metadata,
        client_id=connection.client_id or "",
        redirect_uri=redirect_uri,
        scopes=connection.scopes,
        state=state,
        nonce=nonce,
        code_verifier=verifier,
    )
    max_age = int(services.login_timeout)
    binding = cookie(request, BINDING_COOKIE, browser, max_age=max_age, path=CALLBACK_PATH)
    return Redirect(target, status_code=302, cookies=[binding])


async def _pending(
    request: Request[Any, Any, Any], services: SsoServices, state: str | None
) -> Pending:
    if not state:
        raise refuse_sign_in(request, "", "bad_state", "the answer carries no state")
    sealed = await services.one_time.take(PENDING, state)
    if sealed is None:
        raise refuse_sign_in(request, "", "bad_state", "the state is unknown, used or expired")
    try:
        return msgspec.json.decode(
            services.secrets.open(sealed, purpose=PENDING_PURPOSE), type=Pending
        )
    except (SealError, msgspec.DecodeError):
        raise refuse_sign_in(request, "", "bad_state", "the state is unusable") from None


def _identity(claims: dict[str, Any], groups_claim: str | None) -> Identity:
    email = claims.get("email")
    if not isinstance(email, str) or claims.get("email_verified") is False:
        email = None  # an address the provider does not vouch for matches no one
    groups = claims.get(groups_claim or "groups", [])
    if isinstance(groups, str):
        groups = [groups]
    user_name = claims.get("preferred_username")
    name = claims.get("name")
    return Identity(
        subject=str(claims["sub"]),
        email=email,
        user_name=user_name if isinstance(user_name, str) else None,
        display_name=name if isinstance(name, str) else None,
        groups=tuple(g for g in groups if isinstance(g, str)) if isinstance(groups, list) else (),
    )


@get(CALLBACK_PATH, summary="Where the OpenID provider returns the browser", tags=["SSO"])
async def oidc_callback(
    request: Request[Any, Any, Any],
    bus: Bus,
    engine: Engine,
    sso: Sso,
    oauth_state: Annotated[str | None, Parameter(query="state")] = None,
    code: str | None = None,
    error: str | None = None,
    iss: str | None = None,
) -> Redirect:
    services = sso_of(sso)
    pending = await _pending(request, services, oauth_state)
    cid = pending.connection_id
    browser = request.cookies.get(BINDING_COOKIE, "")
    if not hmac.compare_digest(_digest(browser), pending.browser):
        raise refuse_sign_in(request, cid, "browser_mismatch", "sign-in began in another browser")
    if error is not None or not code:
        raise refuse_sign_in(request, cid, "provider_error", "the provider did not authorize")
    connection = await oidc_connection(engine, cid)
    oidc = services.oidc
    try:
        metadata = await oidc.metadata(connection.issuer or "")
        if iss != metadata.issuer and (
            iss is not None or metadata.authorization_response_iss_parameter_supported
        ):
            raise OidcError("wrong_issuer", "the answer names another issuer")
        tokens = await oidc.exchange(
            metadata,
            client_id=connection.client_id or "",
            client_secret=services.open_client_secret(connection.client_secret_sealed or ""),
            code=code,
            redirect_uri=pending.redirect_uri,
            code_verifier=pending.verifier,
        )
        access_token = tokens.get("access_token")
        claims = await oidc.id_token_claims(
            metadata,
            id_token=tokens["id_token"],
            client_id=connection.client_id or "",
            nonce=pending.nonce,
            access_token=access_token if isinstance(access_token, str) else None,
        )
    except OidcError as refused:
        raise refuse_sign_in(request, cid, refused.reason, refused.message) from None
    except SealError:
        raise refuse_sign_in(
            request, cid, "secret_unusable", "the client secret is unusable"
        ) from None
    command = SignInWithSso(
        connection_id=cid,
        identity=_identity(claims, connection.groups_claim),
        source_ip=source_ip(request),
    )
    response = await sign_in(request, bus, services, command, pending.next)
    response.cookies.append(expired_cookie(request, BINDING_COOKIE, path=CALLBACK_PATH))
    return response
