"""The OpenAI Responses API in front: `POST /v1/responses` (plain and SSE), and the stored
responses: `GET` and `DELETE /v1/responses/{id}`, `GET /v1/responses/{id}/input_items`.

`POST` decodes the body and hands it to `create.create_response` (the work, shared with the
Responses WebSocket mode); the others read or delete what it stored for the caller's org:
another org's response, or one past `responses.retention_days`, is a 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.params import Parameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncEngine

from application.conversations.commands import DeleteResponse
from application.conversations.response_store import ResponseStore
from domains.conversations.errors import ResponseNotFound
from domains.shared.clock import utcnow
from infrastructure.queries.responses import ResponseView, stored_response
from interfaces.bootstrap import Container
from interfaces.http.container import request_id_of
from interfaces.http.dependencies import Bus, Engine, KeyHolder, Responses, responses_of
from interfaces.http.errors import ApiError
from interfaces.http.openai.auth import authenticate_secret
from interfaces.http.openai.decoding import decode_body
from interfaces.http.openai.routes import SSE_HEADERS
from interfaces.http.responses.create import Created, ResponsesRequest, create_response
from interfaces.http.responses.history import STORABLE_ID, looked_up
from interfaces.http.responses.paging import items_page

_JSON = "application/json"

ResponseId = Annotated[
    str, Parameter(min_length=1, max_length=200, description="The response's id (`resp_...`)")
]


async def answer_responses(
    container: Container,
    secret: str | None,
    client: str | None,
    read_body: Callable[[], Awaitable[bytes]],
    request_id: str,
    tags: str | None = None,
    cache: str | None = None,
) -> Created:
    """A response, from the caller's credential and body to the answer, for
    `openai.direct.DirectRoute` (straight from ASGI); Litestar's route below, given the caller
    and the services as dependencies, answers the same."""
    caller = await authenticate_secret(container, secret, client, tags, cache)
    raw, _ = decode_body(await read_body(), ResponsesRequest)
    return await create_response(responses_of(container), caller, raw, request_id)


@post(
    "/v1/responses",
    status_code=200,
    tags=["OpenAI"],
    summary="Create a model response (OpenAI Responses API, plain or SSE), with any model",
)
async def create(
    request: Request[Any, Any, Any], key_holder: KeyHolder, responses: Responses
) -> Response[Any]:
    raw, _ = decode_body(await request.body(), ResponsesRequest)
    created = await create_response(responses, key_holder, raw, request_id_of(request))
    if created.events is not None:
        headers = {**SSE_HEADERS, **created.headers}
        return Stream(created.events, media_type="text/event-stream", headers=headers)
    return Response(created.body or b"", media_type=_JSON, headers=created.headers)


@get(
    "/v1/responses/{response_id:str}",
    tags=["OpenAI"],
    summary="A stored response, as it was answered",
)
async def retrieve(
    response_id: ResponseId,
    key_holder: KeyHolder,
    engine: Engine,
    responses: Responses,
    stream: bool = False,
) -> Response[bytes]:
    if stream:
        raise ApiError(
            400,
            "Streaming a stored response needs background mode, which this gateway does not"
            " run: retrieve it without `stream`.",
            code="unsupported_parameter",
            param="stream",
        )
    found = await _stored(engine, responses.store, key_holder.org_id, response_id)
    return Response(msgspec.json.encode(found.response), media_type=_JSON)


@delete(
    "/v1/responses/{response_id:str}",
    status_code=200,
    tags=["OpenAI"],
    summary="Delete a stored response",
)
async def remove(
    response_id: ResponseId, key_holder: KeyHolder, bus: Bus, responses: Responses
) -> Response[bytes]:
    if not STORABLE_ID.match(response_id):
        raise ResponseNotFound(response_id)
    await responses.store.written(response_id)
    await bus.handle(
        DeleteResponse(
            response_id=response_id, org_id=key_holder.org_id, actor=f"key:{key_holder.key_id}"
        )
    )
    body = {"id": response_id, "object": "response", "deleted": True}
    return Response(msgspec.json.encode(body), media_type=_JSON)


@get(
    "/v1/responses/{response_id:str}/input_items",
    tags=["OpenAI"],
    summary="The input items of a stored response, a page at a time",
)
async def input_items(
    response_id: ResponseId,
    key_holder: KeyHolder,
    engine: Engine,
    responses: Responses,
    limit: Annotated[int, Parameter(ge=1, le=100, description="items in a page (1-100)")] = 20,
    order: Literal["asc", "desc"] = "desc",
    after: Annotated[
        str | None, Parameter(max_length=200, description="continue after this item id")
    ] = None,
) -> Response[bytes]:
    found = await _stored(engine, responses.store, key_holder.org_id, response_id)
    page = items_page(found.input_items, limit=limit, order=order, after=after)
    return Response(msgspec.json.encode(page), media_type=_JSON)


async def _stored(
    engine: AsyncEngine, store: ResponseStore, org_id: str, response_id: str
) -> ResponseView:
    found = await looked_up(
        store, response_id, lambda: stored_response(engine, response_id, org_id, utcnow())
    )
    if found is None:
        raise ResponseNotFound(response_id)
    return found


ROUTES = [create, retrieve, remove, input_items]
