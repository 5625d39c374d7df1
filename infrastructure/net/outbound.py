"""The one guard for every URL the gateway fetches (an OIDC issuer's discovery document, its
keys and token endpoint; the images a Gemini request names).

A URL must be http(s), without credentials, query-less where asked; https unless its host is
on the operator's allow list (`outbound.allow`). Its host is resolved once, every address is
checked (internal ranges are refused unless allowed, see `addresses`), and the connection goes
to an address so checked: the aiohttp connector's resolver is the check itself, so no second
lookup can answer differently (DNS rebinding). A redirect is followed only when asked, and its
target passes the same checks. Refusals carry a short reason for the caller and a detail for
the operator's debug log; neither carries a secret.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from infrastructure.net.addresses import IPAddress, canonical, internal, literal

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""A host and port to the addresses it resolves to (tests inject their own)."""

REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CONTROL = re.compile(r"[\x00-\x20\x7f\\]")


class OutboundRefused(Exception):
    """The guard refused a URL or every address of its host. `reason` is one of `bad_url`,
    `not_https`, `internal_address`, `unresolved`; `detail` is for the operator's log."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class ResponseTooLarge(Exception):
    """An answer passed the size it may have."""


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    address: IPAddress | None
    """The address the host names literally, if it does."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class OutboundPolicy:
    """Which URLs and addresses the gateway may fetch from."""

    def __init__(
        self,
        allow: Iterable[str] = (),
        *,
        resolver: Resolver | None = None,
        internal_allowed: bool = False,
    ) -> None:
        """`allow`: addresses, networks and host names fetched from although internal, and
        over plain http; `internal_allowed`: every address is (an operator's choice for one
        provider's images, `allow_internal_image_urls`)."""
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.hosts: set[str] = set()
        for entry in allow:
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.lower().removesuffix("."))
        self.resolver = resolver or system_resolver
        self.internal_allowed = internal_allowed

    def widened(self, *, internal_allowed: bool) -> OutboundPolicy:
        """This policy, with every internal address allowed when `internal_allowed`."""
        if not internal_allowed:
            return self
        wide = OutboundPolicy(resolver=self.resolver, internal_allowed=True)
        wide.networks, wide.hosts = self.networks, self.hosts
        return wide

    def allowed_address(self, address: IPAddress) -> bool:
        address = canonical(address)
        return any(address in network for network in self.networks)

    def acceptable(self, address: IPAddress) -> bool:
        return self.internal_allowed or not internal(address) or self.allowed_address(address)

    def _allowed_host(self, host: str, address: IPAddress | None) -> bool:
        if address is not None:
            return self.allowed_address(address)
        return host.removesuffix(".") in self.hosts

    def target(self, url: str, *, https_only: bool, bare: bool = False) -> Target:
        """`url` parsed and checked without a lookup: http(s), a host, no credentials; https
        when `https_only` (plain http only to an allowed host); no query or fragment at all
        when `bare` (an empty `?` or `#` included); a literal address acceptable."""
        if _CONTROL.search(url):
            raise OutboundRefused("bad_url", "the URL holds spaces, control characters or \\")
        try:
            parts = urlsplit(url)
            port = parts.port
            host = parts.hostname or ""
        except ValueError:
            raise OutboundRefused("bad_url", "the URL cannot be parsed") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not host:
            raise OutboundRefused("bad_url", "the URL is not http(s) with a host")
        if "@" in parts.netloc:
            raise OutboundRefused("bad_url", "the URL carries credentials")
        if bare and ("?" in url or "#" in url):
            raise OutboundRefused("bad_url", "the URL has a query or fragment")
        try:
            address = literal(host)
            if address is None:
                host = host.encode("idna").decode("ascii")
        except (UnicodeError, ValueError):
            raise OutboundRefused("bad_url", "the URL's host is not a valid name") from None
        allowed = self._allowed_host(host, address)
        if https_only and scheme != "https" and not allowed:
            raise OutboundRefused("not_https", f"{scheme} URL of a host not allowed")
        if address is not None and not (allowed or self.acceptable(address)):
            raise OutboundRefused("internal_address", f"{address} is internal")
        return Target(url, scheme, host, port or (443 if scheme == "https" else 80), address)

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to for `host`: looked up once, each one checked; refused
        when any of them is internal (and neither it nor the host is allowed)."""
        try:
            address = literal(host)
        except ValueError:
            raise OutboundRefused("bad_url", "the host is not a valid name") from None
        if address is not None:
            found = [address]
        else:
            try:
                answers = await self.resolver(host.removesuffix("."), port)
                found = [ipaddress.ip_address(a.split("%", maxsplit=1)[0]) for a in answers]
            except (OSError, UnicodeError, ValueError) as error:
                raise OutboundRefused("unresolved", f"lookup failed ({error})") from None
            if not found:
                raise OutboundRefused("unresolved", "no address")
        if self._allowed_host(host, address):
            return found
        refused = [str(a) for a in found if not self.acceptable(a)]
        if refused:
            raise OutboundRefused("internal_address", f"{', '.join(refused)} internal")
        return found

    async def check(self, url: str, *, https_only: bool, bare: bool = False) -> Target:
        """`target`, and the lookup of its host with every address checked."""
        target = self.target(url, https_only=https_only, bare=bare)
        await self.addresses(target.host, target.port)
        return target


class _CheckedResolver(AbstractResolver):
    """aiohttp's resolver: the policy's one lookup, and only addresses it accepts."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._policy.addresses(host, port)
        return [
            {
                "hostname": host,
                "host": str(address),
                "port": port,
                "family": socket.AF_INET if address.version == 4 else socket.AF_INET6,
                "proto": socket.IPPROTO_TCP,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in found
        ]

    async def close(self) -> None:
        return None


class OutboundHttp:
    """A pooled aiohttp session whose every connection goes to an address the policy checked;
    created lazily inside the running event loop."""

    def __init__(
        self, policy: OutboundPolicy, *, timeout: aiohttp.ClientTimeout, max_connections: int = 100
    ) -> None:
        self.policy = policy
        self._timeout = timeout
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=_CheckedResolver(self.policy),
                use_dns_cache=False,  # every connection is looked up and checked anew
                limit=self._max_connections,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,  # no proxy from the environment: the checked address is the peer
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @asynccontextmanager
    async def request(
        self,
        method: str,
        url: str,
        *,
        https_only: bool,
        bare: bool = False,
        redirects: int = 0,
        **options: Any,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The answer to `method url`, each hop checked; up to `redirects` redirects followed
        (GET only), each target passing the same checks. A redirect past the last is given
        to the caller as it came. Raises OutboundRefused, aiohttp.ClientError, TimeoutError."""
        for hop in range(redirects + 1):
            self.policy.target(url, https_only=https_only, bare=bare and hop == 0)
            async with self.session.request(
                method, url, allow_redirects=False, **options
            ) as response:
                location = response.headers.get("Location")
                if (
                    response.status in REDIRECTS
                    and location
                    and hop < redirects
                    and method == "GET"
                ):
                    url = urljoin(url, location)
                    continue
                yield response
                return


async def read_capped(
    response: aiohttp.ClientResponse, limit: int, take: Callable[[int], None] | None = None
) -> bytes:
    """The whole body, refused (ResponseTooLarge) past `limit` bytes; `take` is told the size
    of each piece as it arrives (a budget shared by several reads may refuse it too)."""
    length = response.content_length
    if length is not None and length > limit:
        raise ResponseTooLarge(f"{length} bytes announced")
    pieces: list[bytes] = []
    size = 0
    async for piece in response.content.iter_chunked(64 * 1024):
        size += len(piece)
        if size > limit:
            raise ResponseTooLarge(f"more than {limit} bytes")
        if take is not None:
            take(len(piece))
        pieces.append(piece)
    return b"".join(pieces)
