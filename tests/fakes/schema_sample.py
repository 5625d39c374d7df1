"""A value that a JSON Schema (or Gemini's OpenAPI-style Schema, with upper-case types) accepts,
built from the text of the conversation: how the fake upstreams answer a forced tool or a
response schema, as a real model does. Strings are the text, numbers its word count."""

from __future__ import annotations

from typing import Any

_FORMATS = {
    "date-time": "2026-01-02T03:04:05Z",
    "date": "2026-01-02",
    "time": "03:04:05",
    "email": "someone@example.com",
    "uri": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def sample(schema: Any, text: str) -> Any:
    root = schema if isinstance(schema, dict) else {}
    return _Sampler(root, text).value(root, 0)


class _Sampler:
    def __init__(self, root: dict[str, Any], text: str) -> None:
        self.defs = {
            f"#/{key}/{name}": value
            for key in ("$defs", "definitions")
            for name, value in (root.get(key) or {}).items()
        }
        self.text = text

    def value(self, schema: Any, depth: int) -> Any:
        if not isinstance(schema, dict) or depth > 32:
            return self.text
        if "$ref" in schema:
            return self.value(self.defs.get(schema["$ref"]), depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            options = [v for v in schema.get(key) or [] if isinstance(v, dict)]
            variants = [v for v in options if str(v.get("type")).lower() != "null"]
            if options:
                return self.value((variants or options)[0], depth + 1)
        merged = dict(schema)
        for part in schema.get("allOf") or []:
            resolved = self.defs.get(part.get("$ref"), part) if isinstance(part, dict) else {}
            merged.setdefault("properties", {})
            merged["properties"] = {**merged["properties"], **(resolved.get("properties") or {})}
            merged.setdefault("type", resolved.get("type"))
        kind = merged.get("type")
        kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
        kind = str(kind).lower() if kind is not None else None
        if kind == "object" or (kind is None and "properties" in merged):
            return self.object(merged, depth)
        if kind == "array":
            count = max(int(merged.get("minItems") or 0), 1)
            return [self.value(merged.get("items"), depth + 1) for _ in range(count)]
        if kind == "integer":
            return len(self.text.split())
        if kind == "number":
            return len(self.text.split()) + 0.5
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return _FORMATS.get(merged.get("format"), self.text)

    def object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        if not properties:  # a free-form object: the fakes' usual answer
            return {"query": self.text}
        return {name: self.value(value, depth + 1) for name, value in properties.items()}
