"""The ASGI application factory the server imports (one call per worker process)."""

from __future__ import annotations

import os

from litestar import Litestar

from infrastructure.observability.logging import configure_logging
from infrastructure.observability.profiling import profile_from_env
from infrastructure.process_tuning import open_files_limit, settle_heap
from infrastructure.settings import load_settings
from interfaces.bootstrap import bootstrap
from interfaces.http import connection_limits
from interfaces.http.app import create_app
from interfaces.http.connection_limits import limits_of
from interfaces.http.scim.engine import load_in_background


def app_factory() -> Litestar:
    dump_profile = profile_from_env()  # FLUXROUTER_PROFILE: cProfile this process
    settings, _ = load_settings(os.environ.get("FLUXROUTER_CONFIG"))
    container = bootstrap(
        settings, accounting_process=settings.workers.accounting_process, spool=True
    )
    configure_logging(
        level=settings.logging.level, fmt=settings.logging.format, redact=container.redactor
    )
    limits = limits_of(settings, open_files_limit())
    connection_limits.configure(limits)
    container.metrics.watch_connections(limits)

    def after_start() -> None:
        settle_heap()
        load_in_background()  # SCIM's first request need not wait for scim2's import

    app = create_app(container, after_start=after_start)
    if dump_profile is not None:
        app.on_shutdown.append(dump_profile)
    return app
