"""What the Gemini wire tests share: a request translated, one refused, and a stream translator."""

from __future__ import annotations

from typing import Any

import pytest

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.gemini_wire import (
    StreamTranslator,
    chat_request,
)

USER = {"role": "user", "content": "hi"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
PNG = "data:image/png;base64,iVBORw0KGgo="


def request(**body: Any) -> dict[str, Any]:
    body.setdefault("messages", [USER])
    return chat_request(body, fetched_images={})


def invalid(body: dict[str, Any], **fetched: tuple[str, str]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        chat_request(body, fetched_images=fetched)
    return caught.value


# --- StreamTranslator ------------------------------------------------------------------------


def translator(*, include_usage: bool = True) -> StreamTranslator:
    return StreamTranslator(
        model="gemini-2.5-flash",
        created=1700000000,
        completion_id="chatcmpl-s",
        include_usage=include_usage,
    )


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [choice["delta"] for chunk in chunks for choice in chunk["choices"]]
