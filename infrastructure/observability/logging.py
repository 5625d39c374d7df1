"""structlog configured once at start: JSON lines (or console), the request id from contextvars,
and every string scrubbed of secrets before it is written."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, MutableMapping
from typing import Any

import msgspec
import structlog

_encoder = msgspec.json.Encoder(enc_hook=str)  # what JSON cannot hold is written as its str()


def _dumps(event: Any, **_: Any) -> str:
    """structlog's serializer: msgspec, several times faster than the standard library's json."""
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
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _scrubber(redact),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    # Libraries that log through the standard library go through the same scrubbing.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[structlog.stdlib.add_log_level, *processors],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.WARNING) if isinstance(numeric, int) else logging.WARNING)
