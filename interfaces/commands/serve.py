"""`fluxrouter serve`: the address bound, the schema migrated, the admin and audit keys made,
then uvicorn with one worker or several."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from infrastructure.settings import Settings
from interfaces.commands.migrate import migrate

APP = "interfaces.asgi:app_factory"  # each worker process builds its own app


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
