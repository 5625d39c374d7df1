"""create_app(): the Litestar application over a container."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from interfaces.bootstrap import Container
from interfaces.http import health_routes
from interfaces.http.admin.providers_routes import ProvidersController
from interfaces.http.admin.reports_routes import ReportsController
from interfaces.http.admin.teams_routes import TeamsController
from interfaces.http.anthropic import routes as anthropic_routes
from interfaces.http.errors import handle_exception
from interfaces.http.middleware import RequestContextMiddleware
from interfaces.http.openai import routes as openai_routes
from interfaces.version import VERSION


def create_app(container: Container) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await container.start()
        try:
            yield
        finally:
            await container.stop()

    openapi = OpenAPIConfig(
        title="FluxRouter",
        version=VERSION,
        description="OpenAI-compatible LLM gateway and its admin API.",
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer"),
            }
        ),
        security=[{"bearer": []}],
    )
    app = Litestar(
        route_handlers=[
            *openai_routes.ROUTES,
            *anthropic_routes.ROUTES,
            *health_routes.ROUTES,
            TeamsController,
            ReportsController,
            ProvidersController,
        ],
        exception_handlers={Exception: handle_exception},
        lifespan=[lifespan],
        openapi_config=openapi,
        request_max_body_size=container.settings.server.max_request_bytes,
        debug=False,
        logging_config=None,
    )
    app.state.container = container
    # outside the router, so 404/405 (raised before any route middleware runs) get a request id too
    app.asgi_handler = RequestContextMiddleware(app.asgi_handler, metrics=container.metrics)
    return app
