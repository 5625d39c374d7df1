"""What an OpenID Connect relying party needs without I/O: the issuer's discovery document as
read, the ID token algorithms accepted from it (asymmetric only), the authorization request's URL
(code flow with PKCE S256, `state` and `nonce`) and the error every step raises."""

from __future__ import annotations

from urllib.parse import urlencode

import msgspec

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
ASYMMETRIC_ALGORITHMS = frozenset((*ASYMMETRIC, "EdDSA", "Ed25519"))


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
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

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
