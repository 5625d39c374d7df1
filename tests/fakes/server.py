"""Machinery shared by the fake upstreams (``openai_upstream``, ``anthropic_upstream``,
``gemini_upstream``): request recording, the app skeleton, the background-thread runner
:class:`FakeServer` and the ``python -m`` entry :func:`run_main`.

Each fake module supplies only its wire format: a ``create_app(expected_key, *, record,
slow_seconds, request_log, ...)`` factory and a :class:`FakeServer` subclass naming it.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import hashlib
import re
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Final, Generic, Self, TypeVar

import msgspec
from aiohttp import web

__all__ = [
    "DEFAULT_SLOW_SECONDS",
    "EXPECTED_KEY",
    "REQUEST_LOG",
    "SLOW_SECONDS",
    "FakeServer",
    "HTTPFailure",
    "Handler",
    "RawExchange",
    "RecordedRequest",
    "RecordingStreamResponse",
    "RequestLog",
    "chat_pieces",
    "count_words",
    "embedding_vector",
    "guarded",
    "log_request",
    "new_app",
    "new_event_loop",
    "read_json",
    "request_fields",
    "run_main",
]

DEFAULT_SLOW_SECONDS: Final = 3.0

_WORD_RE: Final = re.compile(r"\s*\S+")
_decoder: Final = msgspec.json.Decoder()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AppFactory = Callable[..., web.Application]

R = TypeVar("R")


# ---------------------------------------------------------------------------------------------
# Request recording
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request received by the fake (any route, including rejected ones)."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case header names
    json: Any  # parsed JSON body, or None (no body / not JSON)

    @classmethod
    def of(cls, request: web.Request, body: Any) -> RecordedRequest:
        return cls(**request_fields(request, body))


def request_fields(request: web.Request, body: Any) -> dict[str, Any]:
    """The fields every fake records of a request: method, path, lower-cased headers and the
    parsed JSON body."""
    return {
        "method": request.method,
        "path": request.path,
        "headers": {k.lower(): v for k, v in request.headers.items()},
        "json": body,
    }


class RequestLog(Generic[R]):
    """Thread-safe append-only log of recorded requests (:class:`RecordedRequest` objects, or
    a fake's own record type)."""

    __slots__ = ("_items", "_lock")

    def __init__(self) -> None:
        self._items: list[R] = []
        self._lock = threading.Lock()

    def append(self, item: R) -> None:
        with self._lock:
            self._items.append(item)

    def snapshot(self) -> list[R]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


@dataclass(slots=True)
class RawExchange:
    """The bytes of one request's body and of its answer's body as they crossed the wire (no
    headers): what a test compares with what its client sent and got. ``sent`` grows while a
    stream is written, up to :data:`RAW_SENT_LIMIT` bytes (``cut`` says it stopped keeping)."""

    method: str
    path: str
    received: bytes
    sent: bytearray
    cut: bool = False

    def keep(self, data: bytes) -> None:
        if len(self.sent) + len(data) > RAW_SENT_LIMIT:
            self.cut = True
        else:
            self.sent += data


RAW_SENT_LIMIT: Final = 1 << 20
RAW_LOG: Final = web.AppKey("fake_raw_log", RequestLog[RawExchange])
_EXCHANGE: Final = web.RequestKey("fake_raw_exchange", RawExchange)


@web.middleware
async def _record_raw(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Keeps the request's body bytes, and its answer's: a whole one here, a stream as
    :class:`RecordingStreamResponse` writes it."""
    received = await request.read() if request.body_exists else b""
    exchange = RawExchange(request.method, request.path, received, bytearray())
    request[_EXCHANGE] = exchange
    request.app[RAW_LOG].append(exchange)
    response = await handler(request)
    if isinstance(response, web.Response) and isinstance(response.body, bytes):
        exchange.keep(response.body)
    return response


class RecordingStreamResponse(web.StreamResponse):
    """A streamed answer whose bytes are kept in its request's :class:`RawExchange`."""

    _exchange: RawExchange | None = None

    async def prepare(self, request: web.BaseRequest) -> Any:
        self._exchange = request.get(_EXCHANGE)
        return await super().prepare(request)

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._exchange is not None:
            self._exchange.keep(bytes(data))
        await super().write(data)


EXPECTED_KEY: Final = web.AppKey("fake_expected_key", str)
REQUEST_LOG: Final = web.AppKey("fake_request_log", RequestLog[Any])
SLOW_SECONDS: Final = web.AppKey("fake_slow_seconds", float)


def log_request(
    request: web.Request,
    body: Any,
    record: Callable[[web.Request, Any], object] = RecordedRequest.of,
) -> None:
    """Append ``record(request, body)`` to the app's :class:`RequestLog`, if it keeps one."""
    log = request.app.get(REQUEST_LOG)
    if log is not None:
        log.append(record(request, body))


def new_app(
    expected_key: str | None,
    *,
    record: bool,
    slow_seconds: float,
    request_log: RequestLog[Any] | None,
) -> web.Application:
    """An application with the settings every fake keeps (routes are the caller's):
    ``expected_key`` in ``app[EXPECTED_KEY]`` if set, a :class:`RequestLog` in
    ``app[REQUEST_LOG]`` if ``record`` (``request_log`` if given) and then the bytes of every
    exchange in ``app[RAW_LOG]``, ``app[SLOW_SECONDS]``."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    if expected_key is not None:
        app[EXPECTED_KEY] = expected_key
    if record:
        app[REQUEST_LOG] = request_log if request_log is not None else RequestLog()
        app[RAW_LOG] = RequestLog()
        app.middlewares.append(_record_raw)
    app[SLOW_SECONDS] = float(slow_seconds)
    return app


class HTTPFailure(Exception):
    """Carries a ready-made error response out of nested helpers (see :func:`guarded`)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def guarded(handler: Handler) -> Handler:
    """``handler``, answering with the response of any :class:`HTTPFailure` it raises."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except HTTPFailure as failure:
            return failure.response

    wrapped.__name__ = handler.__name__
    return wrapped


async def read_json(request: web.Request, *, empty_ok: bool = False) -> tuple[Any, bool]:
    """(parsed body or None, parsed ok). With ``empty_ok`` a missing or blank body parses (as
    None); otherwise it does not."""
    if not request.body_exists:
        return None, empty_ok
    raw = await request.read()
    if empty_ok and not raw.strip():
        return None, True
    try:
        return _decoder.decode(raw), True
    except msgspec.DecodeError:
        return None, False


# ---------------------------------------------------------------------------------------------
# Helpers (pure)
# ---------------------------------------------------------------------------------------------


def count_words(text: str) -> int:
    """Number of whitespace-separated words in ``text``."""
    return len(text.split())


def chat_pieces(text: str) -> list[str]:
    """Split ``text`` into one piece per word; pieces after the first keep their leading
    whitespace (and the last keeps any trailing whitespace), so ``"".join`` gives ``text``."""
    pieces = _WORD_RE.findall(text)
    if not pieces:
        return [text] if text else []
    tail = len(text) - sum(len(p) for p in pieces)
    if tail:
        pieces[-1] += text[-tail:]
    return pieces


def embedding_vector(data: bytes, dims: int) -> array.array[float]:
    """Deterministic float32 vector in [-1, 1] derived from ``data``."""
    raw = hashlib.shake_256(data).digest(4 * dims)
    scale = 2.0 / 4294967295.0
    return array.array("f", [u * scale - 1.0 for u in memoryview(raw).cast("I")])


# ---------------------------------------------------------------------------------------------
# Background-thread runner
# ---------------------------------------------------------------------------------------------


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is optional
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class FakeServer(Generic[R]):
    """Runs :attr:`app_factory` on 127.0.0.1 in a background thread with its own event loop.

    Usable from sync code (``with Fake() as fake:``) and async code (``async with Fake() as
    fake:``; starting/stopping happens off the caller's loop). Subclasses set
    :attr:`app_factory` (called as ``app_factory(expected_key, slow_seconds=...,
    request_log=..., **self._app_options())``), :attr:`thread_name` and :attr:`base_path`
    (appended to ``http://host:port`` in :attr:`base_url`); error messages and ``repr`` use the
    subclass's name.
    """

    app_factory: ClassVar[AppFactory]  # the module's create_app (wrap it in staticmethod)
    thread_name: ClassVar[str]
    base_path: ClassVar[str] = ""

    def __init__(
        self,
        expected_key: str | None = None,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        slow_seconds: float = DEFAULT_SLOW_SECONDS,
    ) -> None:
        self.expected_key = expected_key
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._slow_seconds = slow_seconds
        self._log: RequestLog[R] = RequestLog()
        self._raw: RequestLog[RawExchange] = RequestLog()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    def _app_options(self) -> dict[str, Any]:
        """Keyword arguments for :attr:`app_factory` beyond the common ones."""
        return {}

    # -- properties ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() first")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{self.base_path}"

    @property
    def requests(self) -> list[R]:
        """Snapshot (a new list) of the requests received so far, oldest first."""
        return self._log.snapshot()

    @property
    def exchanges(self) -> list[RawExchange]:
        """Snapshot of the bytes of every request and answer so far, oldest first."""
        return self._raw.snapshot()

    def clear(self) -> None:
        """Forget the recorded requests."""
        self._log.clear()
        self._raw.clear()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._port is not None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        """Start serving; blocks until the socket is listening. Returns self."""
        name = type(self).__name__
        if self._thread is not None:
            raise RuntimeError(f"{name} already started")
        self._ready.clear()
        self._startup_error = None
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=10.0):
            raise RuntimeError(f"{name} did not start within 10 s")
        if self._startup_error is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
            raise RuntimeError(f"{name} failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10.0)
        self._thread = None
        self._loop = None
        self._port = None

    def _run(self) -> None:
        loop = new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            try:
                app = self.app_factory(
                    self.expected_key,
                    slow_seconds=self._slow_seconds,
                    request_log=self._log,
                    **self._app_options(),
                )
                self._raw = app.get(RAW_LOG, self._raw)
                runner = web.AppRunner(
                    app,
                    access_log=None,
                    handle_signals=False,
                    handler_cancellation=True,
                    shutdown_timeout=0.5,
                )
                loop.run_until_complete(runner.setup())
                self._runner = runner
                site = web.TCPSite(runner, self.host, self._requested_port, backlog=1024)
                loop.run_until_complete(site.start())
                self._port = int(runner.addresses[0][1])
            except BaseException as exc:
                self._startup_error = exc
                self._ready.set()
                return
            self._ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
        finally:
            self._runner = None
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            asyncio.set_event_loop(None)

    # -- context managers ---------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def __repr__(self) -> str:
        where = f"{self.host}:{self._port}" if self._port is not None else "stopped"
        return f"<{type(self).__name__} {where} requests={len(self._log)}>"


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def run_main(
    argv: list[str] | None,
    *,
    prog: str,
    description: str,
    default_port: int,
    key_help: str,
    create_app: AppFactory,
    banner: str,
    switches: Mapping[str, str] | None = None,
) -> None:
    """Serve ``create_app(...)`` in the foreground (the fakes' ``python -m`` entry).

    ``banner`` is printed once listening, after ``.format(host=..., port=...)``. ``switches``
    maps extra ``--flag`` names to their help; each is passed to ``create_app`` as a keyword
    (``--allow-anonymous`` → ``allow_anonymous=True/False``).
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--expected-key", default=None, help=key_help)
    parser.add_argument(
        "--record",
        action="store_true",
        help="keep every request in memory (off by default: benchmarks would grow it unbounded)",
    )
    parser.add_argument("--slow-seconds", type=float, default=DEFAULT_SLOW_SECONDS)
    names = []
    for flag, help_ in (switches or {}).items():
        names.append(parser.add_argument(flag, action="store_true", help=help_).dest)
    args = parser.parse_args(argv)
    app = create_app(
        args.expected_key,
        record=args.record,
        slow_seconds=args.slow_seconds,
        **{name: getattr(args, name) for name in names},
    )
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        access_log=None,
        backlog=4096,
        handler_cancellation=True,
        shutdown_timeout=1.0,
        loop=new_event_loop(),
        print=lambda *_: print(banner.format(host=args.host, port=args.port), flush=True),
    )
