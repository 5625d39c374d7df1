"""Errors in OpenAI's shape, and the checks every request passes first: its key, its JSON body,
and the special model names that fail on purpose."""

from __future__ import annotations

import asyncio
import os
from typing import Any, Final

from aiohttp import web

from tests.fakes.openai_upstream.models import (
    ALLOW_ANONYMOUS,
    FAULTS,
    JSON_CT,
    MODEL_CONTENT_POLICY,
    MODEL_ERROR_400,
    MODEL_ERROR_401_LEAKY,
    MODEL_ERROR_404,
    MODEL_ERROR_429,
    MODEL_ERROR_500,
    MODEL_ERROR_503,
    MODEL_SLOW,
    RATE_LIMIT_HEADERS,
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


def openai_error(
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
        status=status, body=encode(body), content_type=JSON_CT, headers=with_request_id(headers)
    )


STREAM_ERROR_EVENT: Final = (
    b'data: {"error": {"message": "The server had an error while processing your request.", '
    b'"type": "server_error", "param": null, "code": null}}\n\n'
)


def json_response(payload: object, status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=encode(payload), content_type=JSON_CT, headers=with_request_id()
    )


def with_request_id(headers: dict[str, str] | None = None) -> dict[str, str]:
    out = {"x-request-id": "req_" + os.urandom(12).hex()}
    if headers:
        out.update(headers)
    return out


def bad_request(message: str, param: str | None = None, code: str | None = None) -> HTTPFailure:
    return HTTPFailure(openai_error(400, message, param=param, code=code))


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


async def prelude(request: web.Request) -> tuple[Any, str]:
    """Record the request, check auth and parse the body. Returns (body, bearer key; "" for an
    anonymous request the app allows)."""
    body, ok = await read_json(request)
    log_request(request, body)
    key = _bearer(request)
    if key is None and request.app.get(ALLOW_ANONYMOUS, False):
        key = ""
    elif key is None:
        raise HTTPFailure(
            openai_error(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        )
    expected = request.app.get(EXPECTED_KEY)
    if expected is not None and key != expected:
        raise HTTPFailure(
            openai_error(401, "Incorrect API key provided.", code="invalid_api_key"),
        )
    if request.method == "POST" and not ok:
        raise bad_request(
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
            "but what was sent was not valid JSON.)"
        )
    return body, key


async def special_model(request: web.Request, model: object, key: str) -> None:
    """Raise the configured failure for special model names (and the faults the test switched
    on, :mod:`tests.fakes.faults`); sleep for ``fake-slow``."""
    faults = request.app.get(FAULTS)
    verdict = faults.verdict(key, model) if faults is not None else None
    if verdict is not None:
        headers = {"Retry-After": str(verdict.retry_after)} if verdict.retry_after else None
        kind = "requests" if verdict.status == 429 else "server_error"
        raise HTTPFailure(
            openai_error(
                verdict.status,
                f"Fault injected: {verdict.status}.",
                type_=kind,
                code="rate_limit_exceeded" if verdict.status == 429 else None,
                headers=headers,
            )
        )
    if model == MODEL_ERROR_500:
        raise HTTPFailure(
            openai_error(
                500,
                "The server had an error while processing your request.",
                type_="server_error",
            )
        )
    if model == MODEL_ERROR_503:
        raise HTTPFailure(
            openai_error(
                503,
                "The engine is currently overloaded, please try again later.",
                type_="server_error",
            )
        )
    if model == MODEL_ERROR_404:
        raise HTTPFailure(
            openai_error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        )
    if model == MODEL_ERROR_429:
        raise HTTPFailure(
            openai_error(
                429,
                f"Rate limit reached for {model} in organization org-fake on requests per min "
                f"(RPM): Limit 500, Used 500, Requested 1. "
                f"Please try again in {RETRY_AFTER_SECONDS}s.",
                type_="requests",
                code="rate_limit_exceeded",
                headers=RATE_LIMIT_HEADERS,
            )
        )
    if model == MODEL_CONTENT_POLICY:  # as OpenAI refuses a prompt its safety system flags
        raise bad_request(
            "Your request was rejected as a result of our safety system. Your prompt may "
            "contain text that is not allowed by our safety system.",
            code="content_policy_violation",
        )
    if model == MODEL_ERROR_400:
        raise bad_request(
            "Invalid 'messages': the fake-error-400 model rejects every request.", "messages"
        )
    if model == MODEL_ERROR_401_LEAKY:
        raise HTTPFailure(
            openai_error(
                401,
                f"Incorrect API key provided: {key}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        )
    if model == MODEL_SLOW:
        await asyncio.sleep(request.app[SLOW_SECONDS])
