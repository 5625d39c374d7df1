"""structlog configured once at start: JSON lines (or console), the request id from contextvars,
and every string scrubbed of secrets before it is written, however deep in the values logged."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, MutableMapping
from typing import Any, BinaryIO

import msgspec
import structlog

from infrastructure.observability.log_lines import LineWriter
from infrastructure.security.redaction import redact_nested

_encoder = msgspec.json.Encoder(enc_hook=str)  # what JSON cannot hold is written as its str()
_stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)


@functools.cache
def line_writer(stream: BinaryIO) -> LineWriter:
    """One writer a stream, however often logging is configured."""
    return LineWriter(stream)


def _dumps(event: Any, **_: Any) -> bytes:
    """structlog's serializer: msgspec, several times faster than the standard library's json."""
    return _encoder.encode(event)


def _dumps_text(event: Any, **_: Any) -> str:
    return _encoder.encode(event).decode()


def _scrubber(redact: Callable[[str], str]) -> Callable[..., MutableMapping[str, Any]]:
    def scrub(
        _logger: Any, _name: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in event.items():
            if isinstance(value, str):
                event[key] = redact(value)
            elif isinstance(value, (dict, list, tuple, set, frozenset)):
                event[key] = redact_nested(value, redact)
        return event

    return scrub


class _AccessLine:
    """The access log's line, rendered straight to JSON: what the processor chain makes of it
    (scrubbed, then level and time), without the chain, a quarter of its cost. Each request
    logs one."""

    def __init__(self, writer: LineWriter, redact: Callable[[str], str]) -> None:
        self.write = writer.msg
        self.redact = redact

    def __call__(self, method: str, path: str, status: int, ms: float, request_id: str) -> None:
        redact = self.redact
        line = {
            "method": redact(method),
            "path": redact(path),
            "status": status,
            "duration_ms": ms,
            "event": "http.request",
            "request_id": redact(request_id),
            "level": "info",
        }
        self.write(_encoder.encode(_stamp(None, "info", line)))


class _StructlogAccess:
    """The access log's line through structlog's chain (console output, or below info)."""

    def __init__(self) -> None:
        self.log = structlog.get_logger("fluxrouter.access")  # bound at its first line

    def __call__(self, method: str, path: str, status: int, ms: float, request_id: str) -> None:
        self.log.info("http.request", method=method, path=path, status=status, duration_ms=ms)


_access: Callable[[str, str, int, float, str], None] = _StructlogAccess()


def log_request(method: str, path: str, status: int, duration_ms: float, request_id: str) -> None:
    """The access log's line for one request (`http.request`, logger `fluxrouter.access`).
    `request_id` is the one bound in the context, which structlog's chain would add."""
    _access(method, path, status, duration_ms, request_id)


def configure_logging(*, level: str, fmt: str, redact: Callable[[str], str]) -> None:
    global _access  # one access line writer a configuration
    numeric = logging.getLevelName(level.upper())
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.format_exc_info,
        _scrubber(redact),  # before the level and the time, which hold no secret
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    text_renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_dumps_text)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer()
    )
    if fmt == "json":  # bytes, written a loop's turn at a time
        renderer: Any = structlog.processors.JSONRenderer(serializer=_dumps)
        factory: Any = line_writer(sys.stderr.buffer)
    else:
        renderer, factory = text_renderer, structlog.PrintLoggerFactory(sys.stderr)
    informed = isinstance(numeric, int) and numeric <= logging.INFO
    _access = _AccessLine(factory, redact) if fmt == "json" and informed else _StructlogAccess()
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    # Libraries that log through the standard library go through the same scrubbing.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                text_renderer,
            ],
            foreign_pre_chain=[structlog.stdlib.add_log_level, *processors],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.WARNING) if isinstance(numeric, int) else logging.WARNING)
