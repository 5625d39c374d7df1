"""Every URL the gateway fetches for someone else goes through one guard, seen through the real
gateway in both shapes. The test gateways allow `127.0.0.1` (`outbound.allow`); `127.0.0.2`
plays an internal service, with servers that note every request they get.

- An org admin connecting SSO cannot make the gateway fetch an internal address, in any
  spelling, through a redirect, or through the endpoints a discovery document names; an empty
  `?` or `#` on the issuer is refused; the error never tells which port answered.
- Gemini image URLs: a 1,000,000-byte image reaches the upstream whole; an image over its cap,
  images over the request's total or too many image URLs are a 400; shared address space
  (100.64.0.0/10) and the other internal ranges are refused without a connection."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.gemini_upstream import FakeGemini
from tests.support.fake_issuer import DISCOVERY, FakeIssuers
from tests.support.gateway import GatewayProcess
from tests.support.images import ImageHost
from tests.support.tenants import Tenant

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

UNREACHABLE = "`issuer`: the issuer could not be reached or was refused"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def issuers() -> Iterator[tuple[FakeIssuers, FakeIssuers]]:
    """Issuers on 127.0.0.1 (allowed) and on 127.0.0.2 (internal)."""
    allowed, internal = FakeIssuers("127.0.0.1"), FakeIssuers("127.0.0.2")
    yield allowed, internal
    allowed.close()
    internal.close()


@pytest.fixture(scope="module")
def images() -> Iterator[tuple[ImageHost, ImageHost]]:
    """Images on 127.0.0.1 (allowed) and on 127.0.0.2 (internal)."""
    allowed, internal = ImageHost("127.0.0.1"), ImageHost("127.0.0.2")
    yield allowed, internal
    allowed.close()
    internal.close()


@pytest.fixture(scope="module")
def admin(admin: httpx.Client) -> httpx.Client:
    """The shared `admin`, patient: a connection's creation fetches its issuer through the
    guard."""
    admin.timeout = httpx.Timeout(30)
    return admin


def connect(admin: httpx.Client, tenant: Tenant, issuer: str) -> httpx.Response:
    return admin.post(
        f"/orgs/{tenant.org_id}/sso-connections",
        json={"kind": "oidc", "issuer": issuer, "client_id": "gw", "client_secret": "s3cret"},
    )


def test_an_issuer_on_an_allowed_address_is_connected(
    admin: httpx.Client, tenant: Tenant, issuers: tuple[FakeIssuers, FakeIssuers]
) -> None:
    allowed, _ = issuers
    made = connect(admin, tenant, allowed.issuer(f"good-{secrets.token_hex(3)}"))
    assert made.status_code == 201, made.text


def test_an_internal_issuer_is_never_fetched_in_any_spelling(
    admin: httpx.Client, tenant: Tenant, issuers: tuple[FakeIssuers, FakeIssuers]
) -> None:
    _, internal = issuers
    port = internal.port
    for issuer in (
        f"http://127.0.0.2:{port}",
        f"https://127.0.0.2:{port}",
        f"http://[::ffff:127.0.0.2]:{port}",
        f"http://2130706434:{port}",  # 127.0.0.2 as one number
        f"http://0177.0.0.02:{port}",  # and in octal
        f"http://good.example.com@127.0.0.2:{port}",
        "https://100.64.0.1",
        "https://[fd00::1]",
    ):
        answer = connect(admin, tenant, issuer)
        assert answer.status_code == 400, (issuer, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert str(port) not in answer.text, answer.text
    assert internal.paths == []


def test_an_issuer_with_an_empty_query_or_fragment_is_refused_unfetched(
    admin: httpx.Client, tenant: Tenant, issuers: tuple[FakeIssuers, FakeIssuers]
) -> None:
    allowed, _ = issuers
    name = f"tail-{secrets.token_hex(3)}"
    issuer = allowed.issuer(name)
    for tail in ("?", "#", "/?", "/#", "?#"):
        answer = connect(admin, tenant, issuer + tail)
        assert answer.status_code == 400, (tail, answer.text)
        assert "query or fragment" in answer.json()["detail"], answer.text
    assert [path for path in allowed.paths if name in path] == []


def test_errors_never_tell_which_ports_answer(
    admin: httpx.Client, tenant: Tenant, issuers: tuple[FakeIssuers, FakeIssuers]
) -> None:
    """On an allowed host, a closed port, a port answering 404 and a port answering something
    else than a discovery document get the same words."""
    allowed, internal = issuers
    closed = socket_nobody_listens_on()
    bodies = {
        connect(admin, tenant, issuer).json()["detail"]
        for issuer in (
            f"http://127.0.0.1:{closed}",
            f"{allowed.base_url}/nothing-here",
            f"http://127.0.0.2:{internal.port}",
            f"http://127.0.0.2:{closed}",
        )
    }
    assert bodies == {UNREACHABLE}


def socket_nobody_listens_on() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed when the block ends: nobody listens


def test_a_redirect_to_an_internal_address_is_not_followed(
    admin: httpx.Client, tenant: Tenant, issuers: tuple[FakeIssuers, FakeIssuers]
) -> None:
    allowed, internal = issuers
    name = f"bounce-{secrets.token_hex(3)}"
    allowed.redirects[name] = f"http://127.0.0.2:{internal.port}{DISCOVERY}"
    answer = connect(admin, tenant, f"{allowed.base_url}/{name}")
    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"] == UNREACHABLE
    assert internal.paths == []


@pytest.mark.parametrize(
    "endpoints",
    [
        {"jwks_uri": "http://127.0.0.2:{port}/jwks"},
        {"jwks_uri": "https://127.0.0.2:{port}/jwks"},
        {"jwks_uri": "http://jwks.example.com/keys"},  # plain http to a host not allowed
        {"jwks_uri": "https://169.254.169.254/latest/meta-data/"},
        {"token_endpoint": "http://127.0.0.2:{port}/token"},
        {"token_endpoint": "https://100.100.100.200/token"},
        {"token_endpoint": "https://[::1]/token"},
        {"token_endpoint": "https://user@idp.example.com/token"},
        {"authorization_endpoint": "http://idp.example.com/auth"},
    ],
)
def test_discovered_endpoints_must_be_https_urls_of_public_addresses(
    admin: httpx.Client,
    tenant: Tenant,
    issuers: tuple[FakeIssuers, FakeIssuers],
    endpoints: dict[str, str],
) -> None:
    """The JWKS is read and the client secret posted at sign-in, from what discovery names:
    refused when the connection is made, and again at each fetch."""
    allowed, internal = issuers
    named = {key: value.format(port=internal.port) for key, value in endpoints.items()}
    issuer = allowed.issuer(f"evil-{secrets.token_hex(3)}", **named)
    answer = connect(admin, tenant, issuer)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "discovery_failed"
    (field,) = endpoints
    assert f"`{field}` is refused" in answer.json()["detail"]
    assert internal.paths == []


def ask(
    gateway: GatewayProcess, tenant: Tenant, model: str, *urls: str, stream: bool = False
) -> httpx.Response:
    marker = secrets.token_hex(6)
    parts: list[dict[str, Any]] = [{"type": "text", "text": f"what is this {marker}"}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in urls]
    return httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {tenant.key}"},
        json={
            "model": model,
            "stream": stream,
            "messages": [{"role": "user", "content": parts}],
        },
        timeout=60,
    )


def sent_upstream(gemini: FakeGemini, answer: httpx.Response, text: str) -> list[bytes]:
    """The inline images of the one upstream request whose text is `text`."""
    found = [
        r
        for r in gemini.requests
        if r.path.endswith("generateContent") and text in str(r.json.get("contents"))
    ]
    assert len(found) == 1, answer.text
    return [
        base64.b64decode(part["inlineData"]["data"])
        for part in found[0].json["contents"][0]["parts"]
        if "inlineData" in part
    ]


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
def test_a_million_byte_image_reaches_gemini_whole(
    gateway: GatewayProcess,
    tenant: Tenant,
    images: tuple[ImageHost, ImageHost],
    gemini_upstream: FakeGemini,
    declared: bool,
) -> None:
    allowed, _ = images
    name = f"big-{secrets.token_hex(4)}"
    allowed.images[name] = os.urandom(1_000_000)
    answer = ask(gateway, tenant, "gemini-2.5-flash", allowed.url(name, declared=declared))
    assert answer.status_code == 200, answer.text
    text = answer.json()["choices"][0]["message"]["content"]
    assert text.startswith("Echo: what is this")
    marker = text.removeprefix("Echo: ").split(" [image]")[0]
    assert sent_upstream(gemini_upstream, answer, marker) == [allowed.images[name]]


def refused(answer: httpx.Response, words: str) -> None:
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error", answer.text
    assert words in error["message"], answer.text


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
def test_an_image_over_its_cap_is_a_400(
    gateway: GatewayProcess, tenant: Tenant, images: tuple[ImageHost, ImageHost], declared: bool
) -> None:
    allowed, _ = images
    name = f"huge-{secrets.token_hex(4)}"
    allowed.images[name] = os.urandom(20 * MiB + 1)
    answer = ask(gateway, tenant, "gemini-2.5-flash", allowed.url(name, declared=declared))
    refused(answer, f"is larger than {20 * MiB} bytes")


def test_images_over_the_request_s_total_are_a_400(
    gateway: GatewayProcess, tenant: Tenant, images: tuple[ImageHost, ImageHost]
) -> None:
    allowed, _ = images
    name = f"half-{secrets.token_hex(4)}"
    allowed.images[name] = os.urandom(11 * MiB)
    urls = [allowed.url(name) + "?1", allowed.url(name) + "?2"]
    refused(ask(gateway, tenant, "gemini-2.5-flash", *urls), "together")


@pytest.mark.parametrize(("count", "stream"), [(17, False), (17, True), (1000, False)])
def test_too_many_image_urls_are_a_400_before_any_download(
    gateway: GatewayProcess,
    tenant: Tenant,
    images: tuple[ImageHost, ImageHost],
    count: int,
    stream: bool,
) -> None:
    allowed, _ = images
    name = f"many-{secrets.token_hex(4)}"
    allowed.images[name] = b"\x89PNG"
    urls = [f"{allowed.url(name)}?{n}" for n in range(count)]
    answer = ask(gateway, tenant, "gemini-2.5-flash", *urls, stream=stream)
    refused(answer, f"at most 16 image URLs; this one names {count}")
    assert [path for path in allowed.paths if name in path] == []


def test_internal_image_urls_are_refused_without_a_connection(
    gateway: GatewayProcess, tenant: Tenant, images: tuple[ImageHost, ImageHost]
) -> None:
    _, internal = images
    internal.images["secret"] = b"\x89PNG internal"
    for url in (
        "http://100.64.0.1/latest/meta-data.png",
        "http://100.100.100.200/latest/meta-data",  # a metadata service in shared space
        "http://1681915905/x.png",  # 100.64.0.1 as one number
        "http://[::ffff:100.64.0.1]/x.png",
        "http://169.254.169.254/latest/meta-data/",
        internal.url("secret"),
        f"http://[::ffff:127.0.0.2]:{internal.port}/declared/secret",
        f"http://good.example.com@127.0.0.2:{internal.port}/declared/secret",
    ):
        refused(ask(gateway, tenant, "gemini-guarded-flash", url), "is refused")
    assert internal.paths == []


def test_an_image_redirect_is_followed_only_to_an_address_the_guard_accepts(
    gateway: GatewayProcess, tenant: Tenant, images: tuple[ImageHost, ImageHost]
) -> None:
    allowed, internal = images
    name = f"moved-{secrets.token_hex(4)}"
    allowed.images[name] = internal.images[name] = b"\x89PNG moved"
    inside = f"{allowed.base_url}/to/{internal.url(name)}"
    refused(ask(gateway, tenant, "gemini-guarded-flash", inside), "is refused")
    assert internal.paths == []
    here = f"{allowed.base_url}/to/{allowed.url(name)}"
    assert ask(gateway, tenant, "gemini-guarded-flash", here).status_code == 200
