"""The commands that need settings (and most, a database): `dispatch` runs the one asked for;
`serve` is `interfaces.commands.serve`, `migrate` `interfaces.commands.migrate`."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading
from typing import TYPE_CHECKING

from infrastructure.observability.logging import configure_logging
from infrastructure.settings import Settings
from interfaces.common_wiring import redactor_for

if TYPE_CHECKING:  # the rest is imported by the command that uses it
    import dramatiq
    from sqlalchemy import Engine

    from infrastructure.projections.usage import UsageProjector
    from interfaces.worker.actors import Actors


def dispatch(args: argparse.Namespace, settings: Settings, config_path: str | None) -> int:
    """`config_path`: the configuration file read, None when there was none."""
    from interfaces.audit_wiring import SigningKeyError

    try:
        return _dispatch(args, settings, config_path)
    except SigningKeyError as error:
        print(f"fluxrouter: {error}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace, settings: Settings, config_path: str | None) -> int:
    configure_logging(
        level=settings.logging.level, fmt=settings.logging.format, redact=redactor_for(settings)
    )
    if args.command == "migrate":
        from interfaces.commands.migrate import migrate

        app_user = migrate(settings)
        print("fluxrouter: database is at the latest migration")
        if app_user is not None:
            print(
                f"fluxrouter: granted {app_user!r} (database.url) its privileges: "
                "it may read and append to the audit log, never change it"
            )
        return 0
    if args.command == "serve":
        from interfaces.commands.serve import serve

        return serve(args, settings, config_path)
    if args.command == "worker":
        return worker(settings)
    if args.command == "orgs":  # the operator's budget cap (the reads are answered before)
        from interfaces.commands.budget_caps import set_budget_cap

        return asyncio.run(set_budget_cap(args, settings))
    if args.command == "keys":
        from interfaces.commands.keys import create_key

        return asyncio.run(create_key(args, settings))
    if args.command == "dead-letters":
        from interfaces.commands import dead_letters

        if args.dead_letters_command == "list":
            return asyncio.run(dead_letters.list_letters(args, settings))
        return asyncio.run(dead_letters.replay_letter(args, settings))
    if args.command == "audit":
        from interfaces.commands import audit_export

        if args.audit_command == "checkpoint":
            return asyncio.run(audit_export.checkpoint_now(settings))
        if args.audit_command == "public-key":
            return audit_export.print_public_key(settings, args.format)
        return audit_export.export_file(settings, args.out, args.from_seq)
    if args.command == "providers":
        from interfaces.commands.providers import sync

        return asyncio.run(sync(args, settings))
    if args.command == "spool":
        from interfaces.commands.spool_status import spool_status

        return spool_status(settings)
    if args.command == "projections":
        _, projector, _, _ = _projections(settings)
        applied = projector.rebuild()
        print(f"fluxrouter: read model `{args.name}` rebuilt from {applied} events")
        return 0
    return 2


def _projections(
    settings: Settings,
) -> tuple[dramatiq.Broker, UsageProjector, Engine, Actors]:
    """The projections' broker (their actors declared) and projector, and the engine they
    write with: what `worker` and `projections rebuild` use, not the gateway's container."""
    from infrastructure.db.engine import create_sync_engine
    from infrastructure.db.event_codec import EventCodec, all_event_types
    from interfaces.common_wiring import projections_for

    sync_engine = create_sync_engine(settings.database.url)
    codec = EventCodec(all_event_types())
    broker, projector, actors, _, _ = projections_for(settings, sync_engine, codec)
    return broker, projector, sync_engine, actors


def worker(settings: Settings) -> int:
    """Dramatiq workers for the projections, against the Redis broker."""
    import dramatiq

    if not settings.redis.url:
        print(
            "fluxrouter: `worker` needs redis.url; without Redis the gateway runs the "
            "projections itself",
            file=sys.stderr,
        )
        return 2
    from interfaces.worker.ticker import Ticker

    broker, _, sync_engine, actors = _projections(settings)
    broker.emit_after("process_boot")
    work = dramatiq.Worker(broker, worker_threads=2)
    work.start()
    ticker = Ticker(actors, settings.workers)
    ticker.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print("fluxrouter: worker running", flush=True)
    stop.wait()
    ticker.stop()
    work.stop()
    broker.close()
    sync_engine.dispose()
    print("fluxrouter: worker stopped", flush=True)
    return 0
