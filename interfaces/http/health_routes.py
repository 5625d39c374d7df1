"""Liveness, readiness (both also for HEAD) and metrics."""

from __future__ import annotations

from typing import Any

from litestar import HttpMethod, Request, Response, get, route
from sqlalchemy import text

from interfaces.http.container import container_of
from interfaces.http.errors import problem

# HEAD answers as GET does, without the body (the server sends none for HEAD)
_GET_HEAD = [HttpMethod.GET, HttpMethod.HEAD]


@route("/healthz", http_method=_GET_HEAD, tags=["Operations"], summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@route(
    "/readyz",
    http_method=_GET_HEAD,
    tags=["Operations"],
    summary="Readiness: database and Redis reachable",
)
async def readyz(request: Request[Any, Any, Any]) -> Response[Any]:
    container = container_of(request)
    checks: dict[str, str] = {}
    try:
        async with container.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # reported, not raised: this route reports failure
        checks["database"] = f"unreachable ({type(error).__name__})"
    if container.settings.redis.url:
        import redis.asyncio as aioredis  # imported where Redis is configured

        client = aioredis.from_url(container.settings.redis.url, socket_timeout=2)
        try:
            await client.ping()
            checks["redis"] = "ok"
        except Exception as error:
            checks["redis"] = f"unreachable ({type(error).__name__})"
        finally:
            await client.aclose()
    if all(value == "ok" for value in checks.values()):
        return Response({"status": "ready", "checks": checks})
    return problem(503, "not ready", "A dependency is unreachable.", extra={"checks": checks})


@get("/metrics", tags=["Operations"], summary="Prometheus metrics", include_in_schema=True)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    container = container_of(request)
    return Response(container.metrics.render(), media_type=container.metrics.content_type)


ROUTES = [healthz, readyz, metrics]
