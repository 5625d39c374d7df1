"""Liveness, readiness (both also for HEAD) and metrics."""

from __future__ import annotations

from typing import Any

from litestar import HttpMethod, Response, get, route

from infrastructure.observability.readiness import readiness_checks
from interfaces.http.dependencies import AppSettings, Engine, MetricsRegistry
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
async def readyz(engine: Engine, settings: AppSettings) -> Response[Any]:
    checks = await readiness_checks(engine, settings.redis.url)
    if all(value == "ok" for value in checks.values()):
        return Response({"status": "ready", "checks": checks})
    return problem(503, "not ready", "A dependency is unreachable.", extra={"checks": checks})


@get("/metrics", tags=["Operations"], summary="Prometheus metrics", include_in_schema=True)
async def metrics(metrics: MetricsRegistry) -> Response[bytes]:
    return Response(metrics.render(), media_type=metrics.content_type)


ROUTES = [healthz, readyz, metrics]
