"""Embeddings from a model a configured provider serves (`cache.semantic.embeddings:
<provider>/<model>`): its OpenAI-shaped `/embeddings`, called by the gateway itself (the
gateway's own cost, billed to no tenant), the vector normalised here."""

from __future__ import annotations

import asyncio
import math
import struct
from typing import Any

import aiohttp

TIMEOUT_SECONDS = 5.0


class ProviderEmbedder:
    def __init__(self, base_url: str, api_key: str | None, model: str) -> None:
        self.name = model
        self._url = base_url.rstrip("/") + "/embeddings"
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._model = model
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}

    def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
            session = self._sessions[loop] = aiohttp.ClientSession(timeout=timeout)
        return session

    async def embed(self, text: str) -> bytes:
        body = {"model": self._model, "input": text, "encoding_format": "float"}
        async with self._session().post(self._url, json=body, headers=self._headers) as answer:
            answer.raise_for_status()
            found: Any = await answer.json()
        values = found["data"][0]["embedding"]
        if not isinstance(values, list) or not values:
            raise ValueError("the provider's embedding is not a list of numbers")
        size = math.sqrt(sum(float(value) * float(value) for value in values)) or 1.0
        return struct.pack(f"<{len(values)}f", *(float(value) / size for value in values))

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()
