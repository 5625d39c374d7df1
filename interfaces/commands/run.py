"""The commands that need settings (and most, a database)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

from infrastructure.observability.logging import configure_logging
from infrastructure.settings import Settings
from interfaces.common_wiring import redactor_for

if TYPE_CHECKING:  # the rest is imported by the command that uses it
    import dramatiq
    from sqlalchemy import Engine

    from infrastructure.projections.usage import UsageProjector

APP = "interfaces.asgi:app_factory"  # each worker process builds its own app


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
        app_user = migrate(settings)
        print("fluxrouter: database is at the latest migration")
        if app_user is not None:
            print(
                f"fluxrouter: granted {app_user!r} (database.url) its privileges: "
                "it may read and append to the audit log, never change it"
            )
        return 0
    if args.command == "serve":
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
        _, projector, _ = _projections(settings)
        applied = projector.rebuild()
        print(f"fluxrouter: read model `{args.name}` rebuilt from {applied} events")
        return 0
    return 2


def migrate(settings: Settings, *, unless_at_head: bool = False) -> str | None:
    """Upgrade the schema as `database.migrate_url`'s user; when `database.url` names another
    PostgreSQL user, grant it its privileges (returned: that user). `unless_at_head`: alembic
    is not even imported when the database is at the latest migration already (`serve`)."""
    from interfaces.commands.schema_check import at_head
    from migrations.privileges import PrivilegeError, grant_app_privileges

    url = settings.database.migration_url
    if not (unless_at_head and at_head(url)):
        from migrations.runner import upgrade

        upgrade(url)
    try:
        return grant_app_privileges(url, settings.database.url)
    except PrivilegeError as error:
        print(f"fluxrouter: migrate: {error}", file=sys.stderr)
        raise SystemExit(1) from None


async def _admin_key_banner(settings: Settings) -> None:
    from infrastructure.db.engine import create_engine
    from infrastructure.security.admin_key import ensure_admin_key

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


def _audit_key_note(settings: Settings) -> None:
    """The checkpoint signing key is made here, once, before the server's processes start."""
    from interfaces.audit_wiring import load_signing_key

    key, generated = load_signing_key(settings)
    if generated:
        print(
            f"fluxrouter: generated the audit signing key {settings.audit.signing_key_file} "
            f"(key id {key.key_id}); keep it private, back it up, and give every replica the "
            "same file. `fluxrouter audit public-key` prints its public key.",
            flush=True,
        )


def serve(args: argparse.Namespace, settings: Settings, config_path: str | None) -> int:
    from infrastructure.process_tuning import raise_open_files_limit
    from interfaces.http import reuse_port
    from interfaces.startup_report import start_lines

    host = args.host or settings.server.host
    port = args.port or settings.server.port
    workers = settings.server.workers if args.workers is None else args.workers
    if workers < 1:
        print("fluxrouter: --workers must be at least 1", file=sys.stderr)
        return 2
    if workers > 1 and not settings.redis.url:
        print(
            "fluxrouter: --workers above 1 needs redis.url: the processes share rate limits, "
            "budget reservations and key revocations through Redis (without it each would "
            "keep its own)",
            file=sys.stderr,
        )
        return 2
    # The address is bound first, before migrating: a port in use is refused at once, in one
    # line, whatever the number of workers.
    address: socket.socket | None = None
    if workers == 1 or reuse_port.BALANCED:
        try:
            address = (
                reuse_port.single(host, port) if workers == 1 else reuse_port.reserve(host, port)
            )
        except OSError as error:
            print(f"fluxrouter: cannot listen on {host}:{port}: {error.strerror}", file=sys.stderr)
            return 1
    open_files = raise_open_files_limit()  # a client connection is an open file; workers inherit
    with address if address is not None else contextlib.nullcontext():
        for line in start_lines(settings, config_path, host, port, open_files or None):
            print(f"fluxrouter: {line}", flush=True)
        if not args.no_migrate:
            migrate(settings, unless_at_head=True)
        asyncio.run(_admin_key_banner(settings))
        _audit_key_note(settings)
        return _run_server(settings, host, port, workers, address)


def _run_server(
    settings: Settings, host: str, port: int, workers: int, address: socket.socket | None
) -> int:
    """uvicorn on the bound `address`: one server, or its supervisor and `workers` workers, each
    listening on a socket of its own (`reuse_port`); uvicorn binds itself without `address`."""
    import uvicorn

    ws = settings.websocket
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "loop": "uvloop" if sys.platform != "win32" else "asyncio",
        "http": "interfaces.http.guarded_protocol:GuardedHttpToolsProtocol",
        "ws": "interfaces.http.guarded_protocol:CountedWebSocketProtocol",
        "ws_max_size": ws.frame_limit,
        "ws_ping_interval": ws.ping_interval or None,
        "ws_ping_timeout": ws.ping_timeout,
        "ws_per_message_deflate": False,  # a compressor per connection costs more than it saves
        "log_level": "warning",
        "access_log": False,
        "server_header": False,  # no software name and version for a scanner to match
        "lifespan": "on",
        "timeout_graceful_shutdown": 10,
        # X-Forwarded-For names the client only on connections from a trusted proxy
        "proxy_headers": bool(settings.server.trusted_proxies),
        "forwarded_allow_ips": list(settings.server.trusted_proxies),
    }
    _serving(host, port, workers)
    if address is None:
        with _stop_on_signal():
            uvicorn.run(APP, **options)
        _stopped()
        return 0
    config = uvicorn.Config(APP, **options)
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[address]).run()
        _stopped()
        return 0
    server = uvicorn.Server(config)
    with _stop_on_signal(), contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[address])
    if not server.started:
        return 3  # uvicorn's code for a server that failed to start
    _stopped()
    return 0


def _serving(host: str, port: int, workers: int) -> None:
    print(f"fluxrouter: serving on http://{host}:{port} ({workers} worker(s))", flush=True)


def _stopped() -> None:
    print("fluxrouter: stopped", flush=True)


class _Signalled(Exception):
    """SIGINT or SIGTERM, once uvicorn has shut down gracefully (it raises the signal again)."""


@contextmanager
def _stop_on_signal() -> Iterator[None]:
    """uvicorn shuts down on SIGINT/SIGTERM, then raises the signal again under the handler it
    found: this one ends `uvicorn.run` so that the stop is reported and the exit status is 0."""

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise _Signalled

    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, stop) for sig in handled}
    try:
        yield
    except _Signalled:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _projections(settings: Settings) -> tuple[dramatiq.Broker, UsageProjector, Engine]:
    """The projections' broker (their actors declared) and projector, and the engine they
    write with: what `worker` and `projections rebuild` use, not the gateway's container."""
    from infrastructure.db.engine import create_sync_engine
    from infrastructure.db.event_codec import EventCodec, all_event_types
    from interfaces.common_wiring import projections_for

    sync_engine = create_sync_engine(settings.database.url)
    codec = EventCodec(all_event_types())
    broker, projector, _, _, _ = projections_for(settings, sync_engine, codec)
    return broker, projector, sync_engine


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
    broker, _, sync_engine = _projections(settings)
    broker.emit_after("process_boot")
    work = dramatiq.Worker(broker, worker_threads=2)
    work.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print("fluxrouter: worker running", flush=True)
    stop.wait()
    work.stop()
    broker.close()
    sync_engine.dispose()
    print("fluxrouter: worker stopped", flush=True)
    return 0
