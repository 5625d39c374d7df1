"""What the Responses front door's tests share: Responses bodies and items built, translated or
refused."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from domains.providers.errors import InvalidRequest
from interfaces.http.responses.translate_request import responses_to_chat

PNG_URL = "data:image/png;base64," + base64.b64encode(b"\x89PNG fake").decode()
PDF_DATA = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4 fake").decode()
WEATHER = {
    "type": "function",
    "name": "weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": True,
}


def body(input_: Any = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-x", "input": input_, **extra}


def message(role: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": content, **extra}


def input_text(text: str) -> dict[str, Any]:
    return {"type": "input_text", "text": text}


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": []}


def function_call(
    call_id: str, name: str = "weather", arguments: str = '{"city":"Paris"}'
) -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}


def call_output(call_id: str, output: Any) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def chat_call(
    call_id: str, name: str = "weather", arguments: str = '{"city":"Paris"}'
) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def refused(request: Any, **options: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        responses_to_chat(request, **options)
    return caught.value
