"""create_app(): the Litestar application over a container."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from interfaces.bootstrap import Container
from interfaces.http import api_docs, health_routes, landing_routes
from interfaces.http.admin.routers import AdminApiPlugin
from interfaces.http.anthropic import routes as anthropic_routes
from interfaces.http.cors import cors_config
from interfaces.http.dependencies import ContainerPlugin
from interfaces.http.errors import handle_exception
from interfaces.http.gemini.api_docs import GeminiApiPlugin
from interfaces.http.middleware import RequestContextMiddleware
from interfaces.http.openai import completions_routes, direct, models_routes
from interfaces.http.openai import routes as openai_routes
from interfaces.http.responses import routes as responses_routes
from interfaces.http.scim import routes as scim_routes
from interfaces.http.sso import oidc_routes, saml_routes, session_routes
from interfaces.version import VERSION
from interfaces.ws import routes as ws_routes
from interfaces.ws.responses import routes as responses_socket_routes


def create_app(container: Container, *, after_start: Callable[[], None] | None = None) -> Litestar:
    """`after_start` runs once the container has started (the server tunes its heap there)."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await container.start()
        if after_start is not None:
            after_start()
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
        render_plugins=api_docs.render_plugins(),
    )
    cors = cors_config(container.settings.server.cors_origins)
    app = Litestar(
        route_handlers=[
            *openai_routes.ROUTES,
            *completions_routes.ROUTES,
            *models_routes.ROUTES,
            *anthropic_routes.ROUTES,
            *responses_routes.ROUTES,
            *health_routes.ROUTES,
            *landing_routes.ROUTES,
            api_docs.api_docs_asset,
            *ws_routes.ROUTES,
            *responses_socket_routes.ROUTES,
            *scim_routes.ROUTES,
            oidc_routes.oidc_login,
            oidc_routes.oidc_callback,
            saml_routes.saml_metadata,
            saml_routes.saml_login,
            saml_routes.saml_acs,
            session_routes.logout,
        ],
        exception_handlers={Exception: handle_exception},
        lifespan=[lifespan],
        openapi_config=openapi,
        request_max_body_size=container.settings.server.max_request_bytes,
        debug=False,
        logging_config=None,
        cors_config=cors,
        plugins=[ContainerPlugin(container), AdminApiPlugin(), GeminiApiPlugin()],
    )
    # outside the router, so 404/405 (raised before any route middleware runs) get a request id too
    # with CORS, they take Litestar's routes, inside its CORS middleware
    shortcuts: dict[tuple[str, Any], Any] = (
        {}
        if cors
        else dict(direct.direct_routes(container, container.settings.server.max_request_bytes))
    )
    app.asgi_handler = RequestContextMiddleware(
        app.asgi_handler, metrics=container.metrics, direct=shortcuts
    )
    return app
