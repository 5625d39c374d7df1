"""The upstream session, against a real aiohttp server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from infrastructure.adapters.providers.upstream_http import UpstreamHttp, UpstreamTimeouts


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[str, list[str | None]]]:
    """A server that sets a cookie on every answer and notes the Cookie header it was sent."""
    sent: list[str | None] = []

    async def chat(request: web.Request) -> web.Response:
        sent.append(request.headers.get("Cookie"))
        response = web.json_response({"ok": True})
        response.set_cookie("affinity", "replica-7")
        return response

    app = web.Application()
    app.router.add_post("/chat", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://localhost:{port}/chat", sent  # a name: cookies for an IP are never kept
    await runner.cleanup()


async def test_a_cookie_an_upstream_sets_is_not_sent_back(
    upstream: tuple[str, list[str | None]],
) -> None:
    url, sent = upstream
    http = UpstreamHttp(
        "openai", timeouts=UpstreamTimeouts(), max_connections=4, redact=lambda text: text
    )
    try:
        for _ in range(2):
            async with http.post(url, b"{}", {"Content-Type": "application/json"}) as response:
                assert response.cookies["affinity"].value == "replica-7"
                assert await http.read(response) == b'{"ok": true}'
    finally:
        await http.close()
    assert sent == [None, None]
