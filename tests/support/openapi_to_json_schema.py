"""OpenAI's OpenAPI document as plain JSON Schema 2020-12: what a JSON Schema validator needs
changed in it, done once when `tests.support.openai_spec` loads the document.

An OpenAPI 3.1 document's schemas are JSON Schema 2020-12, but OpenAI's still carries spellings
of OpenAPI 3.0 and of JSON Schema 2019-09 that a 2020-12 validator ignores without a word, each
making it refuse a correct answer or accept a wrong one:

- `nullable: true` (OpenAPI 3.0): the value may also be null. Ignored, a stream chunk's null
  `finish_reason` or `usage` would be refused. It becomes `"null"` among the `type`s (and
  `None` in an `enum`), or `anyOf: [the schema, {"type": "null"}]` for a schema without a `type`
  (a `$ref`, a combination). A member of an `allOf` that says nothing but `nullable: true`
  makes the whole `allOf` nullable.
- `$recursiveAnchor` / `$recursiveRef: "#"` (2019-09): a reference to the component that holds
  it. Ignored, a nested filter would match every member of its `oneOf`. It becomes a `$ref`.
- `discriminator` (OpenAPI): which member of a `oneOf` or `anyOf` an object is, told by one of
  its properties (OpenAI's never has a `mapping`: each member declares the values of the
  property it takes, in an `enum`). JSON Schema has no such keyword; where every member declares
  its values, they are recorded beside the `oneOf`/`anyOf` under `DISCRIMINATED`, for the
  validator to check an object against the one member its property names (the same verdict as
  trying them all, and an error that says what is wrong with that member).

`x-...` extensions, `example`, `deprecated` and `format` are annotations and stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

DISCRIMINATED = "x-fluxrouter-discriminated"
"""Beside a `oneOf`/`anyOf` with a `discriminator`: `{"property": name, "values": [[...], ...]}`,
the values of the property each member takes, in the members' order."""

SCHEMAS = "#/components/schemas/"
_NOT_SCHEMAS = frozenset({"example", "examples", "default", "enum", "const"})
_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_COMBINED = frozenset({"$ref", "allOf", "anyOf", "oneOf", "not", "if", "const"})
_ANNOTATIONS = frozenset({"nullable", "description", "title"})


def as_json_schema(document: dict[str, Any]) -> dict[str, Any]:
    """The document with its schemas in plain JSON Schema 2020-12 (changed in place, and
    returned)."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        _recursive_refs(schema, f"{SCHEMAS}{name}")
    converted = _nullable(document)
    _discriminators(converted, converted.get("components", {}).get("schemas", {}))
    return converted


def _recursive_refs(node: Any, component: str) -> None:
    """`$recursiveRef: "#"` in `component` as a `$ref` to it; its `$recursiveAnchor` dropped."""
    if isinstance(node, list):
        for item in node:
            _recursive_refs(item, component)
        return
    if not isinstance(node, dict):
        return
    node.pop("$recursiveAnchor", None)
    if node.get("$recursiveRef") == "#":
        del node["$recursiveRef"]
        node["$ref"] = component
    for holder, key in _slots(node):
        _recursive_refs(holder[key], component)


def _nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    members = node.get("allOf")
    if isinstance(members, list) and any(_only_nullable(m) for m in members):
        kept = [m for m in members if not _only_nullable(m)]
        if kept:
            node["allOf"] = kept
        else:
            del node["allOf"]
        node["nullable"] = True
    for holder, key in _slots(node):
        holder[key] = _nullable(holder[key])
    if not isinstance(node.get("nullable"), bool):
        return node
    if not node.pop("nullable"):
        return node
    kind = node.get("type")
    if kind is not None and not _COMBINED & node.keys():
        kinds = [kind] if isinstance(kind, str) else list(kind)
        node["type"] = kinds if "null" in kinds else [*kinds, "null"]
        if isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        return node
    return {"anyOf": [node, {"type": "null"}]}


def _slots(node: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """Where in `node` a schema (or a structure holding schemas) may be: every key but examples,
    values and extensions; in a map of named schemas (`properties`...), every name."""
    for key, value in node.items():
        if key in _MAPS and isinstance(value, dict):
            for name in value:
                yield value, name
        elif key not in _NOT_SCHEMAS and not key.startswith("x-"):
            yield node, key


def _only_nullable(member: Any) -> bool:
    return (
        isinstance(member, dict)
        and member.get("nullable") is True
        and not member.keys() - _ANNOTATIONS
    )


def _discriminators(node: Any, schemas: dict[str, Any]) -> None:
    if isinstance(node, list):
        for item in node:
            _discriminators(item, schemas)
        return
    if not isinstance(node, dict):
        return
    told = node.get("discriminator")
    prop = told.get("propertyName") if isinstance(told, dict) else None
    for keyword in ("oneOf", "anyOf"):
        members = node.get(keyword)
        if isinstance(prop, str) and isinstance(members, list):
            values = [_values_of(member, prop, schemas, set()) for member in members]
            if all(v is not None for v in values):
                node[DISCRIMINATED] = {"property": prop, "values": values}
    for holder, key in _slots(node):
        _discriminators(holder[key], schemas)


def _values_of(member: Any, prop: str, schemas: dict[str, Any], seen: set[str]) -> list[Any] | None:
    """The values `member` declares for `prop` (its `enum` or `const`), following `$ref`s and
    `allOf`s; None when it declares none."""
    if not isinstance(member, dict):
        return None
    ref = member.get("$ref")
    if isinstance(ref, str) and ref.startswith(SCHEMAS) and ref not in seen:
        found = _values_of(schemas.get(ref.removeprefix(SCHEMAS)), prop, schemas, seen | {ref})
        if found is not None:
            return found
    declared = (member.get("properties") or {}).get(prop)
    if isinstance(declared, dict):
        if isinstance(declared.get("enum"), list):
            return list(declared["enum"])
        if "const" in declared:
            return [declared["const"]]
    for part in member.get("allOf") or []:
        found = _values_of(part, prop, schemas, seen)
        if found is not None:
            return found
    return None
