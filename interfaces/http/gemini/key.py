"""The virtual key of a request to Gemini's API, as the handler's `gemini_key` dependency
(`interfaces.http.dependencies`): checked when the handler asks, not before it runs, so that a
path naming no Gemini method is a 404 whatever the key (as Google answers), and the model
listing takes the key alone while the methods also take the request's gateway options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Request

from interfaces.http.container import bearer_token, client_host
from interfaces.http.openai.auth import CACHE_HEADER, TAGS_HEADER, authenticate_secret

if TYPE_CHECKING:
    from domains.shared.caller import Caller
    from interfaces.bootstrap import Container


def credential(request: Request[Any, Any, Any]) -> str | None:
    """The virtual key: `x-goog-api-key` (what the google-genai SDK sends), `?key=`, else
    `Authorization: Bearer` or `x-api-key`."""
    for value in (request.headers.get("x-goog-api-key"), request.query_params.get("key")):
        if value and value.strip():
            return value.strip()
    return bearer_token(request, x_api_key=True)


class GeminiKey:
    """A request's Gemini credential, not yet checked."""

    __slots__ = ("_container", "_request")

    def __init__(self, container: Container, request: Request[Any, Any, Any]) -> None:
        self._container = container
        self._request = request

    async def caller(self, *, options: bool = True) -> Caller:
        """Who the key names: a missing, unknown or revoked one is a 401, too many refused from
        the address a 429. With `options`, the caller carries the request's tags and cache
        directive (`x-fluxrouter-tags`, `x-fluxrouter-cache`: a bad directive is a 400)."""
        request = self._request
        return await authenticate_secret(
            self._container,
            credential(request),
            client_host(request),
            request.headers.get(TAGS_HEADER) if options else None,
            request.headers.get(CACHE_HEADER) if options else None,
        )
