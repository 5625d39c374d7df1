"""Request bodies to validated structs, every failure a 400 naming the parameter."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from domains.providers.passed_body import PassedBody
from interfaces.http.errors import ApiError

T = TypeVar("T")

_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_MISSING = re.compile(r"Object missing required field `([^`]+)`$")
_decoder = msgspec.json.Decoder()
TOO_DEEP = "The request body is nested too deeply."


def decode_body(body: bytes, schema: type[T]) -> tuple[dict[str, Any], T]:
    """The raw object (to pass through: a `PassedBody`, which keeps the bytes it was decoded
    from, so a body for an upstream of its own dialect goes up as the client sent it) and its
    validated view."""
    if not body:
        raise ApiError(400, "The request body is empty; send a JSON object.", code="invalid_json")
    try:
        raw = _decoder.decode(body)
    except msgspec.DecodeError as error:
        raise ApiError(
            400, f"The request body is not valid JSON: {error}.", code="invalid_json"
        ) from None
    except RecursionError:
        raise ApiError(400, TOO_DEEP, code="invalid_json") from None
    if not isinstance(raw, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    view = validated(raw, schema)
    return PassedBody(raw, body), view


def validated(raw: dict[str, Any], schema: type[T]) -> T:
    """The validated view of a decoded object; a failure is a 400 naming the parameter."""
    try:
        return msgspec.convert(raw, schema)
    except msgspec.ValidationError as error:
        text = str(error)
        match = _PATH.search(text)
        param = match.group(1) if match and match.group(1) else None
        message = _PATH.sub("", text)
        missing = _MISSING.match(message)
        if missing:  # name the missing field itself, not the object that lacks it
            param = f"{param}.{missing.group(1)}" if param else missing.group(1)
            message = f"Missing required parameter: `{param}`"
        elif param:
            message = f"Invalid value for `{param}`: {message}"
        raise ApiError(400, message, code="invalid_value", param=param) from None
