"""The commands that need settings (and most, a database)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading

from infrastructure.db.engine import create_engine
from infrastructure.observability.logging import configure_logging
from infrastructure.security.admin_key import ensure_admin_key
from infrastructure.settings import Settings
from interfaces.bootstrap import redactor_for
from migrations.runner import upgrade


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(
        level=settings.logging.level, fmt=settings.logging.format, redact=redactor_for(settings)
    )
    if args.command == "migrate":
        upgrade(settings.database.url)
        print("fluxrouter: database is at the latest migration")
        return 0
    if args.command == "serve":
        return serve(args, settings)
    if args.command == "worker":
        return worker(settings)
    if args.command == "keys":
        from interfaces.commands.keys import create_key

        return asyncio.run(create_key(args, settings))
    if args.command == "audit":
        from interfaces.commands.audit_file import export_file

        return asyncio.run(export_file(settings, args.out, args.from_seq))
    if args.command == "providers":
        from interfaces.commands.providers import sync

        return asyncio.run(sync(args, settings))
    if args.command == "projections":
        from interfaces.bootstrap import bootstrap

        container = bootstrap(settings)
        applied = container.projector.rebuild()
        print(f"fluxrouter: read model `{args.name}` rebuilt from {applied} events")
        return 0
    return 2


async def _admin_key_banner(settings: Settings) -> None:
    engine = create_engine(settings.database.url)
    try:
        _, generated = await ensure_admin_key(engine, settings.admin.key)
    finally:
        await engine.dispose()
    if generated:
        print(
            "\n  FluxRouter generated an admin key. It is shown this once; store it now:\n\n"
            f"      {generated}\n\n"
            "  Use it as `Authorization: Bearer <key>` on /admin/v1 (or set admin.key).\n",
            flush=True,
        )


def serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if not args.no_migrate:
        upgrade(settings.database.url)
    asyncio.run(_admin_key_banner(settings))
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    workers = args.workers or settings.server.workers
    print(f"fluxrouter: serving on http://{host}:{port} ({workers} worker(s))", flush=True)
    uvicorn.run(
        "interfaces.asgi:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    return 0


def worker(settings: Settings) -> int:
    """Dramatiq workers for the projections, against the Redis broker."""
    import dramatiq

    from interfaces.bootstrap import bootstrap

    if not settings.redis.url:
        print(
            "fluxrouter: `worker` needs redis.url; without Redis the gateway runs the "
            "projections itself",
            file=sys.stderr,
        )
        return 2
    container = bootstrap(settings)
    container.broker.emit_after("process_boot")
    work = dramatiq.Worker(container.broker, worker_threads=2)
    work.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print("fluxrouter: worker running", flush=True)
    stop.wait()
    work.stop()
    container.broker.close()
    container.sync_engine.dispose()
    return 0
