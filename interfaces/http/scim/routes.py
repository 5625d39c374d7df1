"""`/scim/v2/...`: each request authenticated by an org's SCIM token and served by the SCIM
protocol engine over that org's storage.

Answers are `application/scim+json` (`application/json` bodies are read too); errors follow the
SCIM error schema. A group PATCH is answered 204, a person's 200 (see `provider`). A write that
raced another change of the same resource is retried, unless the client itself sent a
precondition (`If-Match`).
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import structlog
from litestar import Request, Response, route

from domains.teams.scim_tokens import looks_like_scim_token
from infrastructure.db.engine import is_database_busy
from infrastructure.redis_errors import MESSAGE as REDIS_DOWN
from infrastructure.redis_errors import RETRY_AFTER as REDIS_RETRY_AFTER
from infrastructure.redis_errors import is_redis_unavailable
from infrastructure.security.scim_tokens import scim_token_holder
from interfaces.http.container import bearer_token
from interfaces.http.dependencies import AppSettings, Bus, Engine
from interfaces.http.errors import BUSY, BUSY_RETRY_AFTER, scim_error
from interfaces.http.refusals import note_refused, throttled, throttled_message
from interfaces.http.scim.engine import ScimEngine, scim_engine

if TYPE_CHECKING:  # scim2 is loaded apart from the app (`engine`)
    from scim2_server.responses import ScimResponse

log = structlog.get_logger("fluxrouter.scim")

PREFIX = "/scim/v2"
METHODS: list[Any] = ["GET", "POST", "PUT", "PATCH", "DELETE"]
RETRIES = 3


def _base_url(request: Request[Any, Any, Any], settings: AppSettings) -> str:
    public = settings.server.public_url
    base = public.rstrip("/") if public else str(request.base_url).rstrip("/")
    return base + PREFIX


def _answer(response: ScimResponse) -> Response[bytes]:
    body = b"" if response.body is None else json.dumps(response.body).encode()
    status = int(response.status)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    headers.setdefault("Cache-Control", "no-cache")
    return Response(
        body,
        status_code=status,
        media_type=response.headers.get("Content-Type", "application/scim+json"),
        headers=headers,
    )


async def _body(request: Request[Any, Any, Any], limit: int, scim: ScimEngine) -> bytes:
    """The request body, refused with a SCIM 413 past `scim.max_request_bytes`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise scim.too_large(detail=f"the body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise scim.too_large(detail=f"the body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _serve(
    request: Request[Any, Any, Any],
    path: str,
    bus: Bus,
    engine: Engine,
    settings: AppSettings,
) -> Response[bytes]:
    scim = await scim_engine()
    try:
        body = await _body(request, settings.scim.max_request_bytes, scim)
    except scim.error as exc:
        return _answer(scim.service.error_response(exc))
    scim_request = scim.request(
        method=request.method,
        base_url=_base_url(request, settings),
        path=path.removesuffix(".scim") or "/",
        query=dict(request.query_params),
        headers=list(request.headers.items()),
        body=body,
    )
    try:
        org_id, actor, reach = await _authenticate(request, engine, scim)
        storage = scim.storage(scim.service, bus, engine, org_id, actor, settings.scim, reach)
        handler = scim.handler(scim.service, storage, settings.scim)
        conditional = scim_request.header("If-Match") or scim_request.header("If-None-Match")
        for _ in range(RETRIES):
            try:
                response = await handler.handle(scim_request)
            except scim.error as exc:
                if exc.status == HTTPStatus.PRECONDITION_FAILED and not conditional:
                    continue  # another write won the race: read it afresh and apply again
                raise
            break
        else:
            response = await handler.handle(scim_request)
    except TooManyRefusals as exc:
        return scim_error(429, throttled_message(exc.wait), headers={"Retry-After": str(exc.wait)})
    except scim.error as exc:
        response = scim.service.error_response(exc)
        if isinstance(exc, scim.unauthorized):
            response.headers["WWW-Authenticate"] = 'Bearer realm="scim"'
    except Exception as exc:
        if is_database_busy(exc):
            log.warning("scim.database_busy", path=request.url.path)
            return scim_error(503, BUSY, headers={"Retry-After": BUSY_RETRY_AFTER})
        if is_redis_unavailable(exc):
            log.warning("scim.redis_unavailable", path=request.url.path)
            return scim_error(503, REDIS_DOWN, headers={"Retry-After": REDIS_RETRY_AFTER})
        log.error("scim.unhandled", path=request.url.path, exc_info=exc)
        response = scim.service.error_response(exc)
    return _answer(response)


class TooManyRefusals(Exception):
    def __init__(self, wait: int) -> None:
        super().__init__(wait)
        self.wait = wait


async def _authenticate(
    request: Request[Any, Any, Any], engine: Engine, scim: ScimEngine
) -> tuple[str, str, str]:
    """(the org, the actor as the audit log names it, the role it acts with) of the request's
    SCIM token."""
    token = bearer_token(request, x_api_key=False)
    if token is None:
        note_refused(request, "scim", None, "missing")
        raise scim.unauthorized(detail="Send the org's SCIM token as a bearer token.")
    if wait := throttled(request, "scim"):
        raise TooManyRefusals(wait)
    holder = await scim_token_holder(engine, token) if looks_like_scim_token(token) else None
    if holder is None:
        note_refused(request, "scim", token, "invalid")
        raise scim.unauthorized(detail="The SCIM token is not valid.")
    return holder.org_id, f"scim:{holder.token_id}", holder.reach


@route(PREFIX, http_method=METHODS, include_in_schema=False)
async def scim_root(
    request: Request[Any, Any, Any], bus: Bus, engine: Engine, settings: AppSettings
) -> Response[bytes]:
    return await _serve(request, "/", bus, engine, settings)


@route(PREFIX + "/{path:path}", http_method=METHODS, include_in_schema=False)
async def scim_path(
    request: Request[Any, Any, Any],
    bus: Bus,
    engine: Engine,
    settings: AppSettings,
    path: str,
) -> Response[bytes]:
    return await _serve(request, path, bus, engine, settings)


ROUTES = [scim_root, scim_path]
