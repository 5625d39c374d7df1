"""The fake OpenAI application: embeddings, models, and every route whatever its path prefix."""

from __future__ import annotations

import base64
import sys
from typing import Any

from aiohttp import web

from tests.fakes.faults import Faults
from tests.fakes.openai_upstream.chat import chat_completions
from tests.fakes.openai_upstream.completions import completions
from tests.fakes.openai_upstream.errors import (
    bad_request,
    json_response,
    openai_error,
    prelude,
    special_model,
)
from tests.fakes.openai_upstream.models import (
    ABORT_LOG,
    ALLOW_ANONYMOUS,
    DEFAULT_EMBEDDING_DIMENSIONS,
    FAULTS,
    MAX_EMBEDDING_DIMENSIONS,
    MODEL_CREATED,
    MODEL_IDS,
    MODEL_PATH_RE,
    StreamAbort,
)
from tests.fakes.openai_upstream.requests import embedding_inputs, positive_int
from tests.fakes.openai_upstream.responses import STORED, responses
from tests.fakes.server import (
    DEFAULT_SLOW_SECONDS,
    RequestLog,
    embedding_vector,
    guarded,
    new_app,
)


async def _embeddings(request: web.Request) -> web.StreamResponse:
    body, key = await prelude(request)
    if not isinstance(body, dict):
        raise bad_request("Invalid request body: expected a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("You must provide a model parameter.", "model")
    if "input" not in body:
        raise bad_request(
            "Missing required parameter: 'input'.", "input", "missing_required_parameter"
        )
    inputs, prompt_tokens = embedding_inputs(body["input"])
    dims = positive_int(body, "dimensions") or DEFAULT_EMBEDDING_DIMENSIONS
    if dims > MAX_EMBEDDING_DIMENSIONS:
        raise bad_request(
            f"Invalid 'dimensions': must be at most {MAX_EMBEDDING_DIMENSIONS}.", "dimensions"
        )
    encoding_format = body.get("encoding_format") or "float"
    if encoding_format not in ("float", "base64"):
        raise bad_request(
            "Invalid 'encoding_format': expected 'float' or 'base64'.", "encoding_format"
        )
    await special_model(request, model, key)

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
    return json_response(
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
    await prelude(request)
    faults = request.app.get(FAULTS)
    outage = faults.outage() if faults is not None else None
    if outage is not None:
        return openai_error(
            outage.status, f"Fault injected: {outage.status}.", type_="server_error"
        )
    return json_response({"object": "list", "data": [_model_object(m) for m in MODEL_IDS]})


async def _retrieve_model(request: web.Request, model_id: str) -> web.StreamResponse:
    await prelude(request)
    if model_id not in MODEL_IDS:
        return openai_error(
            404,
            f"The model '{model_id}' does not exist or you do not have access to it.",
            code="model_not_found",
        )
    return json_response(_model_object(model_id))


async def _not_found(request: web.Request) -> web.StreamResponse:
    await prelude(request)
    return openai_error(404, f"Invalid URL ({request.method} {request.path})", code="unknown_url")


async def _route(request: web.Request) -> web.StreamResponse:
    """Dispatch on the path's suffix, whatever prefix the client's base URL put before it."""
    path, method = request.path, request.method
    if method == "POST" and path.endswith("/chat/completions"):
        return await chat_completions(request)
    if method == "POST" and path.endswith("/responses"):
        return await responses(request)
    if method == "POST" and path.endswith("/completions"):
        return await completions(request)
    if method == "POST" and path.endswith("/embeddings"):
        return await _embeddings(request)
    if method == "GET" and path.endswith("/models"):
        return await _list_models(request)
    if method == "GET" and (match := MODEL_PATH_RE.fullmatch(path)):
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
    faults: Faults | None = None,
) -> web.Application:
    """Build the fake OpenAI application.

    ``expected_key``: if set, any other bearer key gets 401 ``invalid_api_key``.
    ``record``: keep a :class:`RequestLog` in ``app[REQUEST_LOG]`` (``request_log`` if given).
    ``slow_seconds``: delay used by ``fake-slow`` and ``fake-stall-stream``.
    ``allow_anonymous``: serve requests without a bearer key instead of answering 401.
    ``abort_log``: where cut streams are recorded (a new log in ``app[ABORT_LOG]`` if None).
    ``faults``: failures the test switches on and off while it runs (:mod:`tests.fakes.faults`).
    """
    app = new_app(expected_key, record=record, slow_seconds=slow_seconds, request_log=request_log)
    app[ALLOW_ANONYMOUS] = allow_anonymous
    app[ABORT_LOG] = abort_log if abort_log is not None else RequestLog()
    app[STORED] = {}
    if faults is not None:
        app[FAULTS] = faults
    app.router.add_route("*", "/{tail:.*}", guarded(_route))
    return app
