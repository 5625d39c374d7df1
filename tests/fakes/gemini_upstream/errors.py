"""Errors in Google's shape (a JSON `error` with its status name, or the front end's HTML 404),
and the checks every request passes first: its key, its method, its JSON body, and the special
model names that fail on purpose."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from aiohttp import web

from tests.fakes.gemini_upstream.models import (
    BASE_HEADERS,
    HTML_CT,
    JSON_CT,
    MODEL_ERROR_400,
    MODEL_ERROR_404,
    MODEL_ERROR_500,
    MODEL_EXHAUSTED,
    MODEL_SLOW,
    MODEL_UNAVAILABLE,
    MODELS_BY_ID,
    RETRY_DELAY,
    STATUS_NAMES,
    RecordedRequest,
    encode,
)
from tests.fakes.server import (
    EXPECTED_KEY,
    SLOW_SECONDS,
    Handler,
    log_request,
    read_json,
)


class HTTPFailure(Exception):
    """Carries a Google error (or a ready-made response) out of nested helpers."""

    def __init__(
        self,
        code: int,
        message: str = "",
        details: list[dict[str, Any]] | None = None,
        *,
        response: web.Response | None = None,
    ) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.details = details
        self.response = response

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "status": STATUS_NAMES.get(self.code, "UNKNOWN"),
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}


def pretty_json(payload: object) -> bytes:
    """Google pretty-prints non-streamed JSON bodies with a two-space indent."""
    return msgspec.json.format(encode(payload), indent=2)


def json_response(payload: object, status: int = 200) -> web.Response:
    headers = dict(BASE_HEADERS)
    headers["Content-Type"] = JSON_CT
    return web.Response(status=status, body=pretty_json(payload), headers=headers)


def _error_response(failure: HTTPFailure, *, as_array: bool = False) -> web.Response:
    if failure.response is not None:
        return failure.response
    body: object = failure.body()
    return json_response([body] if as_array else body, failure.code)


def invalid_argument(message: str, details: list[dict[str, Any]] | None = None) -> HTTPFailure:
    return HTTPFailure(400, message, details)


def bullets(request_type: str, violations: list[tuple[str, str]]) -> HTTPFailure:
    """Google's field-validation format: ``* Request.field: problem\\n`` per violation."""
    return invalid_argument("".join(f"* {request_type}.{f}: {m}\n" for f, m in violations))


def not_found_page(path: str) -> web.Response:
    """Google's front end answers unknown URLs with an HTML page, not JSON."""
    html = (
        "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n"
        "  <title>Error 404 (Not Found)!!1</title>\n"
        "  <p><b>404.</b> <ins>That’s an error.</ins>\n"
        f"  <p>The requested URL <code>{path}</code> was not found on this server.  "
        "<ins>That’s all we know.</ins>\n"
    )
    headers = dict(BASE_HEADERS)
    headers["Content-Type"] = HTML_CT
    return web.Response(status=404, body=html.encode(), headers=headers)


def _api_key(request: web.Request) -> str | None:
    key = request.headers.get("x-goog-api-key", "").strip() or request.query.get("key", "").strip()
    return key or None


async def prelude(request: web.Request) -> Any:
    """Record the request, check auth and parse the body. Returns the body (None if empty)."""
    raw = await request.read() if request.body_exists else b""
    body, ok = await read_json(request, empty_ok=True)  # an empty body is an empty message
    log_request(request, body, lambda seen, parsed: RecordedRequest.of(seen, parsed, raw))
    key = _api_key(request)
    if key is None:
        if request.headers.get("Authorization", "").lower().startswith("bearer "):
            raise HTTPFailure(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential. See "
                "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "ACCESS_TOKEN_TYPE_UNSUPPORTED",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    }
                ],
            )
        raise HTTPFailure(
            403,
            "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API.",
        )
    expected = request.app.get(EXPECTED_KEY)
    if expected is not None and key != expected:
        message = "API key not valid. Please pass a valid API key."
        raise HTTPFailure(
            400,
            message,
            [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                },
                {
                    "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                    "locale": "en-US",
                    "message": message,
                },
            ],
        )
    if not ok:
        raise invalid_argument("Invalid JSON payload received. Unexpected token.")
    return {} if body is None and request.method == "POST" else body


async def special_model(request: web.Request, model: str) -> None:
    """Raise the configured failure for special model names; sleep for ``fake-slow``."""
    if model == MODEL_EXHAUSTED:
        raise HTTPFailure(
            429,
            "Resource has been exhausted",
            [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": RETRY_DELAY}],
        )
    if model == MODEL_ERROR_500:
        raise HTTPFailure(
            500,
            "An internal error has occurred. Please retry or report in "
            "https://developers.generativeai.google/guide/troubleshooting",
        )
    if model == MODEL_UNAVAILABLE:
        raise HTTPFailure(503, "The model is overloaded. Please try again later.")
    if model == MODEL_ERROR_400:
        raise invalid_argument(
            "* GenerateContentRequest.contents: the fake-error-400 model rejects it."
        )
    if model == MODEL_ERROR_404:
        raise HTTPFailure(
            404,
            f"models/{model} is not found for API version v1beta, or is not supported for "
            "generateContent. Call ListModels to see the list of available models and their "
            "supported methods.",
        )
    if model == MODEL_SLOW:
        await asyncio.sleep(request.app[SLOW_SECONDS])


def check_method(model: str, method: str, version: str) -> None:
    """Known catalog models only serve their supportedGenerationMethods (like Google)."""
    known = MODELS_BY_ID.get(model)
    supported = known["supportedGenerationMethods"] if known else None
    if method in ("batchEmbedContents", "embedContent"):
        ok = supported is None or "embedContent" in supported
    else:
        ok = supported is None or "generateContent" in supported
    if not ok:
        raise HTTPFailure(
            404,
            f"models/{model} is not found for API version {version}, or is not supported for "
            f"{method}. Call ListModels to see the list of available models and their supported "
            "methods.",
        )


def _is_json_array_stream(request: web.Request) -> bool:
    return (
        request.match_info.get("method") == "streamGenerateContent"
        and request.query.get("alt") != "sse"
    )


def guarded(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except HTTPFailure as failure:
            # streamGenerateContent without alt=sse wraps even its errors in a JSON array.
            return _error_response(failure, as_array=_is_json_array_stream(request))

    wrapped.__name__ = handler.__name__
    return wrapped
