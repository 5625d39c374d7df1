"""A fake OpenAI upstream that speaks OpenAI's exact wire format.

Used by the gateway's tests (in-process, via :class:`FakeOpenAI`) and benchmarks (standalone,
via ``python -m tests.fakes.openai_upstream --host 127.0.0.1 --port 9100``).

The package: :mod:`.models` (the model names and what each does), :mod:`.errors` (OpenAI's
error shape and the checks every request passes), :mod:`.requests` (a request read as OpenAI
validates it), :mod:`.chat` (answers, whole and streamed), :mod:`.routes` (the application).

Behaviour is fully deterministic apart from ids and timestamps:

Routes are served under any path prefix (``/v1/chat/completions``, ``/openai/v1/chat/completions``,
``/chat/completions``...), so a provider's documented ``base_url`` path can be kept; the request
log holds the path as received.

* ``POST …/chat/completions`` replies ``"Echo: " + <text of the last user or tool message>``
  (plain or SSE stream), or one tool call when ``tools`` are given, ``tool_choice`` is not
  ``"none"`` and the last message is not a ``tool`` result (legacy ``functions``: one
  ``function_call``, finish reason ``function_call``); under ``response_format`` the text is a
  JSON value of its ``json_schema`` (:mod:`tests.fakes.schema_sample`) or, for ``json_object``
  (whose conversation must say "json"), ``{"query": <text>}``; ``n`` choices answer alike
  (streamed interleaved, one choice a chunk); usage counts whitespace-separated words, every
  choice's.
* ``POST …/responses`` (OpenAI's Responses API, :mod:`.responses`) answers as the chat does, in
  the Responses shape, whole or as its semantic events: a ``function_call`` item when function
  tools are given, JSON that the schema accepts for a ``json_schema`` text format; responses
  are kept (unless ``store`` is false) for ``previous_response_id``; ``max_output_tokens`` below
  16 is refused as OpenAI does.
* ``fake-cached`` reports :data:`CACHED_INPUT_TOKENS` cached input tokens, ``fake-reasoning``
  :data:`REASONING_TOKENS` reasoning tokens (counted in the output tokens, with a reasoning item
  first in a Responses answer), ``fake-cached-reasoning`` both, on chat and Responses alike.
* ``POST …/completions`` (legacy text completions, :mod:`.completions`) answers the completion
  models ``"Echo: " + <prompt>``, at most ``max_tokens`` words (16 by default), plain or SSE;
  a chat model there is OpenAI's 404.
* ``POST …/embeddings`` returns hash-derived float32 vectors (float list or base64).
* ``GET …/models`` and ``GET …/models/{id}`` list a few model ids.
* Special model names trigger failures: ``fake-error-500``, ``fake-error-503`` (overloaded),
  ``fake-error-429``, ``fake-error-400``, ``fake-error-404`` (no such model),
  ``fake-error-401-leaky``, ``fake-slow``, ``fake-stall-stream`` and ``fake-stream-error`` (a
  ``server_error`` event after the first chunk, as OpenAI ends a stream that fails).
* The special names behave alike on ``/responses`` (``fake-stream-error``: an ``error`` event).
* ``fake-stall-first`` streams: 200 at once, then nothing for ``slow_seconds`` before the first
  chunk; ``fake-cut-stream`` sends one chunk, then closes the connection without ending;
  ``fake-stall-midway`` sends three chunks (the role, two words), then nothing for
  ``slow_seconds``.
* ``faults`` (:class:`tests.fakes.faults.Faults`): failures switched on and off while the fake
  runs (a model failing with a status, ``fake-fail-half``, a limit of requests a minute per key).
* ``fake-slow-stream`` answers ``tok1 tok2 …`` (``max_tokens`` words, else 50), one word every
  :data:`SLOW_STREAM_DELAY` seconds: a long generation to cancel. ``fake-flood-stream`` streams
  ``max_tokens`` such words as fast as the client takes them: a client that reads slowly.
* ``fake-runaway`` ignores ``max_tokens`` and ``max_completion_tokens`` alike and answers
  :data:`RUNAWAY_PIECES` pieces of :data:`RUNAWAY_PIECE_WORDS` words (`` run``) each, streamed
  as fast as the client takes them: an upstream that produces far more than it was allowed.
* ``fake-every-token`` answers as usual and reports every kind of token OpenAI counts: a prompt
  prefix of :data:`EVERY_TOKEN_CACHED` tokens read from the prompt cache
  (``prompt_tokens_details.cached_tokens``, included in ``prompt_tokens``) and
  :data:`EVERY_TOKEN_REASONING` reasoning tokens (``completion_tokens_details.reasoning_tokens``,
  included in ``completion_tokens``), whole and streamed.
* A stream the client cuts is recorded (:class:`StreamAbort`, :attr:`FakeOpenAI.aborts`) with
  the moment the fake saw the connection close.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.faults import Faults
from tests.fakes.openai_upstream.models import (
    CACHED_INPUT_TOKENS,
    EVERY_TOKEN_CACHED,
    EVERY_TOKEN_REASONING,
    MODEL_IDS,
    REASONING_TOKENS,
    RUNAWAY_PIECE_WORDS,
    RUNAWAY_PIECES,
    SLOW_STREAM_DELAY,
    StreamAbort,
)
from tests.fakes.openai_upstream.routes import create_app
from tests.fakes.server import (
    DEFAULT_SLOW_SECONDS,
    FakeServer,
    RecordedRequest,
    RequestLog,
    chat_pieces,
    count_words,
    run_main,
)

__all__ = [
    "CACHED_INPUT_TOKENS",
    "EVERY_TOKEN_CACHED",
    "EVERY_TOKEN_REASONING",
    "MODEL_IDS",
    "REASONING_TOKENS",
    "RUNAWAY_PIECES",
    "RUNAWAY_PIECE_WORDS",
    "SLOW_STREAM_DELAY",
    "FakeOpenAI",
    "RecordedRequest",
    "RequestLog",
    "StreamAbort",
    "chat_pieces",
    "count_words",
    "create_app",
    "main",
]


class FakeOpenAI(FakeServer[RecordedRequest]):
    """:func:`create_app` served by :class:`FakeServer` (``with FakeOpenAI() as fake:`` or
    ``async with``); :attr:`base_url` ends in ``/v1``."""

    app_factory = staticmethod(create_app)
    thread_name = "fake-openai"
    base_path = "/v1"

    def __init__(
        self,
        expected_key: str | None = None,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        slow_seconds: float = DEFAULT_SLOW_SECONDS,
        allow_anonymous: bool = False,
        faults: Faults | None = None,
    ) -> None:
        super().__init__(expected_key, port, host=host, slow_seconds=slow_seconds)
        self.allow_anonymous = allow_anonymous
        self.faults = faults
        self._aborts: RequestLog[StreamAbort] = RequestLog()

    @property
    def aborts(self) -> list[StreamAbort]:
        """The streams cut by their client so far, oldest first."""
        return self._aborts.snapshot()

    def _app_options(self) -> dict[str, Any]:
        return {
            "allow_anonymous": self.allow_anonymous,
            "abort_log": self._aborts,
            "faults": self.faults,
        }


def main(argv: list[str] | None = None) -> None:
    run_main(
        argv,
        prog="python -m tests.fakes.openai_upstream",
        description="Fake OpenAI upstream server.",
        default_port=9100,
        key_help="only accept this bearer key",
        create_app=create_app,
        banner="fake OpenAI upstream listening on http://{host}:{port}/v1",
        switches={"--allow-anonymous": "serve requests without a bearer key"},
    )
