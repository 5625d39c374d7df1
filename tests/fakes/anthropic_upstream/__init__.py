"""A fake Anthropic upstream that speaks the Messages API's exact wire format.

The package: :mod:`.models` (the model names and request fields it knows), :mod:`.errors`
(Anthropic's error shape and the checks every request passes), :mod:`.blocks` (content blocks
checked), :mod:`.conversation` (a request read into a reply's plan), :mod:`.streaming` (the
reply as server-sent events), :mod:`.routes` (the application).

Used by the gateway's tests (in-process, via :class:`FakeAnthropic`) and benchmarks (standalone,
via ``python -m tests.fakes.anthropic_upstream --host 127.0.0.1 --port 9101``).

Clients append ``/v1/...`` themselves, so :attr:`FakeAnthropic.base_url` has no ``/v1``.
Behaviour is fully deterministic apart from message ids, request ids and timestamps:

* ``POST /v1/messages`` validates the request the way the real API does (400
  ``invalid_request_error`` otherwise; with ``anthropic-version: 2026-10-21`` or later it also
  rejects ``temperature``/``top_p``/``top_k``, like the real API) and replies
  ``"Echo: " + <last user text>`` (plain or SSE stream), or one ``tool_use`` block when ``tools``
  are given and the last user turn carries no ``tool_result``; usage counts whitespace-separated
  words. The tool called is the first one (``auto``, ``any``) or the one named (``tool``); its
  input is a value its ``input_schema`` accepts, built from the last user text
  (:mod:`tests.fakes.schema_sample`). After a ``tool_result`` a forced choice still calls a tool,
  as the real API must: the named one (``tool``) or the last one declared (``any``).
* ``POST /v1/messages/count_tokens`` returns the same input-token count.
* ``GET /v1/models`` and ``GET /v1/models/{id}`` list a few Claude model ids.
* Special model names: ``fake-overloaded`` (529), ``fake-rate-limited`` (429, ``retry-after``),
  ``fake-error-500``, ``fake-error-400`` (``invalid_request_error``), ``fake-error-404``
  (``not_found_error``, as the API answers a model it does not know), ``fake-slow``,
  ``fake-stream-error`` (in-stream ``error`` event), ``fake-cached`` (reports cache-read
  input tokens) and ``fake-every-token`` (a prompt prefix on top of the words: 2048 tokens read
  from the cache, 256 written to it for 5 minutes and 512 for 1 hour, with the
  ``cache_creation`` breakdown; whole, and in a stream's ``message_start``).
"""

from __future__ import annotations

from tests.fakes.anthropic_upstream.models import MODELS
from tests.fakes.anthropic_upstream.routes import create_app
from tests.fakes.server import (
    FakeServer,
    RecordedRequest,
    RequestLog,
    chat_pieces,
    count_words,
    run_main,
)

__all__ = [
    "MODELS",
    "FakeAnthropic",
    "RecordedRequest",
    "RequestLog",
    "chat_pieces",
    "count_words",
    "create_app",
    "main",
]


class FakeAnthropic(FakeServer[RecordedRequest]):
    """:func:`create_app` served by :class:`FakeServer` (``with FakeAnthropic() as fake:`` or
    ``async with``). :attr:`base_url` is ``http://host:port`` without ``/v1`` (the Anthropic SDK
    appends ``/v1/...``)."""

    app_factory = staticmethod(create_app)
    thread_name = "fake-anthropic"


def main(argv: list[str] | None = None) -> None:
    run_main(
        argv,
        prog="python -m tests.fakes.anthropic_upstream",
        description="Fake Anthropic upstream server.",
        default_port=9101,
        key_help="only accept this API key",
        create_app=create_app,
        banner="fake Anthropic upstream listening on http://{host}:{port}",
    )
