"""One POST of a signed alert through the outbound guard (https, or http to a host on
`outbound.allow`; internal addresses refused unless allowed). What came back, or why nothing
did, never the URL (it may hold a token) nor the secret."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from infrastructure.net.outbound import OutboundHttp, OutboundPolicy, OutboundRefused


@dataclass(frozen=True, slots=True)
class Answer:
    status: int | None
    """None: no answer (refused, unreachable, timed out)."""
    error: str | None


class WebhookSender:
    def __init__(self, policy: OutboundPolicy, *, timeout: float) -> None:
        self._policy = policy
        self._timeout = timeout

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        """Synchronous, for a Dramatiq actor: its own event loop and session for the call."""
        return asyncio.run(self._post(url, body, headers))

    async def _post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        http = OutboundHttp(
            self._policy, timeout=aiohttp.ClientTimeout(total=self._timeout), max_connections=1
        )
        try:
            async with http.request(
                "POST", url, https_only=True, data=body, headers=dict(headers)
            ) as response:
                await response.read()
                error = None if 200 <= response.status < 300 else f"HTTP {response.status}"
                return Answer(response.status, error)
        except OutboundRefused as refused:
            return Answer(None, f"refused by the outbound guard: {refused.reason}")
        except TimeoutError:
            return Answer(None, "timed out")
        except aiohttp.ClientError as error:
            return Answer(None, f"connection failed ({type(error).__name__})")
        finally:
            await http.close()
