"""The access log's line, rendered without structlog's chain, is the line the chain renders."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator

import msgspec
import pytest
import structlog

from infrastructure.observability import logging as logs
from infrastructure.security.redaction import Redactor
from tests.unit.infrastructure.test_log_lines import Stream, after_the_turn

ADMIN_KEY = "adminkey-0123456789abcdef"


class KeptStream(Stream):
    """Stays open when the text wrapper around it is collected."""

    def close(self) -> None:
        pass


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stream]:
    """A standard error whose bytes are kept, put in place by `configure`; the logging
    configuration restored after."""
    stream = KeptStream()
    config, access = structlog.get_config(), logs._access
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield stream
    structlog.configure(**config)
    logs._access = access
    root.handlers[:] = handlers
    root.setLevel(level)


def configure(monkeypatch: pytest.MonkeyPatch, stream: Stream, level: str, fmt: str) -> None:
    """Logging configured to write on `stream`: done in the test's body, since pytest puts its
    own standard error in place for the body after the fixtures ran."""
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(stream, write_through=True))
    logs.configure_logging(level=level, fmt=fmt, redact=Redactor([ADMIN_KEY]))


def lines(stream: Stream) -> list[dict[str, object]]:
    return [msgspec.json.decode(line) for line in stream.getvalue().splitlines()]


async def test_the_line_is_the_chains_line_scrubbed(
    stderr: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, stderr, "info", "json")
    path = f"/v1/x/{ADMIN_KEY}/sk-abcdefghijklmnop"
    request_id = "req-fr-0123456789abcdef"  # shaped like a virtual key: scrubbed too
    structlog.contextvars.bind_contextvars(request_id=request_id)
    try:
        structlog.get_logger("fluxrouter.access").info(
            "http.request", method="POST", path=path, status=200, duration_ms=1.25
        )
        logs.log_request("POST", path, 200, 1.25, request_id)
    finally:
        structlog.contextvars.unbind_contextvars("request_id")
    await after_the_turn()
    chain, fast = lines(stderr)
    assert fast.pop("timestamp") >= chain.pop("timestamp")  # type: ignore[operator]
    assert fast == chain
    assert list(fast) == list(chain)  # the same order of members too
    assert fast["path"] == "/v1/x/[redacted]/[redacted]"
    assert fast["request_id"] == "req-[redacted]"
    assert ADMIN_KEY.encode() not in stderr.getvalue()


@pytest.mark.parametrize(("level", "fmt"), [("warning", "json"), ("info", "console")])
async def test_other_configurations_log_it_through_structlog(
    stderr: Stream, monkeypatch: pytest.MonkeyPatch, level: str, fmt: str
) -> None:
    configure(monkeypatch, stderr, level, fmt)
    logs.log_request("GET", "/healthz", 200, 0.5, "r-1")
    await after_the_turn()
    sys.stderr.flush()
    written = stderr.getvalue()
    if level == "warning":
        assert written == b""
    else:
        assert b"http.request" in written
        assert b"/healthz" in written
        assert not written.startswith(b"{")
