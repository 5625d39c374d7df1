"""Who is calling /v1: the virtual key in `Authorization: Bearer` or `x-api-key`. Refusals
are told to the audit log (counted, never with the secret). Litestar's routes get the caller as
the `key_holder` dependency (`interfaces.http.dependencies`), `direct.DirectRoute` from here."""

from __future__ import annotations

import msgspec

from domains.providers.policy import parse_tags
from domains.providers.response_cache import DIRECTIVES
from domains.shared.caller import Caller
from domains.teams.model import looks_like_virtual_key
from interfaces.bootstrap import Container
from interfaces.http.errors import ApiError
from interfaces.http.refusals import note_refused_to, throttled_for, throttled_message

TAGS_HEADER = "x-fluxrouter-tags"
"""The request's tags, comma separated: routing policies may match them (docs/routing.md)."""
CACHE_HEADER = "x-fluxrouter-cache"
"""The request's response cache directive: on, off or refresh (docs/cache.md)."""


async def authenticate_secret(
    container: Container,
    secret: str | None,
    client: str | None,
    tags: str | None = None,
    cache: str | None = None,
) -> Caller:
    """The caller a credential names, with the request's `tags` (its `x-fluxrouter-tags`
    header) and `cache` directive (its `x-fluxrouter-cache`: on, off or refresh, else a 400);
    a missing, unknown or revoked one is a 401; a credential not already accepted, from an
    address that had too many refused, a 429 (no lookup)."""
    if secret is None:
        note_refused_to(container, client, "v1", None, "missing")
        raise ApiError(
            401,
            "You didn't provide an API key. Send it as `Authorization: Bearer <key>`.",
            code="missing_api_key",
        )
    authenticator = container.authenticator
    if not authenticator.knows(secret) and (wait := throttled_for(container, client, "v1")):
        raise ApiError(
            429,
            throttled_message(wait),
            code="too_many_refused_credentials",
            headers={"Retry-After": str(wait)},
        )
    caller = await authenticator.authenticate(secret)
    if caller is None:
        reason = "invalid" if looks_like_virtual_key(secret) else "malformed"
        note_refused_to(container, client, "v1", secret, reason)
        raise ApiError(
            401, "Incorrect API key provided, or the key was revoked.", code="invalid_api_key"
        )
    if cache is not None:
        directive = cache.strip().lower()
        if directive not in DIRECTIVES:
            raise ApiError(
                400,
                f"{CACHE_HEADER} must be one of on, off, refresh.",
                code="invalid_cache_directive",
            )
        caller = msgspec.structs.replace(caller, cache=directive)
    if tags:
        return msgspec.structs.replace(caller, tags=parse_tags(tags))
    return caller
