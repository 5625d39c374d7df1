"""Errors in Anthropic's shape, and the checks every request passes first: its key and version,
its JSON body, and the special model names that fail on purpose."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from typing import Any

from aiohttp import web

from tests.fakes.anthropic_upstream.models import (
    JSON_CT,
    MODEL_ERROR_400,
    MODEL_ERROR_404,
    MODEL_ERROR_500,
    MODEL_OVERLOADED,
    MODEL_RATE_LIMITED,
    MODEL_SLOW,
    RETRY_AFTER_SECONDS,
    encode,
)
from tests.fakes.server import (
    EXPECTED_KEY,
    SLOW_SECONDS,
    HTTPFailure,
    log_request,
    read_json,
)


def new_request_id() -> str:
    return "req_" + os.urandom(12).hex()


def error_payload(type_: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": type_, "message": message}}


def anthropic_error(
    status: int, type_: str, message: str, *, headers: dict[str, str] | None = None
) -> web.Response:
    request_id = new_request_id()
    body = {**error_payload(type_, message), "request_id": request_id}
    return web.Response(
        status=status,
        body=encode(body),
        content_type=JSON_CT,
        headers={"request-id": request_id, **(headers or {})},
    )


def json_response(payload: object, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=encode(payload),
        content_type=JSON_CT,
        headers={"request-id": new_request_id()},
    )


def invalid_request(message: str) -> HTTPFailure:
    return HTTPFailure(anthropic_error(400, "invalid_request_error", message))


def _api_key(request: web.Request) -> str | None:
    """The ``x-api-key`` header, else the ``Authorization: Bearer`` token."""
    key = request.headers.get("x-api-key", "").strip()
    if key:
        return key
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


async def prelude(request: web.Request) -> Any:
    """Record the request, check auth, version header and body. Returns the parsed body."""
    body, ok = await read_json(request)
    log_request(request, body)
    key = _api_key(request)
    if key is None:
        raise HTTPFailure(
            anthropic_error(401, "authentication_error", "x-api-key header is required")
        )
    expected = request.app.get(EXPECTED_KEY)
    if expected is not None and key != expected:
        raise HTTPFailure(anthropic_error(401, "authentication_error", "invalid x-api-key"))
    if not request.headers.get("anthropic-version"):
        raise invalid_request("anthropic-version: header is required")
    if request.method == "POST" and not ok:
        raise invalid_request(
            "There was an error parsing the body of your request. Please make sure it is valid "
            "JSON."
        )
    return body


async def special_model(request: web.Request, model: str) -> None:
    """Raise the configured failure for special model names; sleep for ``fake-slow``."""
    if model == MODEL_OVERLOADED:
        raise HTTPFailure(anthropic_error(529, "overloaded_error", "Overloaded"))
    if model == MODEL_RATE_LIMITED:
        reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=RETRY_AFTER_SECONDS)
        raise HTTPFailure(
            anthropic_error(
                429,
                "rate_limit_error",
                "This request would exceed the rate limit for your organization of 50 requests "
                "per minute. Please try again later.",
                headers={
                    "retry-after": str(RETRY_AFTER_SECONDS),
                    "anthropic-ratelimit-requests-limit": "50",
                    "anthropic-ratelimit-requests-remaining": "0",
                    "anthropic-ratelimit-requests-reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            )
        )
    if model == MODEL_ERROR_500:
        raise HTTPFailure(anthropic_error(500, "api_error", "Internal server error"))
    if model == MODEL_ERROR_400:
        raise invalid_request("messages: the fake-error-400 model rejects every request")
    if model == MODEL_ERROR_404:
        raise HTTPFailure(anthropic_error(404, "not_found_error", f"model: {model}"))
    if model == MODEL_SLOW:
        await asyncio.sleep(request.app[SLOW_SECONDS])
