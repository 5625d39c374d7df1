"""structlog configured once at start: JSON lines (or console), the request id from contextvars,
and every string scrubbed of secrets before it is written."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, MutableMapping
from typing import Any, BinaryIO

import msgspec
import structlog

from infrastructure.observability.log_lines import LineWriter

_encoder = msgspec.json.Encoder(enc_hook=str)  # what JSON cannot hold is written as its str()


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
        return event

    return scrub


def configure_logging(*, level: str, fmt: str, redact: Callable[[str], str]) -> None:
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
