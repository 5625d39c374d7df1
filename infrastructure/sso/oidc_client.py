"""An OpenID Connect relying party: discovery, the authorization request (code flow with PKCE
S256, `state` and `nonce`), the token exchange and the ID token's checks (joserfc verifies the
signature; authlib's `CodeIDToken` checks the claims).

The ID token is accepted only signed with an asymmetric algorithm its issuer announces
(`id_token_signing_alg_values_supported`; never `none`, never an HMAC keyed by the client
secret), by a key of the issuer's JWKS, and only with the issuer, audience, expiry and nonce
expected. Nothing here logs or returns a secret: errors carry a short reason and a message.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import msgspec
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet, KeySetSerialization
from joserfc.jws import JWSRegistry

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
ASYMMETRIC_ALGORITHMS = frozenset((*ASYMMETRIC, "EdDSA", "Ed25519"))
METADATA_TTL = 300.0
LEEWAY = 60


class OidcError(Exception):
    """The provider's answer was refused: `reason` is a short code for the audit log."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ProviderMetadata(msgspec.Struct, frozen=True, kw_only=True):
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    id_token_signing_alg_values_supported: list[str] = msgspec.field(
        default_factory=lambda: ["RS256"]
    )
    token_endpoint_auth_methods_supported: list[str] = msgspec.field(
        default_factory=lambda: ["client_secret_basic"]
    )
    code_challenge_methods_supported: list[str] | None = None
    authorization_response_iss_parameter_supported: bool = False

    @property
    def pinned_algorithms(self) -> list[str]:
        return [
            alg
            for alg in self.id_token_signing_alg_values_supported
            if alg in ASYMMETRIC_ALGORITHMS
        ]


def authorization_url(
    metadata: ProviderMetadata,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: tuple[str, ...],
    state: str,
    nonce: str,
    code_verifier: str,
) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(code_verifier),
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in metadata.authorization_endpoint else "?"
    return f"{metadata.authorization_endpoint}{separator}{query}"


class OidcClient:
    """Talks to identity providers; one pooled HTTP session, metadata and keys cached."""

    def __init__(self, *, timeout: float = 10.0) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._metadata: dict[str, tuple[ProviderMetadata, float]] = {}
        self._jwks: dict[str, KeySetSerialization] = {}

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _get_json(self, url: str, what: str) -> Any:
        try:
            async with self._http().get(url, allow_redirects=False) as answer:
                if answer.status != 200:
                    raise OidcError("provider_error", f"the {what} answered {answer.status}")
                return await answer.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise OidcError("provider_unreachable", f"the {what} could not be read") from error

    async def metadata(self, issuer: str, *, fresh: bool = False) -> ProviderMetadata:
        """The issuer's discovery document, which must name the issuer exactly."""
        cached = self._metadata.get(issuer)
        if cached is not None and not fresh and cached[1] > time.monotonic():
            return cached[0]
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        raw = await self._get_json(url, "discovery document")
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
        self._metadata[issuer] = (metadata, time.monotonic() + METADATA_TTL)
        return metadata

    async def _keys(self, metadata: ProviderMetadata, *, fresh: bool) -> KeySetSerialization:
        if fresh or metadata.jwks_uri not in self._jwks:
            self._jwks[metadata.jwks_uri] = await self._get_json(metadata.jwks_uri, "JWKS")
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
            async with self._http().post(
                metadata.token_endpoint, data=form, auth=auth, allow_redirects=False
            ) as answer:
                body = await answer.json(content_type=None)
                status = answer.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise OidcError(
                "provider_unreachable", "the token endpoint could not be read"
            ) from error
        if status != 200 or not isinstance(body, dict):
            error_code = body.get("error") if isinstance(body, dict) else None
            reason = "code_refused" if error_code == "invalid_grant" else "token_error"
            raise OidcError(reason, f"the token endpoint refused the code ({error_code or status})")
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
