"""Stands in for a provider kind whose adapter this version does not have yet."""

from __future__ import annotations

from typing import Any, NoReturn

from domains.providers.errors import UpstreamError


class UnsupportedAdapter:
    def __init__(self, provider: str, kind: str) -> None:
        self._message = (
            f"The provider `{provider}` is of kind `{kind}`, which this version of FluxRouter "
            "cannot call yet."
        )

    def _refuse(self) -> NoReturn:
        raise UpstreamError(501, self._message, error_type="server_error", code="not_implemented")

    async def chat(self, body: dict[str, Any], upstream_model: str) -> Any:
        self._refuse()

    async def open_chat_stream(
        self, body: dict[str, Any], upstream_model: str, *, include_usage: bool
    ) -> Any:
        self._refuse()

    async def embeddings(self, body: dict[str, Any], upstream_model: str) -> Any:
        self._refuse()

    async def close(self) -> None:
        return None
