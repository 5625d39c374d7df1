"""`POST /v1/chat/completions` and `POST /v1/responses` served straight from ASGI, the
gateway's hottest routes.

Litestar's routes (`routes.chat_completions`, `responses.routes.create`) document them in the
OpenAPI document and answer them the same way, through the same `answer_chat` and
`answer_responses`; served here, a request skips Litestar's request object, handler signature,
dependency injection, response object and exception-handler lookup, about a tenth of the
gateway's CPU a request. What Litestar did around the handler is done here: the body limit
(413), errors in the OpenAI shape, and a stream cancelled when its client goes away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol

from interfaces.bootstrap import Container
from interfaces.http.container import token_of
from interfaces.http.errors import TOO_LARGE, ApiError, log_if_unhandled, openai_error_parts
from interfaces.http.openai.routes import SSE_HEADERS, answer_chat
from interfaces.http.responses.routes import answer_responses

PATH = "/v1/chat/completions"
RESPONSES_PATH = "/v1/responses"
_JSON = b"application/json"
_SSE = b"text/event-stream; charset=utf-8"
_SSE_HEADERS = tuple(
    (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SSE_HEADERS.items()
)

Scope = Any
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]


class ClientGone(Exception):
    """The client disconnected before its request body was read: there is no one to answer."""


class Answered(Protocol):
    """What a direct route answers: a JSON `body`, or the SSE `chunks` of a stream."""

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def body(self) -> bytes | None: ...

    @property
    def chunks(self) -> AsyncIterator[bytes] | None: ...


Answer = Callable[
    [
        Container,
        str | None,
        str | None,
        Callable[[], Awaitable[bytes]],
        str,
        str | None,
        str | None,
    ],
    Awaitable[Answered],
]
"""(container, the caller's secret, their address, reads the body, request id, the request's
`x-fluxrouter-tags`, its `x-fluxrouter-cache`) → the answer."""


class DirectRoute:
    def __init__(self, container: Container, max_body: int, answer: Answer, path: str) -> None:
        self.container = container
        self.max_body = max_body
        self.answer = answer
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = x_api_key = tags = cache = None
        declared = -1
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"x-api-key":
                x_api_key = value.decode("latin-1")
            elif name == b"x-fluxrouter-tags":
                tags = value.decode("latin-1")
            elif name == b"x-fluxrouter-cache":
                cache = value.decode("latin-1")
            elif name == b"content-length" and value.isdigit():
                declared = int(value)
        client = scope.get("client")

        async def read_body() -> bytes:
            if declared > self.max_body:
                raise ApiError(413, TOO_LARGE)
            return await _body(receive, self.max_body)

        try:
            answer = await self.answer(
                self.container,
                token_of(authorization, x_api_key),
                client[0] if client else None,
                read_body,
                scope["state"]["request_id"],
                tags,
                cache,
            )
        except ClientGone:
            return
        except Exception as exc:  # every error leaves as OpenAI JSON, never a traceback
            status, body, headers = openai_error_parts(exc)
            log_if_unhandled(self.path, exc, status)
            await _answer(send, status, body, headers)
            return
        if answer.chunks is None:
            await _answer(send, 200, answer.body or b"", answer.headers)
        else:
            await _relay(send, receive, answer.chunks, answer.headers)


def direct_routes(container: Container, max_body: int) -> dict[tuple[str, str], DirectRoute]:
    """(method, path) → its direct route."""
    return {
        ("POST", PATH): DirectRoute(container, max_body, answer_chat, PATH),
        ("POST", RESPONSES_PATH): DirectRoute(
            container, max_body, answer_responses, RESPONSES_PATH
        ),
    }


async def _body(receive: Receive, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, TOO_LARGE)
        parts.append(chunk)
        more = message.get("more_body", False)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _headers(
    headers: Mapping[str, str], content_type: bytes, first: tuple[tuple[bytes, bytes], ...] = ()
) -> list[tuple[bytes, bytes]]:
    listed = [*first]
    for name, value in headers.items():
        listed.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    listed.append((b"content-type", content_type))
    return listed


async def _answer(send: Send, status: int, body: bytes, headers: Mapping[str, str]) -> None:
    listed = _headers(headers, _JSON)
    listed.append((b"content-length", b"%d" % len(body)))
    await send({"type": "http.response.start", "status": status, "headers": listed})
    await send({"type": "http.response.body", "body": body})


async def _relay(
    send: Send, receive: Receive, chunks: AsyncIterator[bytes], headers: Mapping[str, str]
) -> None:
    """Each chunk is sent as it comes. A client that goes away cancels the relay, which closes
    the upstream stream and records the call as cancelled (`stream_relay.relay`)."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": _headers(headers, _SSE, _SSE_HEADERS),
        }
    )
    relaying = asyncio.current_task()
    assert relaying is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        message = await receive()
        while message["type"] != "http.disconnect":
            message = await receive()
        gone = True
        relaying.cancel()

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except asyncio.CancelledError:
        if not gone:
            raise
        relaying.uncancel()
    finally:
        watcher.cancel()
        await _closed(chunks)


async def _closed(chunks: AsyncIterator[bytes]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()
