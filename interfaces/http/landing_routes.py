"""`GET /`: what this server is and where to read about it, for someone who opens its address."""

from __future__ import annotations

from litestar import HttpMethod, route

from interfaces.version import VERSION

LANDING = {
    "name": "FluxRouter",
    "version": VERSION,
    "docs": "/schema",
    "openapi": "/schema/openapi.json",
    "openai_base_url": "/v1",
    "anthropic_messages": "/v1/messages",
    "admin": "/admin/v1",
    "health": "/healthz",
    "ready": "/readyz",
}


@route(
    "/",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    tags=["Operations"],
    summary="What this server is, its version and where its API is described",
)
async def landing() -> dict[str, str]:
    return LANDING


ROUTES = [landing]
