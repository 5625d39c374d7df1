"""A fake Google Gemini upstream that speaks the Generative Language API (v1beta) wire format.

The package: :mod:`.models` (the models and constants), :mod:`.errors` (Google's error shapes
and the checks every request passes), :mod:`.schema` and :mod:`.proto_json` (the request read
as Google's proto-JSON front end reads it), :mod:`.contents` (contents and generation config
checked), :mod:`.generation` (answers, whole and streamed), :mod:`.embeddings`, :mod:`.routes`
(the application).

Used by the gateway's tests (in-process, via :class:`FakeGemini`) and benchmarks (standalone,
via ``python -m tests.fakes.gemini_upstream --host 127.0.0.1 --port 9200``). Clients append the
API version themselves: ``{base_url}/v1beta/models/gemini-2.5-flash:generateContent`` (``/v1/``
is served too; the google-genai SDK defaults to it).

Behaviour is fully deterministic apart from ``responseId``:

* Auth: ``x-goog-api-key`` header or ``?key=``. No key → 403 ``PERMISSION_DENIED``; a bearer
  token instead of a key → 401 ``UNAUTHENTICATED``; a key other than ``expected_key`` → 400
  ``INVALID_ARGUMENT`` with an ``API_KEY_INVALID`` ``ErrorInfo`` (what Google really sends).
* ``POST .../models/{model}:generateContent`` and ``:streamGenerateContent`` (``?alt=sse`` →
  ``text/event-stream`` with ``data: <GenerateContentResponse>\\r\\n\\r\\n`` events; otherwise a
  progressively written JSON array). The request is parsed like Google's proto-JSON front end
  (camelCase or snake_case names, unknown names rejected) and validated like the real API
  (roles, oneof parts, function-call/response turn order, generation config ranges, ...).
  The reply is ``"Echo: " + <last user turn text>`` or one ``functionCall`` when
  ``functionDeclarations`` are given, with arguments its parameters schema accepts; with
  ``responseMimeType: application/json`` the text is JSON that ``responseSchema`` accepts (both
  built from the last user text by :mod:`tests.fakes.schema_sample`); usage counts
  whitespace-separated words.
* ``POST .../models/{model}:batchEmbedContents`` / ``:embedContent`` return hash-derived float32
  vectors (8 dimensions unless ``outputDimensionality``); ``:countTokens`` counts words.
* ``GET .../models`` (paged) and ``GET .../models/{model}``.
* Special model names: ``fake-exhausted`` (429), ``fake-safety`` (SAFETY block),
  ``fake-error-500``, ``fake-unavailable`` (503), ``fake-error-400`` (INVALID_ARGUMENT),
  ``fake-error-404`` (NOT_FOUND, as for a model Google does not serve), ``fake-slow``,
  ``fake-stall-stream``, ``fake-cached`` (``cachedContentTokenCount``), ``fake-every-token``
  (a cached content of 4096 tokens on top of the prompt's words, in ``promptTokenCount`` and
  ``cachedContentTokenCount``, and 128 ``thoughtsTokenCount``, in every chunk of a stream) and
  ``fake-runaway`` (ignores ``maxOutputTokens`` and streams :data:`RUNAWAY_PIECES` pieces of
  :data:`RUNAWAY_PIECE_WORDS` words).
* Every request is recorded (:class:`RecordedRequest`) with its parsed JSON and its ``raw``
  bytes.
"""

from __future__ import annotations

from tests.fakes.gemini_upstream.contents import part_text
from tests.fakes.gemini_upstream.models import (
    API_VERSIONS,
    MODEL_IDS,
    RUNAWAY_PIECE_WORDS,
    RUNAWAY_PIECES,
    RecordedRequest,
)
from tests.fakes.gemini_upstream.routes import create_app
from tests.fakes.server import FakeServer, RequestLog, chat_pieces, count_words, run_main

__all__ = [
    "API_VERSIONS",
    "MODEL_IDS",
    "RUNAWAY_PIECES",
    "RUNAWAY_PIECE_WORDS",
    "FakeGemini",
    "RecordedRequest",
    "RequestLog",
    "chat_pieces",
    "count_words",
    "create_app",
    "main",
    "part_text",
]


class FakeGemini(FakeServer[RecordedRequest]):
    """:func:`create_app` served by :class:`FakeServer` (``with FakeGemini() as fake:`` or
    ``async with``). ``base_url`` has no API version: clients append ``/v1beta/...`` (or
    ``/v1/...``)."""

    app_factory = staticmethod(create_app)
    thread_name = "fake-gemini"


def main(argv: list[str] | None = None) -> None:
    run_main(
        argv,
        prog="python -m tests.fakes.gemini_upstream",
        description="Fake Gemini upstream server.",
        default_port=9200,
        key_help="only accept this API key",
        create_app=create_app,
        banner="fake Gemini upstream listening on http://{host}:{port} (/v1beta/models/...)",
    )
