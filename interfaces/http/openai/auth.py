"""Who is calling /v1: the virtual key in `Authorization: Bearer` or `x-api-key`."""

from __future__ import annotations

from typing import Any

from litestar import Request

from domains.shared.caller import Caller
from interfaces.http.container import bearer_token, container_of
from interfaces.http.errors import ApiError


async def authenticate(request: Request[Any, Any, Any]) -> Caller:
    secret = bearer_token(request, x_api_key=True)
    if secret is None:
        raise ApiError(
            401,
            "You didn't provide an API key. Send it as `Authorization: Bearer <key>`.",
            code="missing_api_key",
        )
    caller = await container_of(request).authenticator.authenticate(secret)
    if caller is None:
        raise ApiError(
            401, "Incorrect API key provided, or the key was revoked.", code="invalid_api_key"
        )
    return caller
