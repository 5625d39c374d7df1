"""Downloading the images a Gemini request names by URL (Gemini takes image bytes inline),
through the outbound guard: only public addresses unless the operator allows more, the
checked address the one connected to, redirects followed only to addresses that pass too.

A request may name at most `max_per_request` image URLs; each image is read to its end and
refused past `max_bytes`, the request's images together past `max_total_bytes`; a request
downloads `concurrent_per_request` at a time, the process `concurrent` at a time. Every
refusal is the client's 400 and names the URL it gave, never what the gateway found behind it.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
import structlog

from domains.providers.errors import InvalidRequest
from infrastructure.net.outbound import (
    OutboundHttp,
    OutboundRefused,
    ResponseTooLarge,
    read_capped,
)

REDIRECTS = 3
T = TypeVar("T")
log = structlog.get_logger("fluxrouter.outbound")


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_total_bytes: int = 20 * 1024 * 1024
    max_per_request: int = 16
    concurrent_per_request: int = 4
    concurrent: int = 16


class _Budget:
    """The bytes a request's images may still take."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.total = total

    def take(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise InvalidRequest(
                f"The images of this request are larger than {self.total} bytes together.",
                param="messages",
            )


class ImageFetcher:
    def __init__(
        self,
        outbound: OutboundHttp,
        limits: ImageLimits,
        slots: asyncio.Semaphore | None = None,
    ) -> None:
        """`slots`: the process's downloads at once, shared by every provider's fetcher."""
        self._outbound = outbound
        self._limits = limits
        self._slots = slots or asyncio.Semaphore(limits.concurrent)

    async def close(self) -> None:
        await self._outbound.close()

    async def fetch_all(self, urls: list[str]) -> dict[str, tuple[str, str]]:
        """Each distinct URL's (media type, base64 bytes)."""
        if not urls:
            return {}
        limits = self._limits
        if len(urls) > limits.max_per_request:
            raise InvalidRequest(
                f"A request may name at most {limits.max_per_request} image URLs; this one "
                f"names {len(urls)}. Send the others as data URLs or in another request.",
                param="messages",
            )
        budget = _Budget(limits.max_total_bytes)
        turns = asyncio.Semaphore(limits.concurrent_per_request)
        fetched = await _all_or_nothing(
            [self._fetch(url, budget, turns) for url in dict.fromkeys(urls)]
        )
        return dict(fetched)

    async def _fetch(
        self, url: str, budget: _Budget, turns: asyncio.Semaphore
    ) -> tuple[str, tuple[str, str]]:
        shown = url[:200]
        async with turns, self._slots:
            try:
                async with self._outbound.request(
                    "GET", url, https_only=False, redirects=REDIRECTS
                ) as response:
                    mime = response.headers.get("Content-Type", "").split(";")[0].strip()
                    if response.status != 200 or not mime.startswith("image/"):
                        raise InvalidRequest(
                            f"The image at {shown} could not be fetched as an image "
                            f"(HTTP {response.status}, {mime or 'no content type'}).",
                            param="messages",
                        )
                    data = await read_capped(response, self._limits.max_bytes, budget.take)
            except OutboundRefused as refused:
                log.debug("image_url_refused", reason=refused.reason, detail=refused.detail)
                raise InvalidRequest(
                    f"The image URL {shown} is refused: the gateway fetches images only over "
                    "http(s), from public addresses, without credentials in the URL.",
                    param="messages",
                ) from None
            except ResponseTooLarge:
                raise InvalidRequest(
                    f"The image at {shown} is larger than {self._limits.max_bytes} bytes.",
                    param="messages",
                ) from None
            except (aiohttp.ClientError, TimeoutError) as error:
                log.debug("image_url_unreachable", error=type(error).__name__)
                raise InvalidRequest(
                    f"The image at {shown} could not be fetched.", param="messages"
                ) from None
        return url, (mime, base64.b64encode(data).decode())


async def _all_or_nothing(steps: list[Awaitable[T]]) -> list[T]:
    """Every step's result; the first failure cancels the others and is raised."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
