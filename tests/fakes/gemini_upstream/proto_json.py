"""Proto-JSON parsing as Google's front end does it: camelCase or snake_case names, enum names,
base64 bytes, and its error messages for every field it refuses."""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from typing import Any, Final

from tests.fakes.gemini_upstream.errors import invalid_argument
from tests.fakes.gemini_upstream.models import TYPE_PREFIX, encode
from tests.fakes.gemini_upstream.schema import (
    CASE_INSENSITIVE_ENUMS,
    ENUMS,
    MESSAGES,
    SCALAR_TYPE_NAMES,
)


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", r"_\1", name).lower()


# Proto-JSON parsers accept the lowerCamelCase JSON name and the original snake_case name.
_ALIASES: Final[dict[str, dict[str, str]]] = {
    message: {alias: name for name in fields for alias in (name, _snake(name))}
    for message, fields in MESSAGES.items()
}

_MISSING: Final = object()

# Part.data is a oneof: exactly one of these per part.
DATA_FIELDS: Final = (
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "toolCall",
    "toolResponse",
)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _repr_value(value: object) -> str:
    text = encode(value).decode()
    return text if len(text) <= 80 else text[:77] + "..."


class ProtoJson:
    """Parses a JSON request into camelCase dicts, collecting Google-style violations."""

    def __init__(self) -> None:
        self.violations: list[tuple[str, str]] = []  # (field path, description)

    def parse(self, body: object, message: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid_argument(
                'Invalid JSON payload received. Unknown name "": Root element must be a message.'
            )
        parsed = self.message(body, message, "")
        if self.violations:
            raise invalid_argument(
                "\n".join(d for _, d in self.violations),
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [
                            {"field": f, "description": d} if f else {"description": d}
                            for f, d in self.violations
                        ],
                    }
                ],
            )
        return parsed or {}

    def _bad_value(self, path: str, type_name: str, value: object) -> object:
        self.violations.append(
            (path, f"Invalid value at '{path}' ({type_name}), {_repr_value(value)}")
        )
        return _MISSING

    def message(self, value: object, message: str, path: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self._bad_value(path, TYPE_PREFIX + message, value)
            return None
        fields, aliases = MESSAGES[message], _ALIASES[message]
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = aliases.get(key)
            if name is None:
                where = f" at '{path}'" if path else ""
                self.violations.append(
                    (
                        path,
                        f'Invalid JSON payload received. Unknown name "{key}"{where}: '
                        "Cannot find field.",
                    )
                )
                continue
            if item is None:  # null means "not set" in proto JSON
                continue
            parsed = self.field(item, fields[name], _join(path, _snake(name)))
            if parsed is not _MISSING:
                out[name] = parsed
        return out

    def field(self, value: object, type_: str, path: str) -> object:
        if type_.endswith("[]"):
            # Google's front end also accepts a single value for a repeated field.
            items = value if isinstance(value, list) else [value]
            out = []
            for i, item in enumerate(items):
                parsed = self.single(item, type_[:-2], f"{path}[{i}]")
                if parsed is not _MISSING:
                    out.append(parsed)
            return out
        if type_.startswith("map<"):
            if not isinstance(value, dict):
                return self._bad_value(path, "map", value)
            mapped = {}
            for i, (key, item) in enumerate(value.items()):
                parsed = self.single(item, type_[4:-1], f"{path}[{i}].value")
                if parsed is not _MISSING:
                    mapped[key] = parsed
            return mapped
        return self.single(value, type_, path)

    def single(self, value: object, type_: str, path: str) -> object:
        if type_ == "value":
            return value
        if type_ == "struct":
            if not isinstance(value, dict):
                return self._bad_value(path, "type.googleapis.com/google.protobuf.Struct", value)
            return value
        if type_.startswith("enum:"):
            return self._enum(value, type_[5:], path)
        if type_ in SCALAR_TYPE_NAMES:
            return self._scalar(value, type_, path)
        parsed = self.message(value, type_, path)
        return _MISSING if parsed is None else parsed

    def _enum(self, value: object, enum: str, path: str) -> object:
        names = ENUMS[enum]
        if type(value) is int and 0 <= value < len(names):
            return names[value]
        if isinstance(value, str):
            candidate = value.upper() if enum in CASE_INSENSITIVE_ENUMS else value
            if candidate in names:
                return candidate
        return self._bad_value(path, TYPE_PREFIX + enum, value)

    def _scalar(self, value: object, type_: str, path: str) -> object:
        type_name = SCALAR_TYPE_NAMES[type_]
        if type_ == "string":
            return value if isinstance(value, str) else self._bad_value(path, type_name, value)
        if type_ == "bool":
            return value if isinstance(value, bool) else self._bad_value(path, type_name, value)
        if type_ == "bytes":
            if isinstance(value, str) and b64decode(value) is not None:
                return value
            if isinstance(value, str):
                self.violations.append(
                    (
                        path,
                        f"Invalid value at '{path}' ({type_name}), "
                        f'Base64 decoding failed for "{value[:40]}"',
                    )
                )
                return _MISSING
            return self._bad_value(path, type_name, value)
        if isinstance(value, bool):
            return self._bad_value(path, type_name, value)
        if type_ in ("int32", "int64"):
            # Proto JSON accepts integral numbers and decimal strings (int64 is a string).
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if type(value) is int:
                return value
            if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
                return int(value)
            return self._bad_value(path, type_name, value)
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return float(value)
        return self._bad_value(path, type_name, value)


def b64decode(value: str) -> bytes | None:
    """Standard or URL-safe base64, padding optional (Google accepts both)."""
    text = value.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
