"""JSON Schema → the OpenAPI 3.0 subset Gemini understands (pure); unsupported schemas raise
`InvalidRequest` naming the offending parameter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.gemini_values import is_number

MAX_SCHEMA_DEPTH = 48
MAX_SCHEMA_NODES = 5000
_FORMATS: dict[Any, tuple[str, ...]] = {
    "STRING": ("enum", "date-time"),
    "INTEGER": ("int32", "int64"),
    "NUMBER": ("float", "double"),
}
_TYPES = {
    "string": "STRING",
    "integer": "INTEGER",
    "number": "NUMBER",
    "boolean": "BOOLEAN",
    "array": "ARRAY",
    "object": "OBJECT",
}
_PLAIN_KEYS = ("minItems", "maxItems", "minimum", "maximum")


class _SchemaConverter:
    """Keeps type/properties/required/items/enum/description/nullable/format (where Gemini
    accepts it)/anyOf/min-max; inlines local `$ref`s; drops the rest."""

    def __init__(self, root: Mapping[str, Any], param: str) -> None:
        self.param = param
        defs: dict[str, Any] = {}
        for key in ("$defs", "definitions"):
            found = root.get(key)
            if isinstance(found, Mapping):
                defs.update({f"#/{key}/{name}": value for name, value in found.items()})
        self.defs = defs
        self.budget = MAX_SCHEMA_NODES

    def fail(self, why: str) -> InvalidRequest:
        return InvalidRequest(f"Unsupported JSON schema: {why}.", param=self.param)

    def convert(self, schema: Any, depth: int = 0, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        if depth > MAX_SCHEMA_DEPTH:
            raise self.fail("nested too deeply")
        if isinstance(schema, bool):
            return {}
        if not isinstance(schema, Mapping):
            raise self.fail("a schema must be an object")
        ref = schema.get("$ref")
        if ref is not None:
            if not isinstance(ref, str) or ref not in self.defs:
                raise self.fail(f"unresolvable `$ref` {str(ref)[:80]}")
            if ref in seen:
                raise self.fail(f"recursive `$ref` {ref[:80]}")
            return self.convert(self.defs[ref], depth + 1, (*seen, ref))
        self.budget -= 1
        if self.budget < 0:
            raise self.fail("too large")
        out: dict[str, Any] = {}
        all_of = schema.get("allOf")
        for part in all_of if isinstance(all_of, list) else ():
            merged = self.convert(part, depth + 1, seen)
            out.update({k: v for k, v in merged.items() if k not in ("properties", "required")})
            out.setdefault("properties", {}).update(merged.get("properties", {}))
            out.setdefault("required", []).extend(merged.get("required", []))
        self._type(schema.get("type"), out)
        description = schema.get("description")
        if isinstance(description, str) and description:
            out["description"] = description
        if schema.get("nullable") is True:
            out["nullable"] = True
        self._enum(schema, out)
        kind = out.get("type")
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS.get(kind, ()):
            out["format"] = fmt
        self._object(schema, out, depth, seen)
        items = schema.get("items")
        if isinstance(items, list):
            out["items"] = {"anyOf": [self.convert(item, depth + 1, seen) for item in items]}
        elif items is not None:
            out["items"] = self.convert(items, depth + 1, seen)
        variants = schema.get("anyOf", schema.get("oneOf"))
        if isinstance(variants, list) and variants:
            self._any_of([self.convert(v, depth + 1, seen) for v in variants], out)
        for key in _PLAIN_KEYS:
            if is_number(schema.get(key)):
                out[key] = schema[key]
        if not out.get("properties"):
            out.pop("properties", None)
        if out.get("required"):
            out["required"] = list(dict.fromkeys(out["required"]))
        else:
            out.pop("required", None)
        return out

    def _type(self, raw: Any, out: dict[str, Any]) -> None:
        kinds = raw if isinstance(raw, list) else [] if raw is None else [raw]
        if not all(isinstance(k, str) and (k in _TYPES or k == "null") for k in kinds):
            raise self.fail(f"unknown `type` {str(raw)[:80]}")
        if "null" in kinds:
            out["nullable"] = True
        real = [_TYPES[k] for k in kinds if k != "null"]
        if len(real) == 1:
            out["type"] = real[0]
        elif real:
            out["anyOf"] = [{"type": k} for k in real]

    def _enum(self, schema: Mapping[str, Any], out: dict[str, Any]) -> None:
        values = [schema["const"]] if "const" in schema else schema.get("enum")
        if not isinstance(values, list):
            return
        if None in values:
            out["nullable"] = True
        kept = [value for value in values if value is not None]
        if not kept:
            return
        if out.get("type", "STRING") == "STRING" and all(isinstance(v, str) for v in kept):
            out.update(type="STRING", format="enum", enum=kept)
            return
        try:  # Gemini takes enums of strings only: other values are told in the description
            note = "Allowed values: " + ", ".join(json.dumps(value) for value in kept) + "."
        except (ValueError, TypeError, RecursionError):
            raise self.fail("`enum` values must be JSON values") from None
        out["description"] = f"{out['description']} {note}" if out.get("description") else note

    def _object(
        self, schema: Mapping[str, Any], out: dict[str, Any], depth: int, seen: tuple[str, ...]
    ) -> None:
        properties = schema.get("properties")
        if properties is None:
            return
        if not isinstance(properties, Mapping):
            raise self.fail("`properties` must be an object")
        converted = {
            str(name): self.convert(value, depth + 1, seen) for name, value in properties.items()
        }
        out.setdefault("properties", {}).update(converted)
        out.setdefault("type", "OBJECT")
        required = schema.get("required")
        if isinstance(required, list):
            out.setdefault("required", []).extend(
                name for name in required if isinstance(name, str) and name in converted
            )

    @staticmethod
    def _any_of(variants: list[dict[str, Any]], out: dict[str, Any]) -> None:
        kept = [v for v in variants if v != {"nullable": True}]
        if len(kept) < len(variants):
            out["nullable"] = True
        if len(kept) == 1:
            out.update({k: v for k, v in kept[0].items() if k not in out})
        elif kept:
            out["anyOf"] = kept


def gemini_schema(schema: Any, param: str) -> dict[str, Any]:
    """A JSON Schema, as the OpenAPI 3.0 subset Gemini understands (best effort)."""
    if not isinstance(schema, Mapping):
        raise InvalidRequest("A JSON schema must be an object.", param=param)
    return _SchemaConverter(schema, param).convert(schema)
