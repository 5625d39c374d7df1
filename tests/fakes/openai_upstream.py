"""A fake OpenAI upstream that speaks OpenAI's exact wire format.

Used by the gateway's tests (in-process, via :class:`FakeOpenAI`) and benchmarks (standalone,
via ``python -m tests.fakes.openai_upstream --host 127.0.0.1 --port 9100``).

Behaviour is fully deterministic apart from ids and timestamps:

Routes are served under any path prefix (``/v1/chat/completions``, ``/openai/v1/chat/completions``,
``/chat/completions``...), so a provider's documented ``base_url`` path can be kept; the request
log holds the path as received.

* ``POST …/chat/completions`` replies ``"Echo: " + <text of the last user or tool message>``
  (plain or SSE stream), or one tool call when ``tools`` are given, ``tool_choice`` is not
  ``"none"`` and the last message is not a ``tool`` result; usage counts whitespace-separated
  words.
* ``POST …/embeddings`` returns hash-derived float32 vectors (float list or base64).
* ``GET …/models`` and ``GET …/models/{id}`` list a few model ids.
* Special model names trigger failures: ``fake-error-500``, ``fake-error-503`` (overloaded),
  ``fake-error-429``, ``fake-error-400``, ``fake-error-404`` (no such model),
  ``fake-error-401-leaky``, ``fake-slow``, ``fake-stall-stream`` and ``fake-stream-error`` (a
  ``server_error`` event after the first chunk, as OpenAI ends a stream that fails).
* ``fake-slow-stream`` answers ``tok1 tok2 …`` (``max_tokens`` words, else 50), one word every
  :data:`SLOW_STREAM_DELAY` seconds: a long generation to cancel. ``fake-flood-stream`` streams
  ``max_tokens`` such words as fast as the client takes them: a client that reads slowly.
* ``fake-runaway`` ignores ``max_tokens`` and ``max_completion_tokens`` alike and answers
  :data:`RUNAWAY_PIECES` pieces of :data:`RUNAWAY_PIECE_WORDS` words (`` run``) each, streamed
  as fast as the client takes them: an upstream that produces far more than it was allowed.
* A stream the client cuts is recorded (:class:`StreamAbort`, :attr:`FakeOpenAI.aborts`) with
  the moment the fake saw the connection close.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import msgspec
from aiohttp import web

from tests.fakes.server import (
    DEFAULT_SLOW_SECONDS,
    EXPECTED_KEY,
    REQUEST_LOG,  # noqa: F401  (re-exported: create_app keeps its log there)
    SLOW_SECONDS,
    FakeServer,
    HTTPFailure,
    RecordedRequest,
    RequestLog,
    chat_pieces,
    count_words,
    embedding_vector,
    guarded,
    log_request,
    new_app,
    read_json,
    run_main,
)

__all__ = [
    "MODEL_IDS",
    "FakeOpenAI",
    "RecordedRequest",
    "RequestLog",
    "StreamAbort",
    "chat_pieces",
    "count_words",
    "create_app",
    "main",
]

# ---------------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------------

MODEL_IDS: Final[tuple[str, ...]] = (
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1-nano",
    "text-embedding-3-small",
    "text-embedding-3-large",
)
MODEL_CREATED: Final = 1_700_000_000
DEFAULT_EMBEDDING_DIMENSIONS: Final = 8
MAX_EMBEDDING_DIMENSIONS: Final = 65_536
SYSTEM_FINGERPRINT: Final = "fp_fake"

MODEL_ERROR_500: Final = "fake-error-500"
MODEL_ERROR_429: Final = "fake-error-429"
MODEL_ERROR_400: Final = "fake-error-400"
MODEL_ERROR_404: Final = "fake-error-404"
MODEL_ERROR_503: Final = "fake-error-503"
MODEL_STREAM_ERROR: Final = "fake-stream-error"
MODEL_ERROR_401_LEAKY: Final = "fake-error-401-leaky"
MODEL_SLOW: Final = "fake-slow"
MODEL_STALL_STREAM: Final = "fake-stall-stream"
MODEL_SLOW_STREAM: Final = "fake-slow-stream"
MODEL_FLOOD_STREAM: Final = "fake-flood-stream"
SLOW_STREAM_DELAY: Final = 0.02
SLOW_STREAM_WORDS: Final = 50
MODEL_RUNAWAY: Final = "fake-runaway"
RUNAWAY_PIECES: Final = 200
RUNAWAY_PIECE_WORDS: Final = 100

RETRY_AFTER_SECONDS: Final = 7
RATE_LIMIT_HEADERS: Final[dict[str, str]] = {
    "Retry-After": str(RETRY_AFTER_SECONDS),
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-remaining-requests": "0",
    "x-ratelimit-reset-requests": f"{RETRY_AFTER_SECONDS}s",
    "x-ratelimit-limit-tokens": "30000",
    "x-ratelimit-remaining-tokens": "0",
    "x-ratelimit-reset-tokens": f"{RETRY_AFTER_SECONDS}s",
}

_JSON_CT: Final = "application/json"
_SSE_CT: Final = "text/event-stream; charset=utf-8"
_MODEL_PATH_RE: Final = re.compile(r".*/models/([^/]+)")

_encoder: Final = msgspec.json.Encoder()
_encode: Final = _encoder.encode

ALLOW_ANONYMOUS: Final = web.AppKey("fake_openai_allow_anonymous", bool)


@dataclass(frozen=True, slots=True)
class StreamAbort:
    """A streamed answer whose client went away before its end."""

    at: float  # time.monotonic() when the fake saw the connection close
    model: str
    prompt: str  # the text of the last user message
    chunks_sent: int


ABORT_LOG: Final = web.AppKey("fake_openai_abort_log", RequestLog[StreamAbort])


# ---------------------------------------------------------------------------------------------
# Helpers (pure)
# ---------------------------------------------------------------------------------------------


def _error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return web.Response(
        status=status, body=_encode(body), content_type=_JSON_CT, headers=_with_request_id(headers)
    )


STREAM_ERROR_EVENT: Final = (
    b'data: {"error": {"message": "The server had an error while processing your request.", '
    b'"type": "server_error", "param": null, "code": null}}\n\n'
)


def _json(payload: object, status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=_encode(payload), content_type=_JSON_CT, headers=_with_request_id()
    )


def _with_request_id(headers: dict[str, str] | None = None) -> dict[str, str]:
    out = {"x-request-id": "req_" + os.urandom(12).hex()}
    if headers:
        out.update(headers)
    return out


def _bad_request(message: str, param: str | None = None, code: str | None = None) -> HTTPFailure:
    return HTTPFailure(_error(400, message, param=param, code=code))


def _content_text(content: object) -> str:
    """Text of a message ``content`` (string, list of parts, or None)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        words: list[str] = []
        for part in content:
            if not isinstance(part, dict):
                raise _bad_request("Invalid content part: expected an object.", "messages")
            kind = part.get("type")
            if kind == "text":
                text = part.get("text")
                if not isinstance(text, str):
                    raise _bad_request("Invalid text part: 'text' must be a string.", "messages")
                words.append(text)
            elif kind == "image_url":
                words.append("[image]")
        return " ".join(words)
    raise _bad_request("Invalid 'content': expected a string or an array of parts.", "messages")


def _positive_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if type(value) is not int or value < 1:
        raise _bad_request(
            f"Invalid '{name}': expected an integer greater than or equal to 1.",
            name,
            "invalid_value",
        )
    return value


def _tool_name(body: dict[str, Any]) -> str | None:
    """Name of the function to call, or None when the reply is plain text."""
    tools = body.get("tools")
    if not tools:
        return None
    if not isinstance(tools, list):
        raise _bad_request("Invalid 'tools': expected an array.", "tools")
    choice = body.get("tool_choice")
    if choice == "none":
        return None
    if isinstance(choice, dict):
        fn = choice.get("function")
        name = fn.get("name") if isinstance(fn, dict) else None
        if not isinstance(name, str) or not name:
            raise _bad_request("Invalid 'tool_choice': missing function name.", "tool_choice")
        return name
    first = tools[0]
    fn = first.get("function") if isinstance(first, dict) else None
    name = fn.get("name") if isinstance(fn, dict) else None
    if not isinstance(name, str) or not name:
        raise _bad_request("Invalid 'tools[0]': missing function name.", "tools")
    return name


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


@dataclass(slots=True)
class _ChatPlan:
    """Everything needed to render a chat completion, streamed or not."""

    model: str
    stream: bool
    include_usage: bool
    pieces: list[str]  # reply text pieces (text mode) or argument pieces (tool mode)
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    tool_name: str | None
    tool_call_id: str | None
    prompt: str = ""
    flood: int = 0  # words streamed after the pieces, made as they are sent

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def _plan_chat(body: object) -> _ChatPlan:
    if not isinstance(body, dict):
        raise _bad_request("Invalid request body: expected a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad_request("You must provide a model parameter.", "model")
    messages = body.get("messages")
    if messages is None:
        raise _bad_request(
            "Missing required parameter: 'messages'.", "messages", "missing_required_parameter"
        )
    if not isinstance(messages, list) or not messages:
        raise _bad_request(
            "Invalid 'messages': expected a non-empty array.", "messages", "invalid_value"
        )

    prompt_words = 0
    last_user = ""
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise _bad_request("Invalid message: expected an object with a 'role'.", "messages")
        text = _content_text(message.get("content"))
        prompt_words += count_words(text)
        if message["role"] in ("user", "tool"):
            last_user = text

    stream = body.get("stream") is True
    stream_options = body.get("stream_options")
    if stream_options is not None and not stream:
        raise _bad_request(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
        )
    include_usage = isinstance(stream_options, dict) and stream_options.get("include_usage") is True

    limits = (_positive_int(body, "max_tokens"), _positive_int(body, "max_completion_tokens"))
    max_words = min((v for v in limits if v is not None), default=None)

    flood = 0
    tool_name = _tool_name(body)
    if messages[-1]["role"] == "tool":
        tool_name = None  # after a tool result the model answers with text
    if tool_name is not None:
        arguments = '{"query": ' + _encode(last_user).decode() + "}"
        pieces = chat_pieces(arguments)
        call_id = "call_" + hashlib.sha256(f"{tool_name}\0{arguments}".encode()).hexdigest()[:24]
        finish_reason = "tool_calls"
    elif model == MODEL_FLOOD_STREAM:
        pieces, call_id, finish_reason = [], None, "stop"
        flood = min(max_words or 1000, 100_000_000)
    elif model == MODEL_RUNAWAY:  # the limits asked for are ignored
        pieces = ["run" + " run" * (RUNAWAY_PIECE_WORDS - 1)]
        pieces += [" run" * RUNAWAY_PIECE_WORDS] * (RUNAWAY_PIECES - 1)
        call_id = None
        finish_reason = "stop"
    elif model == MODEL_SLOW_STREAM:
        words = min(max_words or SLOW_STREAM_WORDS, 100_000)
        pieces = chat_pieces(" ".join(f"tok{i}" for i in range(1, words + 1)))
        call_id = None
        finish_reason = "stop"
    else:
        pieces = chat_pieces("Echo: " + last_user)
        call_id = None
        finish_reason = "stop"
        if max_words is not None and max_words < len(pieces):
            pieces = pieces[:max_words]
            pieces[-1] = pieces[-1].rstrip()
            finish_reason = "length"

    return _ChatPlan(
        model=model,
        stream=stream,
        include_usage=include_usage,
        pieces=pieces,
        finish_reason=finish_reason,
        prompt_tokens=max(prompt_words, 1),
        completion_tokens=count_words("".join(pieces)) + flood,
        tool_name=tool_name,
        tool_call_id=call_id,
        prompt=last_user,
        flood=flood,
    )


def _embedding_inputs(raw: object) -> tuple[list[bytes], int]:
    """Canonical bytes per input and the prompt token count."""
    if isinstance(raw, str):
        return [raw.encode()], count_words(raw)
    if not isinstance(raw, list) or not raw:
        raise _bad_request(
            "Invalid 'input': expected a string, an array of strings or an array of token arrays.",
            "input",
        )
    if all(isinstance(x, str) for x in raw):
        return [x.encode() for x in raw], sum(count_words(x) for x in raw)
    if all(type(x) is int for x in raw):
        return [_encode(raw)], len(raw)
    if all(isinstance(x, list) and x and all(type(t) is int for t in x) for x in raw):
        return [_encode(x) for x in raw], sum(len(x) for x in raw)
    raise _bad_request(
        "Invalid 'input': expected a string, an array of strings or an array of token arrays.",
        "input",
    )


# ---------------------------------------------------------------------------------------------
# Request handling
# ---------------------------------------------------------------------------------------------


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


async def _prelude(request: web.Request) -> tuple[Any, str]:
    """Record the request, check auth and parse the body. Returns (body, bearer key; "" for an
    anonymous request the app allows)."""
    body, ok = await read_json(request)
    log_request(request, body)
    key = _bearer(request)
    if key is None and request.app.get(ALLOW_ANONYMOUS, False):
        key = ""
    elif key is None:
        raise HTTPFailure(
            _error(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        )
    expected = request.app.get(EXPECTED_KEY)
    if expected is not None and key != expected:
        raise HTTPFailure(
            _error(401, "Incorrect API key provided.", code="invalid_api_key"),
        )
    if request.method == "POST" and not ok:
        raise _bad_request(
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
            "but what was sent was not valid JSON.)"
        )
    return body, key


async def _special_model(request: web.Request, model: object, key: str) -> None:
    """Raise the configured failure for special model names; sleep for ``fake-slow``."""
    if model == MODEL_ERROR_500:
        raise HTTPFailure(
            _error(
                500,
                "The server had an error while processing your request.",
                type_="server_error",
            )
        )
    if model == MODEL_ERROR_503:
        raise HTTPFailure(
            _error(
                503,
                "The engine is currently overloaded, please try again later.",
                type_="server_error",
            )
        )
    if model == MODEL_ERROR_404:
        raise HTTPFailure(
            _error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        )
    if model == MODEL_ERROR_429:
        raise HTTPFailure(
            _error(
                429,
                f"Rate limit reached for {model} in organization org-fake on requests per min "
                f"(RPM): Limit 500, Used 500, Requested 1. "
                f"Please try again in {RETRY_AFTER_SECONDS}s.",
                type_="requests",
                code="rate_limit_exceeded",
                headers=RATE_LIMIT_HEADERS,
            )
        )
    if model == MODEL_ERROR_400:
        raise _bad_request(
            "Invalid 'messages': the fake-error-400 model rejects every request.", "messages"
        )
    if model == MODEL_ERROR_401_LEAKY:
        raise HTTPFailure(
            _error(
                401,
                f"Incorrect API key provided: {key}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        )
    if model == MODEL_SLOW:
        await asyncio.sleep(request.app[SLOW_SECONDS])


async def _chat_completions(request: web.Request) -> web.StreamResponse:
    body, key = await _prelude(request)
    model = body.get("model") if isinstance(body, dict) else None
    plan = _plan_chat(body)
    await _special_model(request, model, key)
    completion_id = "chatcmpl-" + os.urandom(15).hex()
    created = int(time.time())
    if plan.stream:
        return await _stream_chat(request, plan, completion_id, created)

    if plan.tool_name is not None:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "tool_calls": [
                {
                    "id": plan.tool_call_id,
                    "type": "function",
                    "function": {"name": plan.tool_name, "arguments": plan.text},
                }
            ],
        }
    else:
        message = {"role": "assistant", "content": plan.text, "refusal": None}
    return _json(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": plan.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": plan.finish_reason,
                }
            ],
            "usage": _usage(plan.prompt_tokens, plan.completion_tokens),
        }
    )


def _chunk_deltas(plan: _ChatPlan) -> Iterator[tuple[dict[str, Any], str | None]]:
    """(delta, finish_reason) for every choice-carrying chunk, in order."""
    if plan.tool_name is not None:
        yield (
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": plan.tool_call_id,
                        "type": "function",
                        "function": {"name": plan.tool_name, "arguments": ""},
                    }
                ],
            },
            None,
        )
        for piece in plan.pieces:
            yield {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}, None
    else:
        yield {"role": "assistant", "content": ""}, None
        for piece in plan.pieces:
            yield {"content": piece}, None
        for i in range(1, plan.flood + 1):
            yield {"content": f" tok{i}" if i > 1 else "tok1"}, None
    yield {}, plan.finish_reason


async def _stream_chat(
    request: web.Request, plan: _ChatPlan, completion_id: str, created: int
) -> web.StreamResponse:
    response = web.StreamResponse(
        status=200,
        headers=_with_request_id({"Content-Type": _SSE_CT, "Cache-Control": "no-cache"}),
    )
    await response.prepare(request)
    stall = plan.model == MODEL_STALL_STREAM
    pace = SLOW_STREAM_DELAY if plan.model == MODEL_SLOW_STREAM else 0.0
    sent = 0

    def frame(choices: list[dict[str, Any]], usage: dict[str, Any] | None) -> bytes:
        chunk: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": plan.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": choices,
        }
        if plan.include_usage:
            chunk["usage"] = usage
        return b"data: " + _encode(chunk) + b"\n\n"

    def aborted() -> None:
        log = request.app.get(ABORT_LOG)
        if log is not None:
            log.append(StreamAbort(time.monotonic(), plan.model, plan.prompt, sent))

    try:
        for i, (delta, finish_reason) in enumerate(_chunk_deltas(plan)):
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            await response.write(frame([choice], None))
            sent += 1
            if plan.model == MODEL_STREAM_ERROR:
                await response.write(STREAM_ERROR_EVENT)
                await response.write_eof()
                return response
            if stall and i == 0:
                await asyncio.sleep(request.app[SLOW_SECONDS])
            elif pace and finish_reason is None:
                await asyncio.sleep(pace)
        if plan.include_usage:
            await response.write(frame([], _usage(plan.prompt_tokens, plan.completion_tokens)))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
    except ConnectionError:
        aborted()  # client went away mid-stream
    except asyncio.CancelledError:
        aborted()  # the connection closed while the fake waited: aiohttp cancels the handler
        raise
    return response


async def _embeddings(request: web.Request) -> web.StreamResponse:
    body, key = await _prelude(request)
    if not isinstance(body, dict):
        raise _bad_request("Invalid request body: expected a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad_request("You must provide a model parameter.", "model")
    if "input" not in body:
        raise _bad_request(
            "Missing required parameter: 'input'.", "input", "missing_required_parameter"
        )
    inputs, prompt_tokens = _embedding_inputs(body["input"])
    dims = _positive_int(body, "dimensions") or DEFAULT_EMBEDDING_DIMENSIONS
    if dims > MAX_EMBEDDING_DIMENSIONS:
        raise _bad_request(
            f"Invalid 'dimensions': must be at most {MAX_EMBEDDING_DIMENSIONS}.", "dimensions"
        )
    encoding_format = body.get("encoding_format") or "float"
    if encoding_format not in ("float", "base64"):
        raise _bad_request(
            "Invalid 'encoding_format': expected 'float' or 'base64'.", "encoding_format"
        )
    await _special_model(request, model, key)

    data: list[dict[str, Any]] = []
    for index, item in enumerate(inputs):
        vector = embedding_vector(item, dims)
        embedding: Any
        if encoding_format == "base64":
            if sys.byteorder != "little":
                vector.byteswap()
            embedding = base64.b64encode(vector.tobytes()).decode("ascii")
        else:
            embedding = vector.tolist()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    return _json(
        {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
        }
    )


def _model_object(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": MODEL_CREATED, "owned_by": "fake"}


async def _list_models(request: web.Request) -> web.StreamResponse:
    await _prelude(request)
    return _json({"object": "list", "data": [_model_object(m) for m in MODEL_IDS]})


async def _retrieve_model(request: web.Request, model_id: str) -> web.StreamResponse:
    await _prelude(request)
    if model_id not in MODEL_IDS:
        return _error(
            404,
            f"The model '{model_id}' does not exist or you do not have access to it.",
            code="model_not_found",
        )
    return _json(_model_object(model_id))


async def _not_found(request: web.Request) -> web.StreamResponse:
    await _prelude(request)
    return _error(404, f"Invalid URL ({request.method} {request.path})", code="unknown_url")


async def _route(request: web.Request) -> web.StreamResponse:
    """Dispatch on the path's suffix, whatever prefix the client's base URL put before it."""
    path, method = request.path, request.method
    if method == "POST" and path.endswith("/chat/completions"):
        return await _chat_completions(request)
    if method == "POST" and path.endswith("/embeddings"):
        return await _embeddings(request)
    if method == "GET" and path.endswith("/models"):
        return await _list_models(request)
    if method == "GET" and (match := _MODEL_PATH_RE.fullmatch(path)):
        return await _retrieve_model(request, match.group(1))
    return await _not_found(request)


def create_app(
    expected_key: str | None = None,
    *,
    record: bool = True,
    slow_seconds: float = DEFAULT_SLOW_SECONDS,
    request_log: RequestLog[Any] | None = None,
    allow_anonymous: bool = False,
    abort_log: RequestLog[StreamAbort] | None = None,
) -> web.Application:
    """Build the fake OpenAI application.

    ``expected_key``: if set, any other bearer key gets 401 ``invalid_api_key``.
    ``record``: keep a :class:`RequestLog` in ``app[REQUEST_LOG]`` (``request_log`` if given).
    ``slow_seconds``: delay used by ``fake-slow`` and ``fake-stall-stream``.
    ``allow_anonymous``: serve requests without a bearer key instead of answering 401.
    ``abort_log``: where cut streams are recorded (a new log in ``app[ABORT_LOG]`` if None).
    """
    app = new_app(expected_key, record=record, slow_seconds=slow_seconds, request_log=request_log)
    app[ALLOW_ANONYMOUS] = allow_anonymous
    app[ABORT_LOG] = abort_log if abort_log is not None else RequestLog()
    app.router.add_route("*", "/{tail:.*}", guarded(_route))
    return app


# ---------------------------------------------------------------------------------------------
# Background-thread runner and CLI
# ---------------------------------------------------------------------------------------------


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
    ) -> None:
        super().__init__(expected_key, port, host=host, slow_seconds=slow_seconds)
        self.allow_anonymous = allow_anonymous
        self._aborts: RequestLog[StreamAbort] = RequestLog()

    @property
    def aborts(self) -> list[StreamAbort]:
        """The streams cut by their client so far, oldest first."""
        return self._aborts.snapshot()

    def _app_options(self) -> dict[str, Any]:
        return {"allow_anonymous": self.allow_anonymous, "abort_log": self._aborts}


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


if __name__ == "__main__":
    main()
