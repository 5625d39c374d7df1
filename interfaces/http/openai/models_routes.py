"""`GET /v1/models` and `GET /v1/models/{id}`: the models the caller's key may use, in OpenAI's
shape, or in Anthropic's when the caller sends an `anthropic-version` header (the Anthropic
SDK's `client.models.list()` and `models.retrieve()` pointed at the gateway), or in Gemini's
when it sends `x-goog-api-key` (the google-genai SDK's `models.list()` and `models.get()`, which
ask `/v1/models` unless told `/v1beta`: `interfaces.http.gemini.models_routes`).

A model the key may not use is not there: retrieving it is a 404, as for a model the gateway
does not know. Ids may hold a `/` (`provider/name`, the qualified name every model answers to).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import HttpMethod, Request, Response, get, route
from litestar.params import FromPath, Parameter

from domains.providers.model import ModelRoute
from interfaces.http.dependencies import Completions, KeyHolder
from interfaces.http.errors import ApiError
from interfaces.http.gemini.models_routes import (
    PageSize,
    PageToken,
    gemini_model,
    page_of,
    speaks_gemini,
)

_JSON = "application/json"
ANTHROPIC_DEFAULT_LIMIT = 20
ANTHROPIC_MAX_LIMIT = 1000
CREATED_AT = "1970-01-01T00:00:00Z"
"""Anthropic's `created_at` of a model: the gateway knows no release date (OpenAI's `created`
is 0 likewise)."""

Cursor = Annotated[
    str | None,
    Parameter(required=False, description="Anthropic's paging (with `anthropic-version` only)"),
]


def _openai_model(shown: str, model: ModelRoute) -> dict[str, Any]:
    return {"id": shown, "object": "model", "created": 0, "owned_by": model.provider}


def _anthropic_model(shown: str) -> dict[str, Any]:
    return {"type": "model", "id": shown, "display_name": shown, "created_at": CREATED_AT}


def speaks_anthropic(request: Request[Any, Any, Any]) -> bool:
    """Whether the caller speaks Anthropic's API (its SDK always sends `anthropic-version`)."""
    return "anthropic-version" in request.headers


@route(
    "/v1/models",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],  # HEAD: as GET, without the body
    tags=["OpenAI", "Anthropic"],
    summary="The models this key may use (Anthropic's shape with an `anthropic-version` header)",
)
async def list_models(
    request: Request[Any, Any, Any],
    key_holder: KeyHolder,
    completions: Completions,
    limit: Cursor = None,
    after_id: Cursor = None,
    before_id: Cursor = None,
    page_size: PageSize = None,
    page_token: PageToken = None,
) -> Response[bytes]:
    shown = completions.models_for(key_holder)
    if speaks_gemini(request):
        page = page_of(shown, page_size, page_token)
        return Response(msgspec.json.encode(page), media_type=_JSON)
    if not speaks_anthropic(request):
        data = [_openai_model(name, model) for name, model in shown]
        return Response(msgspec.json.encode({"object": "list", "data": data}), media_type=_JSON)
    page = anthropic_page([name for name, _ in shown], limit, after_id, before_id)
    return Response(msgspec.json.encode(page), media_type=_JSON)


def anthropic_page(
    ids: list[str], limit: str | None, after_id: str | None, before_id: str | None
) -> dict[str, Any]:
    """One page of Anthropic's model listing: `limit` models (20 unless said, 1 to 1000) after
    `after_id`, or just before `before_id`; `has_more` says whether more lie in that
    direction."""
    size = ANTHROPIC_DEFAULT_LIMIT
    if limit is not None:
        if not limit.isdigit() or not 1 <= int(limit) <= ANTHROPIC_MAX_LIMIT:
            raise ApiError(
                400,
                f"`limit` must be an integer from 1 to {ANTHROPIC_MAX_LIMIT}.",
                code="invalid_value",
                param="limit",
            )
        size = int(limit)
    if after_id is not None and before_id is not None:
        raise ApiError(
            400, "Give `after_id` or `before_id`, not both.", code="invalid_value", param="after_id"
        )
    if before_id is not None:
        end = _position(ids, before_id, "before_id")
        start = max(end - size, 0)
        has_more = start > 0
    else:
        start = _position(ids, after_id, "after_id") + 1 if after_id is not None else 0
        end = min(start + size, len(ids))
        has_more = end < len(ids)
    window = ids[start:end]
    return {
        "data": [_anthropic_model(shown) for shown in window],
        "has_more": has_more,
        "first_id": window[0] if window else None,
        "last_id": window[-1] if window else None,
    }


def _position(ids: list[str], cursor: str, param: str) -> int:
    try:
        return ids.index(cursor)
    except ValueError:
        raise ApiError(
            400, f"`{param}` names no model of this listing.", code="invalid_value", param=param
        ) from None


@get(
    "/v1/models/{model_id:path}",
    tags=["OpenAI", "Anthropic"],
    summary="One model this key may use (Anthropic's shape with an `anthropic-version` header)",
)
async def retrieve_model(
    request: Request[Any, Any, Any],
    key_holder: KeyHolder,
    completions: Completions,
    model_id: FromPath[str],
) -> Response[bytes]:
    wanted = model_id.removeprefix("/")
    model = completions.shown_model(key_holder, wanted)
    if speaks_anthropic(request):
        return Response(msgspec.json.encode(_anthropic_model(wanted)), media_type=_JSON)
    if speaks_gemini(request):
        return Response(msgspec.json.encode(gemini_model(wanted, model)), media_type=_JSON)
    return Response(msgspec.json.encode(_openai_model(wanted, model)), media_type=_JSON)


ROUTES = [list_models, retrieve_model]
