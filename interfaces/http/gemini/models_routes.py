"""`GET /v1beta/models` and `GET /v1beta/models/{model}`: the models the caller's key may use, in
Gemini's shape (the google-genai SDK's `client.models.list()` and `client.models.get()` pointed
at the gateway), with `x-goog-api-key` or bearer auth.

Every model behind the gateway is listed, whatever its provider: each takes every Gemini method
here (`generateContent`, `streamGenerateContent`, `countTokens`, `embedContent`,
`batchEmbedContents`), translated where its provider does not speak Gemini's API. A model the
key may not use is not there: getting it is a 404, as for a model the gateway does not know.
Errors are answered in Google's shape.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.params import Parameter

from domains.providers.model import ModelRoute
from interfaces.http.dependencies import Completions, GeminiKeyCheck
from interfaces.http.errors import ApiError
from interfaces.http.gemini.paths import METHODS, PREFIXES

_JSON = "application/json"
DEFAULT_PAGE = 50
MOST_PAGE = 1000

PageSize = Annotated[
    str | None, Parameter(query="pageSize", required=False, description="1 to 1000 (50)")
]
PageToken = Annotated[
    str | None,
    Parameter(query="pageToken", required=False, description="`nextPageToken` of the last page"),
]


def speaks_gemini(request: Request[Any, Any, Any]) -> bool:
    """Whether the caller speaks Gemini's API (the google-genai SDK sends its key as
    `x-goog-api-key`)."""
    return "x-goog-api-key" in request.headers


def gemini_model(shown: str, route: ModelRoute) -> dict[str, Any]:
    """A model in Gemini's `Model` shape: named `models/{what the client sends}`."""
    model: dict[str, Any] = {
        "name": f"models/{shown}",
        "baseModelId": shown,
        "version": route.upstream,
        "displayName": shown,
        "description": f"{route.upstream} served by {route.provider} through the gateway.",
        "supportedGenerationMethods": list(METHODS),
    }
    if route.max_output_tokens is not None:
        model["outputTokenLimit"] = route.max_output_tokens
    return model


def page_of(
    shown: list[tuple[str, ModelRoute]], size: str | None, token: str | None
) -> dict[str, Any]:
    """One page: `pageSize` models from the position `pageToken` names (an offset the previous
    page handed out), and the token of the next page when more follow."""
    most = DEFAULT_PAGE
    if size is not None:
        if not size.isdigit() or int(size) < 0:
            raise ApiError(400, "`pageSize` must be a whole number.", param="pageSize")
        most = min(int(size), MOST_PAGE) or DEFAULT_PAGE  # Google: 0 means the default
    start = 0
    if token:
        if not token.isdigit() or int(token) > len(shown):
            raise ApiError(400, "`pageToken` is not one this page handed out.", param="pageToken")
        start = int(token)
    window = shown[start : start + most]
    page: dict[str, Any] = {"models": [gemini_model(name, route) for name, route in window]}
    if start + most < len(shown):
        page["nextPageToken"] = str(start + most)
    return page


@get(
    [PREFIXES[0].rstrip("/")],
    tags=["Gemini"],
    summary="The models this key may use, in Gemini's shape",
)
async def list_gemini_models(
    gemini_key: GeminiKeyCheck,
    completions: Completions,
    page_size: PageSize = None,
    page_token: PageToken = None,
) -> Response[bytes]:
    caller = await gemini_key.caller(options=False)
    page = page_of(completions.models_for(caller), page_size, page_token)
    return Response(msgspec.json.encode(page), media_type=_JSON)


@get(
    [f"{PREFIXES[0]}{{target:path}}"],
    tags=["Gemini"],
    summary="One model this key may use, in Gemini's shape",
)
async def get_gemini_model(
    gemini_key: GeminiKeyCheck, target: str, completions: Completions
) -> Response[bytes]:
    caller = await gemini_key.caller(options=False)
    wanted = target.lstrip("/").removeprefix("models/")
    route = completions.shown_model(caller, wanted)
    return Response(msgspec.json.encode(gemini_model(wanted, route)), media_type=_JSON)


ROUTES = [list_gemini_models, get_gemini_model]
