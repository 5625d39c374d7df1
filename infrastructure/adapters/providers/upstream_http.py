"""One pooled keep-alive aiohttp session per upstream, its timeouts, and how its failures become
gateway errors: each wire reads the condition of an error answer, the one table in
`domains.providers.upstream_failures` says the rest. A refusal of the gateway's own credentials
is logged as the operator's to fix and counted, and the caller is told so, in words of the
gateway's, not the upstream's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec
import structlog

from domains.providers.errors import UpstreamError
from domains.providers.upstream_failures import Condition, credentials_refused_message
from infrastructure.adapters.providers.error_reading import ErrorReader, ErrorReading
from infrastructure.adapters.providers.openai_errors import read_openai_error

MAX_ERROR_BODY = 64 * 1024
_decoder = msgspec.json.Decoder()
log = structlog.get_logger("fluxrouter.upstream")
_SERVER_SIDE = frozenset({Condition.SERVER_ERROR, Condition.OVERLOADED, Condition.TIMEOUT})


@dataclass(frozen=True, slots=True)
class UpstreamTimeouts:
    connect: float = 5.0
    first_byte: float = 60.0
    total: float = 600.0


class UpstreamHttp:
    """Owns the session of one upstream. Created lazily inside the running event loop."""

    def __init__(
        self,
        provider: str,
        *,
        timeouts: UpstreamTimeouts,
        max_connections: int,
        redact: Callable[[str], str],
        read_error: ErrorReader = read_openai_error,
        on_credentials_refused: Callable[[str], None] | None = None,
    ) -> None:
        self.provider = provider
        self._on_credentials_refused = on_credentials_refused
        self._read_error = read_error
        self.timeouts = timeouts
        self._max_connections = max_connections
        self._redact = redact
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                keepalive_timeout=30,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=self.timeouts.total,
                    connect=self.timeouts.connect,
                    sock_connect=self.timeouts.connect,
                    sock_read=self.timeouts.first_byte,
                ),
                auto_decompress=True,
                # one session serves every caller: a cookie an upstream sets for one of them
                # must not go back with everybody's requests
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def open(self, url: str, body: bytes, headers: dict[str, str]) -> aiohttp.ClientResponse:
        """POSTs and returns a response whose status is 2xx; anything else raises UpstreamError.
        The caller releases (or closes) the response."""
        try:
            async with asyncio.timeout(self.timeouts.first_byte + self.timeouts.connect):
                response = await self.session.post(url, data=body, headers=headers)
        except TimeoutError as error:
            raise self.timed_out() from error
        except aiohttp.ClientError as error:
            raise self.unreachable(error) from error
        if response.status >= 400:
            try:
                raise await self.error_from(response)
            finally:
                response.release()
        return response

    async def get_json(self, url: str, headers: dict[str, str]) -> dict[str, Any]:
        """GETs a JSON object (listing endpoints); errors as for POST."""
        try:
            async with asyncio.timeout(self.timeouts.first_byte + self.timeouts.connect):
                response = await self.session.get(url, headers=headers)
        except TimeoutError as error:
            raise self.timed_out() from error
        except aiohttp.ClientError as error:
            raise self.unreachable(error) from error
        try:
            if response.status >= 400:
                raise await self.error_from(response)
            return self.decode_json(await self.read(response))
        finally:
            response.release()

    @asynccontextmanager
    async def post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        response = await self.open(url, body, headers)
        try:
            yield response
        finally:
            response.release()

    async def read(self, response: aiohttp.ClientResponse) -> bytes:
        """The whole body of a successful response; transport failures become UpstreamError."""
        try:
            return await response.read()
        except TimeoutError as error:
            raise self.timed_out() from error
        except aiohttp.ClientError as error:
            raise self.unreachable(error) from error

    def decode_json(self, data: bytes) -> dict[str, Any]:
        """A successful response's JSON object; anything else is the upstream's fault (502)."""
        try:
            parsed = _decoder.decode(data)
        except (msgspec.DecodeError, RecursionError):
            parsed = None
        if not isinstance(parsed, dict):
            raise UpstreamError(
                Condition.BAD_RESPONSE,
                f"The upstream provider `{self.provider}` sent a response that is not a "
                "JSON object.",
            )
        return parsed

    async def error_from(self, response: aiohttp.ClientResponse) -> UpstreamError:
        try:
            body = await response.content.read(MAX_ERROR_BODY)
        except (aiohttp.ClientError, TimeoutError):
            body = b""
        reading = self._read_error(response.status, body, response.headers)
        return self.failed(reading, upstream_status=response.status)

    def failed(self, reading: ErrorReading, *, upstream_status: int | None = None) -> UpstreamError:
        """The gateway's error for what the upstream said (an error answer, or an error event
        in a stream), its message scrubbed of anything shaped like a key."""
        message = self._redact(reading.message)
        if reading.condition is Condition.CREDENTIALS_REFUSED:
            log.error(
                "upstream.credentials_refused",
                provider=self.provider,
                upstream_status=upstream_status,
                upstream_message=message[:300],
            )
            if self._on_credentials_refused is not None:
                self._on_credentials_refused(self.provider)
            message = credentials_refused_message(self.provider, upstream_status)
        elif reading.condition in _SERVER_SIDE:
            said = f" (HTTP {upstream_status})" if upstream_status else ""
            message = f"The upstream provider `{self.provider}` failed{said}: {message}"
        return UpstreamError(
            reading.condition,
            message,
            param=reading.param,
            retry_after=reading.retry_after.strip() if reading.retry_after else None,
            upstream_status=upstream_status,
            content_refused=reading.content_refused,
        )

    def timed_out(self) -> UpstreamError:
        return UpstreamError(
            Condition.TIMEOUT, f"The upstream provider `{self.provider}` did not answer in time."
        )

    def unreachable(self, error: BaseException) -> UpstreamError:
        if isinstance(error, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
            return self.timed_out()
        return UpstreamError(
            Condition.UNREACHABLE,
            f"The upstream provider `{self.provider}` could not be reached "
            f"({type(error).__name__}).",
        )


def model_ids(items: Any, key: str, *, strip: str = "") -> list[str]:
    """The ids in a listing's items, skipping anything malformed."""
    found = []
    for item in items if isinstance(items, list) else ():
        value = item.get(key) if isinstance(item, dict) else None
        if isinstance(value, str) and value:
            found.append(value.removeprefix(strip))
    return found
