"""The ASGI application factory the server imports (one call per worker process)."""

from __future__ import annotations

import os

from litestar import Litestar

from infrastructure.observability.logging import configure_logging
from infrastructure.settings import load_settings
from interfaces.bootstrap import bootstrap
from interfaces.http.app import create_app


def app_factory() -> Litestar:
    settings, _ = load_settings(os.environ.get("FLUXROUTER_CONFIG"))
    container = bootstrap(settings)
    configure_logging(
        level=settings.logging.level, fmt=settings.logging.format, redact=container.redactor
    )
    return create_app(container)
