"""A SCIM PATCH read and applied in time linear in its operations and in the resource.

The protocol library applies a PATCH one operation at a time, each one copying and comparing the
whole resource: a group's members grow with every `add`, so many operations on a large group
cost their number times its size. Here:

- the body is decoded once and its operations counted before anything else reads it: more than
  `scim.max_patch_operations` is a 400 `tooMany`;
- the operations on a group's `members` in the shapes identity providers send them (`add`,
  `replace`, `remove` on the path `members` with a list of members, `remove` on
  `members[value eq "…"]`, and the `members` key of an operation without a path) are applied to
  the members kept by user id, each in time linear in its own values;
- every other operation goes through the library, validated as the library validates it and
  applied to the resource without its members, so its cost is the size of the rest of the
  resource; an operation on the members in another shape (such as a filter on `display`) sees the
  members as the operations before it left them.

The order of the operations is kept. When one fails, the PATCH fails whole: nothing is stored.
This module reads a PATCH into its plan; `applying` applies the plan to a resource.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import msgspec
from scim2_models import (
    InvalidSyntaxException,
    PatchOp,
    ResourceType,
    TooManyException,
)
from scim2_server.service import ScimService

GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:group:"
_REMOVE_ONE = re.compile(r'^\s*members\s*\[\s*value\s+eq\s+("(?:[^"\\]|\\.)*")\s*\]\s*$', re.I)
_MEMBER_KEYS = {"value", "display", "type", "$ref"}


@dataclass(frozen=True)
class MemberOp:
    """`add`, `replace` or `remove` of members (`members` None: remove them all)."""

    verb: str
    members: list[dict[str, Any]] | None


@dataclass(frozen=True)
class LibraryOp:
    """An operation the library applies; `index` is its place in the library's PatchOp."""

    index: int
    touches_members: bool


@dataclass
class PatchPlan:
    steps: list[MemberOp | LibraryOp] = field(default_factory=list)
    library: PatchOp[Any] | None = None


def too_many(limit: int) -> TooManyException:
    return TooManyException(
        detail=f"a PATCH may carry at most {limit} operations (scim.max_patch_operations)"
    )


def _operations(body: bytes, limit: int) -> tuple[dict[str, Any], list[Any]]:
    """(the body's other members, its operations), the operations counted before they are
    decoded: the count takes one pass that builds no object, so a body of many operations is
    refused for the price of reading it."""
    try:
        document = msgspec.json.decode(body, type=dict[str, msgspec.Raw])
        key = next((key for key in document if key.lower() == "operations"), None)
        if key is None:
            return {}, []
        counted = msgspec.json.decode(document.pop(key), type=list[msgspec.Raw] | None)
        if counted is not None and len(counted) > limit:
            raise too_many(limit)
        envelope = {name: msgspec.json.decode(raw) for name, raw in document.items()}
        return envelope, [msgspec.json.decode(raw) for raw in counted or []]
    except (msgspec.ValidationError, msgspec.DecodeError):
        return {}, []  # not an object, or operations not a list: the library says what is wrong
    except RecursionError as exc:
        raise InvalidSyntaxException(detail="the body nests too deeply") from exc


def _is_members(path: str) -> bool:
    lowered = path.strip().lower().removeprefix(GROUP_URN)
    return lowered == "members"


def _member_list(value: Any) -> list[dict[str, Any]] | None:
    """The members a value lists, when each is an object of the Group's member attributes."""
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else None
    if items is None or not all(isinstance(item, dict) for item in items):
        return None
    for item in items:
        keys = {_member_key(key) for key in item}
        if not keys <= _MEMBER_KEYS:
            return None
        for key, sub in item.items():
            if sub is not None and not isinstance(sub, str):
                return None
            if key.lower() == "value" and sub == "":
                return None
    return [{_member_key(key): sub for key, sub in item.items()} for item in items]


def _member_key(key: str) -> str:
    return key if key == "$ref" else key.lower()


def _member_op(operation: dict[str, Any]) -> MemberOp | None:
    """The operation as a MemberOp, when it is in a shape applied by user id."""
    verb = str(operation.get("op", "")).lower()
    path = operation.get("path")
    value = operation.get("value")
    if set(operation) - {"op", "path", "value"} or not isinstance(path, str):
        return None
    if verb in ("add", "replace") and _is_members(path):
        members = _member_list(value)
        if members is None or (verb == "add" and value is None):
            return None
        return MemberOp(verb, members)
    if verb != "remove":
        return None
    if _is_members(path):
        if value is None:
            return MemberOp("remove", None)
        members = _member_list(value)
        if members is None or not members or any(set(m) != {"value"} for m in members):
            return None
        return MemberOp("remove", members)
    found = _REMOVE_ONE.match(path)
    if found is None or value is not None:
        return None
    try:
        member_id = json.loads(found.group(1))
    except ValueError:
        return None
    return MemberOp("remove", [{"value": member_id}]) if isinstance(member_id, str) else None


def _split_pathless(operation: dict[str, Any]) -> tuple[MemberOp | None, dict[str, Any]]:
    """An operation without a path: its `members` key as a MemberOp, the rest as it was."""
    value = operation.get("value")
    verb = str(operation.get("op", "")).lower()
    if operation.get("path") is not None or not isinstance(value, dict):
        return None, operation
    keys = [key for key in value if isinstance(key, str) and _is_members(key)]
    if len(keys) != 1 or verb not in ("add", "replace"):
        return None, operation
    members = _member_list(value[keys[0]])
    if members is None:
        return None, operation
    rest = {key: item for key, item in value.items() if key != keys[0]}
    return MemberOp(verb, members), {**operation, "value": rest}


def _mentions_members(operation: Any) -> bool:
    if not isinstance(operation, dict):
        return False
    path = operation.get("path")
    if isinstance(path, str):
        return "members" in path.lower()
    value = operation.get("value")
    return isinstance(value, dict) and any("members" in str(key).lower() for key in value)


def read_plan(
    service: ScimService,
    resource_type: ResourceType,
    body: bytes,
    content_type: str | None,
    limit: int,
) -> PatchPlan:
    """Validate a PATCH body: the member operations here, the others by the library."""
    service.ensure_patch_supported()
    service.ensure_json(content_type)
    envelope, operations = _operations(body, limit)
    plan = PatchPlan()
    passed: list[Any] = []
    grouped = resource_type.name == "Group"
    for sent in operations:
        operation = sent
        if grouped and isinstance(sent, dict):
            member_op = _member_op(sent)
            if member_op is not None:
                plan.steps.append(member_op)
                continue
            split, operation = _split_pathless(sent)
            if split is not None:
                plan.steps.append(split)
                if not operation["value"]:
                    continue
        plan.steps.append(LibraryOp(len(passed), grouped and _mentions_members(operation)))
        passed.append(operation)
    if not operations:  # the library's own error for a PATCH without operations
        plan.library = service.read_patch(resource_type, body, content_type)
    else:  # the envelope (`schemas`) is the library's to check, with or without operations
        checked = passed or [{"op": "add", "path": "members", "value": []}]
        document = {**envelope, "Operations": checked}
        library = service.read_patch(resource_type, json.dumps(document).encode(), content_type)
        plan.library = library if passed else None
    return plan
