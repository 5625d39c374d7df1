"""An OpenID Connect relying party: discovery, the authorization request (code flow with PKCE
S256, `state` and `nonce`), the token exchange and the ID token's checks (joserfc verifies the
signature; authlib's `CodeIDToken` checks the claims). The discovery document's shape and the
authorization URL, which need no I/O, are `infrastructure.sso.oidc_metadata`.

The ID token is accepted only signed with an asymmetric algorithm its issuer announces
(`id_token_signing_alg_values_supported`; never `none`, never an HMAC keyed by the client
secret), by a key of the issuer's JWKS, and only with the issuer, audience, expiry and nonce
expected. Nothing here logs or returns a secret: errors carry a short reason and a message.

Every fetch goes through the outbound guard (`infrastructure.net.outbound`): the issuer, and the
JWKS and token endpoints its discovery document names, must be https URLs of public addresses
(unless the operator allows the host), are connected to at the address checked, and are never
followed through a redirect. Whatever stops a fetch (a refused address, a refused connection, a
timeout, an error status, an answer that is not JSON) is one message that says nothing of what
answered; the operator's debug log has the detail.
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
import msgspec
import structlog

from infrastructure.net.outbound import (
    OutboundHttp,
    OutboundPolicy,
    OutboundRefused,
    ResponseTooLarge,
    read_capped,
)
from infrastructure.sso.oidc_metadata import (
    ASYMMETRIC,
    ASYMMETRIC_ALGORITHMS,
    OidcError,
    ProviderMetadata,
    authorization_url,
)

if TYPE_CHECKING:  # authlib and joserfc are imported where a sign-in uses them
    from joserfc.jwk import KeySetSerialization

METADATA_TTL = 300.0
LEEWAY = 60
MAX_DOCUMENT_BYTES = 1024 * 1024
UNREACHABLE = "the issuer could not be reached or was refused"
FETCH_FAILURES = (OutboundRefused, ResponseTooLarge, aiohttp.ClientError, TimeoutError, ValueError)
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")
log = structlog.get_logger("fluxrouter.sso")

__all__ = [
    "ASYMMETRIC",
    "ASYMMETRIC_ALGORITHMS",
    "OidcClient",
    "OidcError",
    "ProviderMetadata",
    "authorization_url",
]


class OidcClient:
    """Talks to identity providers through the outbound guard; one pooled HTTP session,
    metadata and keys cached."""

    def __init__(self, policy: OutboundPolicy, *, timeout: float = 10.0) -> None:
        self._http = OutboundHttp(policy, timeout=aiohttp.ClientTimeout(total=timeout))
        self._metadata: dict[str, tuple[ProviderMetadata, float]] = {}
        self._jwks: dict[str, KeySetSerialization] = {}

    @property
    def policy(self) -> OutboundPolicy:
        return self._http.policy

    async def close(self) -> None:
        await self._http.close()

    async def _get_json(self, url: str, what: str, message: str) -> Any:
        try:
            async with self._http.request("GET", url, https_only=True) as answer:
                if answer.status != 200:
                    raise ValueError(f"status {answer.status}")
                return json.loads(await read_capped(answer, MAX_DOCUMENT_BYTES))
        except FETCH_FAILURES as error:
            _log_failure(what, error)
            raise OidcError("provider_unreachable", message) from None

    async def metadata(self, issuer: str, *, fresh: bool = False) -> ProviderMetadata:
        """The issuer's discovery document, which must name the issuer exactly and endpoints
        the guard accepts."""
        cached = self._metadata.get(issuer)
        if cached is not None and not fresh and cached[1] > time.monotonic():
            return cached[0]
        try:
            self.policy.target(issuer, https_only=True, bare=True)
        except OutboundRefused as refused:
            _log_failure("issuer", refused)
            raise OidcError("provider_unreachable", UNREACHABLE) from None
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        raw = await self._get_json(url, "discovery document", UNREACHABLE)
        try:
            metadata = msgspec.convert(raw, ProviderMetadata)
        except msgspec.ValidationError as error:
            raise OidcError(
                "bad_metadata", f"the discovery document is unusable: {error}"
            ) from None
        if metadata.issuer != issuer:
            raise OidcError("wrong_issuer", "the discovery document names another issuer")
        if not metadata.pinned_algorithms:
            raise OidcError("bad_metadata", "the issuer announces no asymmetric ID token algorithm")
        methods = metadata.code_challenge_methods_supported
        if methods is not None and "S256" not in methods:
            raise OidcError("bad_metadata", "the issuer does not support PKCE with S256")
        await self._check_endpoints(metadata)
        self._metadata[issuer] = (metadata, time.monotonic() + METADATA_TTL)
        return metadata

    async def _check_endpoints(self, metadata: ProviderMetadata) -> None:
        """The endpoints the gateway fetches from, looked up and checked now (and again at
        each fetch); the one the browser is sent to, checked without a lookup."""
        endpoints = (
            ("jwks_uri", metadata.jwks_uri, True),
            ("token_endpoint", metadata.token_endpoint, True),
            ("authorization_endpoint", metadata.authorization_endpoint, False),
        )
        for name, url, fetched in endpoints:
            try:
                if fetched:
                    await self.policy.check(url, https_only=True)
                else:
                    self.policy.target(url, https_only=True)
            except OutboundRefused as refused:
                _log_failure(name, refused)
                raise OidcError(
                    "bad_metadata",
                    f"the discovery document's `{name}` is refused: the gateway fetches only "
                    "https URLs of public addresses",
                ) from None

    async def _keys(self, metadata: ProviderMetadata, *, fresh: bool) -> KeySetSerialization:
        if fresh or metadata.jwks_uri not in self._jwks:
            self._jwks[metadata.jwks_uri] = await self._get_json(
                metadata.jwks_uri, "JWKS", "the issuer's keys could not be read"
            )
        return self._jwks[metadata.jwks_uri]

    async def exchange(
        self,
        metadata: ProviderMetadata,
        *,
        client_id: str,
        client_secret: str,
        code: str,
        redirect_uri: str,
        code_verifier: str,
    ) -> dict[str, Any]:
        """The token endpoint's answer for the code (an authorization code works once)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        auth = None
        if "client_secret_basic" in metadata.token_endpoint_auth_methods_supported:
            # RFC 6749 §2.3.1: each part form-encoded before it is joined and base64-encoded
            auth = aiohttp.BasicAuth(quote(client_id, safe=""), quote(client_secret, safe=""))
        else:
            form |= {"client_id": client_id, "client_secret": client_secret}
        try:
            async with self._http.request(
                "POST", metadata.token_endpoint, https_only=True, data=form, auth=auth
            ) as answer:
                body = json.loads(await read_capped(answer, MAX_DOCUMENT_BYTES))
                status = answer.status
        except FETCH_FAILURES as error:
            _log_failure("token endpoint", error)
            raise OidcError(
                "provider_unreachable", "the token endpoint could not be reached or was refused"
            ) from None
        if status != 200 or not isinstance(body, dict):
            error_code = body.get("error") if isinstance(body, dict) else None
            if not isinstance(error_code, str) or not _ERROR_CODE.fullmatch(error_code):
                error_code = None
            reason = "code_refused" if error_code == "invalid_grant" else "token_error"
            shown = f" ({error_code})" if error_code else ""
            raise OidcError(reason, f"the token endpoint refused the code{shown}")
        if not isinstance(body.get("id_token"), str):
            raise OidcError("no_id_token", "the token endpoint gave no ID token")
        return body

    async def id_token_claims(
        self,
        metadata: ProviderMetadata,
        *,
        id_token: str,
        client_id: str,
        nonce: str,
        access_token: str | None,
    ) -> dict[str, Any]:
        """The ID token's claims, once its signature, issuer, audience, expiry and nonce hold."""
        if id_token.count(".") != 2:
            raise OidcError("invalid_id_token", "the ID token is not a signed JWT")
        from authlib.oidc.core import CodeIDToken
        from joserfc import jwt
        from joserfc.errors import InvalidKeyIdError, JoseError
        from joserfc.jwk import KeySet
        from joserfc.jws import JWSRegistry

        # only the algorithms the issuer announces and that are asymmetric; header parameters
        # beyond the registered ones are tolerated, as identity providers add their own
        registry = JWSRegistry(algorithms=metadata.pinned_algorithms, strict_check_header=False)
        options = {
            "iss": {"essential": True, "value": metadata.issuer},
            "aud": {"essential": True, "value": client_id},
            "exp": {"essential": True},
            "sub": {"essential": True},
            "nonce": {"essential": True, "value": nonce},
        }
        params = {"nonce": nonce, "client_id": client_id, "access_token": access_token}
        for fresh in (False, True):  # a key rotated since the JWKS was read: read it again
            try:
                keys = KeySet.import_key_set(await self._keys(metadata, fresh=fresh))
                token = jwt.decode(id_token, keys, registry=registry)
                break
            except InvalidKeyIdError:
                if fresh:
                    raise OidcError("bad_signature", "no key of the issuer signed it") from None
            except JoseError as error:
                raise OidcError(
                    "bad_signature", f"the ID token is refused: {error.error}"
                ) from None
            except (KeyError, TypeError, ValueError):
                if fresh:
                    raise OidcError("bad_metadata", "the issuer's JWKS is unusable") from None
        claims = CodeIDToken(token.claims, token.header, options, params)
        try:
            claims.validate(leeway=LEEWAY)
        except Exception as error:  # joserfc's claim errors, or authlib's
            raise _refusal(error) from None
        return dict(claims)


def _log_failure(what: str, error: Exception) -> None:
    """Why a fetch failed, for the operator (debug): the guard's reason, or the error's kind;
    never a URL's query or a secret."""
    if isinstance(error, OutboundRefused):
        log.debug("oidc_fetch_refused", what=what, reason=error.reason, detail=error.detail)
    else:
        log.debug("oidc_fetch_failed", what=what, error=type(error).__name__, detail=str(error))


def _refusal(error: Exception) -> OidcError:
    """What an ID token's failed claim check means, by the claim it names."""
    if type(error).__name__ == "ExpiredTokenError":
        return OidcError("expired", "the ID token has expired")
    claim = getattr(error, "claim", None) or getattr(error, "claim_name", None)
    if isinstance(claim, str):
        reason = {"iss": "wrong_issuer", "aud": "wrong_audience", "nonce": "bad_nonce"}.get(
            claim, "invalid_id_token"
        )
        return OidcError(reason, f"the ID token's {claim!r} claim is refused")
    if type(error).__name__.endswith("Error") and "jose" in type(error).__module__:
        return OidcError("invalid_id_token", "the ID token is refused")
    raise error
