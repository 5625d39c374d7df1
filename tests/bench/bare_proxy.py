"""The yardstick: a bare pass-through with the gateway's stack and none of its work.

Litestar on uvicorn (uvloop, httptools, one worker) forwarding the bytes of
``POST /v1/chat/completions`` (and ``POST /v1/responses``) to the upstream through one shared
aiohttp ``ClientSession`` and streaming the SSE reply back. No auth, no accounting, no parsing
of the body.

Run: ``python -m tests.bench.bare_proxy --port P --upstream http://127.0.0.1:U/v1 --key K``
(``--combined-writes``: with the gateway's HTTP protocol, for comparison; `make bench` runs it
without).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import uvicorn
from litestar import Litestar, Request, Response, post
from litestar.response import Stream

UPSTREAM_ENV = "BARE_PROXY_UPSTREAM"
KEY_ENV = "BARE_PROXY_UPSTREAM_KEY"


@post("/v1/chat/completions", status_code=200)
async def chat_completions(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _forward(request, request.app.state.chat_url)


@post("/v1/responses", status_code=200)
async def responses(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _forward(request, request.app.state.responses_url)


async def _forward(request: Request[Any, Any, Any], url: str) -> Response[Any]:
    state = request.app.state
    body = await request.body()
    upstream = await state.session.post(
        url,
        data=body,
        headers={"Content-Type": "application/json", "Authorization": state.auth},
    )
    media_type = upstream.headers.get("Content-Type", "application/json")
    if not media_type.startswith("text/event-stream"):
        try:
            data = await upstream.read()
        finally:
            upstream.release()
        return Response(content=data, status_code=upstream.status, media_type=media_type)

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.content.iter_any():
                yield chunk
        finally:
            upstream.release()

    return Stream(
        relay(),
        status_code=upstream.status,
        media_type=media_type,
        headers={"Cache-Control": "no-cache"},
    )


async def _open_session(app: Litestar) -> None:
    app.state.chat_url = os.environ[UPSTREAM_ENV].rstrip("/") + "/chat/completions"
    app.state.responses_url = os.environ[UPSTREAM_ENV].rstrip("/") + "/responses"
    app.state.auth = "Bearer " + os.environ[KEY_ENV]
    # Same connection-pool size as a gateway provider's default `max_connections`.
    app.state.session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=100), timeout=aiohttp.ClientTimeout(total=30)
    )


async def _close_session(app: Litestar) -> None:
    await app.state.session.close()


def create_app() -> Litestar:
    return Litestar(
        route_handlers=[chat_completions, responses],
        on_startup=[_open_session],
        on_shutdown=[_close_session],
        openapi_config=None,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bare_proxy")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="base URL, e.g. http://127.0.0.1:9100/v1")
    parser.add_argument("--key", required=True, help="upstream bearer key")
    parser.add_argument(
        "--combined-writes",
        action="store_true",
        help="the gateway's HTTP protocol (a plain answer in one write), not uvicorn's own",
    )
    args = parser.parse_args(argv)
    os.environ[UPSTREAM_ENV] = args.upstream
    os.environ[KEY_ENV] = args.key
    uvicorn.run(
        "tests.bench.bare_proxy:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=1,
        loop="uvloop",
        http=(
            "interfaces.http.combined_writes:CombinedWritesHttpToolsProtocol"
            if args.combined_writes
            else "httptools"
        ),
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
