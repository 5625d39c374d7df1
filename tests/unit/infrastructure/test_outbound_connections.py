"""The outbound guard's connections, against real servers on loopback: `127.0.0.1` is on the
allow list here, `127.0.0.2` plays an internal service on the same port. A host name that
resolves differently on a second lookup (DNS rebinding) is connected to at the address checked
or refused, never at the other; a redirect to a refused address is not followed; the client
secret is never posted to a refused token endpoint; an answer is read whole under its cap."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.gemini import GeminiAdapter, read_gemini_error
from infrastructure.adapters.providers.image_fetch import ImageFetcher, ImageLimits
from infrastructure.adapters.providers.upstream_http import UpstreamHttp, UpstreamTimeouts
from infrastructure.net.outbound import (
    OutboundHttp,
    OutboundPolicy,
    OutboundRefused,
    ResponseTooLarge,
    read_capped,
)
from infrastructure.sso.oidc_client import OidcClient, OidcError, ProviderMetadata
from tests.fakes.gemini_upstream import FakeGemini
from tests.support.services import free_port

TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass
class Peer:
    """A server on one loopback address noting every request (method, path, body)."""

    host: str
    port: int
    files: dict[str, bytes] = field(default_factory=dict)
    seen: list[tuple[str, str, bytes]] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"


async def serve(peer: Peer) -> web.AppRunner:
    async def any_request(request: web.Request) -> web.StreamResponse:
        peer.seen.append((request.method, request.path_qs, await request.read()))
        if request.path.startswith("/to/"):
            raise web.HTTPFound(request.path_qs.removeprefix("/to/"))
        data = peer.files.get(request.path.strip("/"))
        if request.path.startswith("/slow"):  # answered after a while, counting who waits
            peer.in_flight += 1
            peer.most_in_flight = max(peer.most_in_flight, peer.in_flight)
            await asyncio.sleep(0.2)
            peer.in_flight -= 1
        if data is None:
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.Response(body=data, content_type="image/png")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", any_request)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, peer.host, peer.port).start()
    return runner


@pytest.fixture
async def peers() -> AsyncIterator[tuple[Peer, Peer]]:
    """The allowed server on 127.0.0.1 and the internal one on 127.0.0.2, on the same port."""
    port = free_port()
    allowed, internal = Peer("127.0.0.1", port), Peer("127.0.0.2", port)
    runners = [await serve(allowed), await serve(internal)]
    yield allowed, internal
    for runner in runners:
        await runner.cleanup()


class Rebinding:
    """A resolver answering 127.0.0.1 to the first lookup and 127.0.0.2 to every later one."""

    def __init__(self) -> None:
        self.lookups = 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups += 1
        return ["127.0.0.1"] if self.lookups == 1 else ["127.0.0.2"]


def policy(resolver: Rebinding | None = None) -> OutboundPolicy:
    return OutboundPolicy(["127.0.0.1"], resolver=resolver)


async def test_a_fetch_connects_to_the_address_its_one_lookup_checked(
    peers: tuple[Peer, Peer],
) -> None:
    allowed, internal = peers
    allowed.files["pixel"], internal.files["pixel"] = b"public", b"internal"
    resolver = Rebinding()
    http = OutboundHttp(policy(resolver), timeout=TIMEOUT)
    try:
        async with http.request(
            "GET", allowed.url("/pixel", "images.test"), https_only=False
        ) as answer:
            assert await answer.read() == b"public"
        assert resolver.lookups == 1
        # the second connection's lookup answers the internal address: refused, not followed
        http2 = OutboundHttp(policy(resolver), timeout=TIMEOUT)
        with pytest.raises(OutboundRefused, match="internal_address"):
            async with http2.request("GET", allowed.url("/pixel", "images.test"), https_only=False):
                pass
        await http2.close()
    finally:
        await http.close()
    assert internal.seen == []


async def test_an_address_checked_earlier_is_checked_again_at_the_fetch(
    peers: tuple[Peer, Peer],
) -> None:
    """Discovery checks an endpoint when the connection is made; a later fetch looks it up
    and checks it again rather than trusting the first answer."""
    allowed, internal = peers
    resolver = Rebinding()
    guard = policy(resolver)
    await guard.check(allowed.url("/jwks", "idp.test"), https_only=False)
    http = OutboundHttp(guard, timeout=TIMEOUT)
    try:
        with pytest.raises(OutboundRefused, match="internal_address"):
            async with http.request("GET", allowed.url("/jwks", "idp.test"), https_only=False):
                pass
    finally:
        await http.close()
    assert internal.seen == []


async def test_a_redirect_is_followed_only_to_an_address_the_guard_accepts(
    peers: tuple[Peer, Peer],
) -> None:
    allowed, internal = peers
    allowed.files["pixel"] = b"public"
    http = OutboundHttp(policy(), timeout=TIMEOUT)
    try:
        inside = allowed.url("/to/" + internal.url("/pixel"))
        with pytest.raises(OutboundRefused, match="internal_address"):
            async with http.request("GET", inside, https_only=False, redirects=3):
                pass
        same = allowed.url("/to/" + allowed.url("/pixel"))
        async with http.request("GET", same, https_only=False, redirects=3) as answer:
            assert await answer.read() == b"public"
        async with http.request("GET", same, https_only=False) as answer:
            assert answer.status == 302  # no redirects asked for: the answer as it came
    finally:
        await http.close()
    assert internal.seen == []


@pytest.mark.parametrize("size", [1_000_000, 3_000_001])
async def test_an_answer_is_read_whole_under_its_cap(peers: tuple[Peer, Peer], size: int) -> None:
    allowed, _ = peers
    allowed.files["big"] = data = os.urandom(size)
    http = OutboundHttp(policy(), timeout=TIMEOUT)
    try:
        async with http.request("GET", allowed.url("/big"), https_only=False) as answer:
            assert await read_capped(answer, 3_000_001) == data
        async with http.request("GET", allowed.url("/big"), https_only=False) as answer:
            with pytest.raises(ResponseTooLarge):
                await read_capped(answer, size - 1)
    finally:
        await http.close()


@pytest.fixture
async def oidc() -> AsyncIterator[OidcClient]:
    client = OidcClient(policy(), timeout=5)
    yield client
    await client.close()


def metadata(issuer: str, **endpoints: str) -> ProviderMetadata:
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=endpoints.get("authorization_endpoint", f"{issuer}/auth"),
        token_endpoint=endpoints.get("token_endpoint", f"{issuer}/token"),
        jwks_uri=endpoints.get("jwks_uri", f"{issuer}/jwks"),
    )


async def test_the_client_secret_is_never_posted_to_a_refused_token_endpoint(
    oidc: OidcClient, peers: tuple[Peer, Peer]
) -> None:
    allowed, internal = peers
    secret = secrets.token_urlsafe(16)
    issuer = allowed.url("")
    for endpoint in (internal.url("/token"), "http://203.0.113.9/token", "https://[::1]/token"):
        with pytest.raises(OidcError) as refused:
            await oidc.exchange(
                metadata(issuer, token_endpoint=endpoint),
                client_id="gateway",
                client_secret=secret,
                code="c",
                redirect_uri="https://gw.example/cb",
                code_verifier="v" * 43,
            )
        assert refused.value.reason == "provider_unreachable"
        assert "127.0.0.2" not in refused.value.message
        assert str(internal.port) not in refused.value.message
    assert internal.seen == []


async def test_keys_are_never_read_from_a_refused_address(
    oidc: OidcClient, peers: tuple[Peer, Peer]
) -> None:
    allowed, internal = peers
    for jwks in (internal.url("/jwks"), "https://169.254.169.254/latest/meta-data"):
        with pytest.raises(OidcError) as refused:
            await oidc.id_token_claims(
                metadata(allowed.url(""), jwks_uri=jwks),
                id_token="a.b.c",
                client_id="gateway",
                nonce="n",
                access_token=None,
            )
        assert refused.value.reason == "provider_unreachable"
    assert internal.seen == []


def gemini_body(*urls: str) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": "what is this"}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in urls]
    return {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": parts}]}


@pytest.fixture
def fake_gemini() -> Iterator[FakeGemini]:
    with FakeGemini(expected_key="k") as fake:
        yield fake


def gemini(fake: FakeGemini, guard: OutboundPolicy, limits: ImageLimits) -> GeminiAdapter:
    http = UpstreamHttp(
        "gemini",
        timeouts=UpstreamTimeouts(),
        max_connections=4,
        redact=lambda text: text,
        read_error=read_gemini_error,
    )
    images = ImageFetcher(OutboundHttp(guard, timeout=TIMEOUT), limits)
    return GeminiAdapter(http, base_url=fake.base_url, api_key="k", images=images)


def inline_images(fake: FakeGemini) -> list[bytes]:
    (request,) = [r for r in fake.requests if r.path.endswith(":generateContent")]
    return [
        base64.b64decode(part["inlineData"]["data"])
        for content in request.json["contents"]
        for part in content["parts"]
        if "inlineData" in part
    ]


async def test_a_rebinding_image_host_is_fetched_from_the_address_checked(
    peers: tuple[Peer, Peer], fake_gemini: FakeGemini
) -> None:
    allowed, internal = peers
    allowed.files["big"], internal.files["big"] = os.urandom(1_000_000), b"internal secrets"
    adapter = gemini(fake_gemini, policy(Rebinding()), ImageLimits())
    answered, refusals = 0, []
    try:
        for attempt in range(3):  # a kept-alive connection, or a new lookup answering 127.0.0.2
            url = allowed.url(f"/big?{attempt}", "images.test")
            try:
                await adapter.chat(gemini_body(url), "gemini-2.5-flash")
                answered += 1
            except InvalidRequest as refused:
                refusals.append(refused.message)
    finally:
        await adapter.close()
    assert answered >= 1
    assert all("is refused" in message for message in refusals)
    sent = [r for r in fake_gemini.requests if r.path.endswith(":generateContent")]
    assert len(sent) == answered
    for request in sent:
        (image,) = [
            p["inlineData"] for p in request.json["contents"][0]["parts"] if "inlineData" in p
        ]
        assert base64.b64decode(image["data"]) == allowed.files["big"]  # all 1,000,000 bytes
    assert internal.seen == []


async def test_a_request_s_images_are_capped_in_number_size_and_total(
    peers: tuple[Peer, Peer], fake_gemini: FakeGemini
) -> None:
    allowed, _ = peers
    allowed.files["a"], allowed.files["b"] = os.urandom(600), os.urandom(600)
    limits = ImageLimits(max_bytes=700, max_total_bytes=1000, max_per_request=3)
    adapter = gemini(fake_gemini, policy(), limits)
    try:
        with pytest.raises(InvalidRequest, match="at most 3 image URLs"):
            await adapter.chat(
                gemini_body(*(allowed.url(f"/a?{n}") for n in range(4))), "gemini-2.5-flash"
            )
        assert allowed.seen == []  # refused before any download
        with pytest.raises(InvalidRequest, match="larger than 1000 bytes together"):
            await adapter.chat(gemini_body(allowed.url("/a"), allowed.url("/b")), "x")
        allowed.files["c"] = os.urandom(701)
        with pytest.raises(InvalidRequest, match="larger than 700 bytes"):
            await adapter.chat(gemini_body(allowed.url("/c")), "gemini-2.5-flash")
        await adapter.chat(gemini_body(allowed.url("/a"), allowed.url("/a")), "gemini-2.5-flash")
    finally:
        await adapter.close()
    assert inline_images(fake_gemini) == [allowed.files["a"]] * 2  # fetched once, sent twice


async def test_downloads_run_a_few_at_a_time_per_request_and_per_process(
    peers: tuple[Peer, Peer], fake_gemini: FakeGemini
) -> None:
    allowed, _ = peers
    for n in range(8):
        allowed.files[f"slow{n}"] = b"\x89PNG"
    limits = ImageLimits(max_per_request=8, concurrent_per_request=3, concurrent=4)
    adapter = gemini(fake_gemini, policy(), limits)
    try:
        await adapter.chat(
            gemini_body(*(allowed.url(f"/slow{n}") for n in range(8))), "gemini-2.5-flash"
        )
        assert allowed.most_in_flight <= 3  # eight at once without the cap
        allowed.most_in_flight = 0
        await asyncio.gather(  # two requests of 8: at most 4 downloads at once in the process
            *(
                adapter.chat(
                    gemini_body(*(allowed.url(f"/slow{n}?{r}") for n in range(8))),
                    "gemini-2.5-flash",
                )
                for r in range(2)
            )
        )
        assert allowed.most_in_flight <= 4  # three per request, six without this cap
    finally:
        await adapter.close()
