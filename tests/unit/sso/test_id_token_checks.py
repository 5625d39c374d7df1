"""An ID token is accepted only signed by the issuer's key with an algorithm it announces, and
with the issuer, audience, expiry and nonce expected; the issuer's JWKS is served over HTTP on
loopback and read again when a token names a key not seen yet (a rotation)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from infrastructure.net.outbound import OutboundPolicy
from infrastructure.sso.oidc_client import OidcClient, OidcError, ProviderMetadata
from tests.support.services import free_port

CLIENT_ID = "gateway"
NONCE = "n-0S6_WzA2Mj"


@dataclass
class Issuer:
    url: str
    keys: list[RSAKey] = field(default_factory=list)
    jwks_reads: int = 0

    def metadata(self) -> ProviderMetadata:
        return ProviderMetadata(
            issuer=self.url,
            authorization_endpoint=f"{self.url}/auth",
            token_endpoint=f"{self.url}/token",
            jwks_uri=f"{self.url}/jwks",
            id_token_signing_alg_values_supported=["RS256", "HS256", "none"],
        )

    def token(self, key: RSAKey | OctKey | None = None, alg: str = "RS256", **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": self.url,
            "sub": "alice",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": NONCE,
        } | claims
        signer = key if key is not None else self.keys[0]
        return jwt.encode({"alg": alg, "kid": signer.kid}, body, signer, algorithms=[alg])


@pytest.fixture
async def issuer() -> AsyncIterator[Issuer]:
    port = free_port()
    state = Issuer(f"http://127.0.0.1:{port}", [RSAKey.generate_key(2048, {"kid": "k1"})])

    async def jwks(_request: web.Request) -> web.Response:
        state.jwks_reads += 1
        return web.json_response({"keys": [key.as_dict(private=False) for key in state.keys]})

    app = web.Application()
    app.router.add_get("/jwks", jwks)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield state
    await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[OidcClient]:
    oidc = OidcClient(OutboundPolicy(["127.0.0.1"]), timeout=5)  # the issuer is on loopback
    yield oidc
    await oidc.close()


async def claims(client: OidcClient, issuer: Issuer, token: str) -> dict[str, Any]:
    return await client.id_token_claims(
        issuer.metadata(), id_token=token, client_id=CLIENT_ID, nonce=NONCE, access_token=None
    )


async def refusal(client: OidcClient, issuer: Issuer, token: str) -> str:
    with pytest.raises(OidcError) as refused:
        await claims(client, issuer, token)
    return refused.value.reason


async def test_a_good_token_gives_its_claims(client: OidcClient, issuer: Issuer) -> None:
    got = await claims(client, issuer, issuer.token(email="alice@example.com"))
    assert got["sub"] == "alice"
    assert got["email"] == "alice@example.com"


async def test_a_rotated_key_is_found_by_reading_the_jwks_again(
    client: OidcClient, issuer: Issuer
) -> None:
    await claims(client, issuer, issuer.token())
    assert issuer.jwks_reads == 1
    rotated = RSAKey.generate_key(2048, {"kid": "k2"})
    issuer.keys.append(rotated)
    assert (await claims(client, issuer, issuer.token(rotated)))["sub"] == "alice"
    assert issuer.jwks_reads == 2


async def test_a_key_the_issuer_never_published_is_refused(
    client: OidcClient, issuer: Issuer
) -> None:
    stranger = RSAKey.generate_key(2048, {"kid": "k9"})
    assert await refusal(client, issuer, issuer.token(stranger)) == "bad_signature"


async def test_a_forged_signature_under_a_known_key_id_is_refused(
    client: OidcClient, issuer: Issuer
) -> None:
    forger = RSAKey.generate_key(2048, {"kid": "k1"})
    assert await refusal(client, issuer, issuer.token(forger)) == "bad_signature"


async def test_symmetric_and_unsigned_tokens_are_refused_even_when_announced(
    client: OidcClient, issuer: Issuer
) -> None:
    secret = OctKey.import_key(b"the-client-secret-the-client-secret", {"kid": "k1"})
    assert await refusal(client, issuer, issuer.token(secret, alg="HS256")) == "bad_signature"

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signed = issuer.token()
    unsigned = f"{part({'alg': 'none', 'kid': 'k1'})}.{signed.split('.')[1]}."
    assert await refusal(client, issuer, unsigned) == "bad_signature"


@pytest.mark.parametrize(
    ("claims_given", "reason"),
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"aud": "another-client"}, "wrong_audience"),
        ({"iss": "https://elsewhere.example"}, "wrong_issuer"),
        ({"nonce": "replayed"}, "bad_nonce"),
    ],
)
async def test_claims_that_do_not_match_are_refused(
    client: OidcClient, issuer: Issuer, claims_given: dict[str, Any], reason: str
) -> None:
    assert await refusal(client, issuer, issuer.token(**claims_given)) == reason
