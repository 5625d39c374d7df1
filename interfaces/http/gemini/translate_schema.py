"""A Gemini `Schema` (the OpenAPI 3.0 subset of `responseSchema` and function `parameters`,
types in upper case) → the JSON Schema an OpenAI request carries (pure).

The opposite of `infrastructure.adapters.providers.gemini_schema`. Kept: type (`nullable` joins
`"null"` to it), format, title, description, enum, properties, required, items, anyOf, the
min/max bounds, pattern, default and example (as `examples`); `propertyOrdering` has no JSON
Schema meaning and is dropped. Only `InvalidRequest` leaves it, naming the offending field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domains.providers.errors import InvalidRequest
from interfaces.http.gemini.fields import field

MAX_DEPTH = 48
MAX_NODES = 5000
_TYPES = {
    "STRING": "string",
    "NUMBER": "number",
    "INTEGER": "integer",
    "BOOLEAN": "boolean",
    "ARRAY": "array",
    "OBJECT": "object",
    "NULL": "null",
}
_COUNTS = ("minItems", "maxItems", "minProperties", "maxProperties", "minLength", "maxLength")
_TEXTS = ("format", "title", "description", "pattern")


class _Converter:
    def __init__(self, param: str) -> None:
        self.budget = MAX_NODES
        self.root = param

    def fail(self, param: str, why: str) -> InvalidRequest:
        return InvalidRequest(f"`{param}` is not a valid schema: {why}.", param=param)

    def convert(self, schema: Any, param: str, depth: int) -> dict[str, Any]:
        self.budget -= 1
        if depth > MAX_DEPTH or self.budget < 0:
            raise self.fail(self.root, "nested too deeply or too large")
        if not isinstance(schema, Mapping):
            raise self.fail(param, "a schema must be an object")
        out: dict[str, Any] = {}
        kind = self._type(field(schema, "type"), f"{param}.type")
        nullable = field(schema, "nullable")
        if nullable is not None and not isinstance(nullable, bool):
            raise self.fail(f"{param}.nullable", "must be a boolean")
        if kind is not None:
            out["type"] = [kind, "null"] if nullable and kind != "null" else kind
        for key in _TEXTS:
            value = field(schema, key)
            if value is not None:
                if not isinstance(value, str):
                    raise self.fail(f"{param}.{key}", "must be a string")
                out[key] = value
        enum = field(schema, "enum")
        if enum is not None:
            if not isinstance(enum, list) or not all(isinstance(v, str) for v in enum):
                raise self.fail(f"{param}.enum", "must be an array of strings")
            out["enum"] = [*enum, None] if nullable else list(enum)
        self._nested(schema, param, depth, out)
        for key in _COUNTS:
            value = field(schema, key)
            if value is not None:
                out[key] = self._count(value, f"{param}.{key}")
        for key in ("minimum", "maximum"):
            value = field(schema, key)
            if value is not None:
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise self.fail(f"{param}.{key}", "must be a number")
                out[key] = value
        if (default := field(schema, "default")) is not None:
            out["default"] = default
        if (example := field(schema, "example")) is not None:
            out["examples"] = [example]
        return out

    def _nested(
        self, schema: Mapping[str, Any], param: str, depth: int, out: dict[str, Any]
    ) -> None:
        properties = field(schema, "properties")
        if properties is not None:
            if not isinstance(properties, Mapping):
                raise self.fail(f"{param}.properties", "must be an object of schemas")
            out["properties"] = {
                str(name): self.convert(value, f"{param}.properties.{name}", depth + 1)
                for name, value in properties.items()
            }
        required = field(schema, "required")
        if required is not None:
            if not isinstance(required, list) or not all(isinstance(v, str) for v in required):
                raise self.fail(f"{param}.required", "must be an array of strings")
            out["required"] = list(required)
        items = field(schema, "items")
        if items is not None:
            out["items"] = self.convert(items, f"{param}.items", depth + 1)
        any_of = field(schema, "anyOf")
        if any_of is not None:
            if not isinstance(any_of, list) or not any_of:
                raise self.fail(f"{param}.anyOf", "must be a non-empty array of schemas")
            out["anyOf"] = [
                self.convert(value, f"{param}.anyOf[{i}]", depth + 1)
                for i, value in enumerate(any_of)
            ]

    def _type(self, value: Any, param: str) -> str | None:
        if value is None:
            return None
        name = value.upper() if isinstance(value, str) else None
        if name == "TYPE_UNSPECIFIED":
            return None
        if name not in _TYPES:
            raise self.fail(param, f"the type must be one of {', '.join(_TYPES)}")
        return _TYPES[name]

    def _count(self, value: Any, param: str) -> int:
        """An int64 field: proto-JSON takes it as a number or as a string of digits."""
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(param, "must be a non-negative integer")
        return value


def json_schema(schema: Any, param: str) -> dict[str, Any]:
    """The JSON Schema saying what the Gemini `schema` at `param` says."""
    return _Converter(param).convert(schema, param, 0)
