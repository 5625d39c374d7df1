"""The fake Gemini application: a model's methods, the models' list and pages, and the HTML 404
of every other path."""

from __future__ import annotations

import base64
import re
from typing import Any

from aiohttp import web

from tests.fakes.gemini_upstream.embeddings import batch_embed, embed_one
from tests.fakes.gemini_upstream.errors import (
    HTTPFailure,
    guarded,
    invalid_argument,
    json_response,
    not_found_page,
    prelude,
)
from tests.fakes.gemini_upstream.generation import count_tokens, generate
from tests.fakes.gemini_upstream.models import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    MODELS,
    MODELS_BY_ID,
)
from tests.fakes.gemini_upstream.proto_json import b64decode
from tests.fakes.server import (
    DEFAULT_SLOW_SECONDS,
    RequestLog,
    new_app,
)


async def _model_method(request: web.Request) -> web.StreamResponse:
    body = await prelude(request)
    model = request.match_info["model"]
    method = request.match_info["method"]
    version = request.match_info["version"]
    if method in ("generateContent", "streamGenerateContent"):
        return await generate(request, body, model, method, version)
    if method == "countTokens":
        return await count_tokens(body, model, version)
    if method == "batchEmbedContents":
        return await batch_embed(request, body, model, version)
    if method == "embedContent":
        return await embed_one(request, body, model, version)
    raise HTTPFailure(response=not_found_page(request.path), code=404)


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


async def _list_models(request: web.Request) -> web.StreamResponse:
    await prelude(request)
    raw_size = request.query.get("pageSize", "")
    size = DEFAULT_PAGE_SIZE
    if raw_size:
        if not re.fullmatch(r"\d+", raw_size):
            raise invalid_argument(f"Invalid value at 'page_size' (TYPE_INT32), \"{raw_size}\"")
        size = min(int(raw_size), MAX_PAGE_SIZE) or DEFAULT_PAGE_SIZE
    offset = 0
    token = request.query.get("pageToken", "")
    if token:
        decoded = b64decode(token)
        match = re.fullmatch(rb"offset:(\d+)", decoded or b"")
        if match is None:
            raise invalid_argument("Invalid page token.")
        offset = int(match.group(1))
    page: dict[str, Any] = {"models": list(MODELS[offset : offset + size])}
    if offset + size < len(MODELS):
        page["nextPageToken"] = _page_token(offset + size)
    return json_response(page)


async def _get_model(request: web.Request) -> web.StreamResponse:
    await prelude(request)
    model_id = request.match_info["model"]
    model = MODELS_BY_ID.get(model_id)
    if model is None:
        raise HTTPFailure(
            404,
            f"models/{model_id} is not found for API version {request.match_info['version']}, "
            "or is not supported for GetModel. Call ListModels to see the list of available "
            "models and their supported methods.",
        )
    return json_response(model)


async def _not_found(request: web.Request) -> web.StreamResponse:
    await prelude(request)
    return not_found_page(request.path)


def create_app(
    expected_key: str | None = None,
    *,
    record: bool = True,
    slow_seconds: float = DEFAULT_SLOW_SECONDS,
    request_log: RequestLog[Any] | None = None,
) -> web.Application:
    """Build the fake Gemini application.

    ``expected_key``: if set, any other API key gets 400 ``API_KEY_INVALID``.
    ``record``: keep a :class:`RequestLog` in ``app[REQUEST_LOG]`` (``request_log`` if given).
    ``slow_seconds``: delay used by ``fake-slow`` and ``fake-stall-stream``.
    """
    app = new_app(expected_key, record=record, slow_seconds=slow_seconds, request_log=request_log)
    version = "{version:v1|v1beta}"
    app.router.add_post(
        f"/{version}/models/{{model:[^/:]+}}:{{method:[A-Za-z]+}}", guarded(_model_method)
    )
    app.router.add_get(f"/{version}/models", guarded(_list_models))
    app.router.add_get(f"/{version}/models/{{model:[^/:]+}}", guarded(_get_model))
    app.router.add_route("*", "/{tail:.*}", guarded(_not_found))
    return app
