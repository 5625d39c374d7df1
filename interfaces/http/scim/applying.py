"""A PATCH's plan (`patching.read_plan`) applied to a resource: the operations on a group's
members to the members kept by user id, each in time linear in its own values; every other
operation by the protocol library, to the resource without its members."""

from __future__ import annotations

from typing import Any

from scim2_models import InvalidValueException, Resource
from scim2_server.conditions import Conditions
from scim2_server.service import ScimService

from interfaces.http.scim.patching import MemberOp, PatchPlan


def _key(member: Any) -> str:
    value = member.value or (str(member.ref).rstrip("/").rsplit("/", 1)[-1] if member.ref else None)
    if not value:
        raise InvalidValueException(detail="a member needs a value (a user id)")
    return str(value)


class _Members:
    """A group's members as the library's list would hold them, kept by user id: for each id,
    the distinct entries the list holds (an `add` appends an entry unless an equal one was there
    before the operation) and the last one, which is what the gateway stores."""

    def __init__(self, members: list[Any]) -> None:
        self.entries: dict[str, dict[tuple[Any, ...], Any]] = {}
        self.last: dict[str, Any] = {}
        self.load(members)

    def load(self, members: list[Any]) -> None:
        self.entries.clear()
        self.last.clear()
        for member in members:
            key = _key(member)
            self.entries.setdefault(key, {})[_shape(member)] = member
            self.last[key] = member

    def listed(self) -> list[Any]:
        """Every entry, each id's last one last."""
        return [
            member
            for key, entries in self.entries.items()
            for member in [
                *(m for m in entries.values() if m is not self.last[key]),
                self.last[key],
            ]
        ]

    def apply(self, step: MemberOp, model: Any) -> None:
        if step.verb == "remove":
            if step.members is None:
                self.load([])
            for item in step.members or []:
                self.entries.pop(str(item["value"]), None)
                self.last.pop(str(item["value"]), None)
            return
        if step.verb == "replace":
            self.load([])
        added = []
        for item in step.members or []:
            try:
                member = model.model_validate(item)
            except ValueError as exc:
                raise InvalidValueException(detail="a member is not valid") from exc
            key, shape = _key(member), _shape(member)
            if step.verb == "replace" or shape not in self.entries.get(key, {}):
                added.append((key, shape, member))
        for key, shape, member in added:
            self.entries.setdefault(key, {})[shape] = member
            self.last[key] = member

    def stored(self) -> dict[str, tuple[Any, ...]]:
        return {key: _shape(member) for key, member in self.last.items()}


def _shape(member: Any) -> tuple[Any, ...]:
    return (member.value, member.display, member.type, str(member.ref or ""))


def apply_plan(
    service: ScimService,
    current: Resource[Any],
    plan: PatchPlan,
    conditions: Conditions,
) -> Resource[Any] | None:
    """The resource as the PATCH leaves it, or None when the PATCH changes nothing."""
    service.check_preconditions(current, "PATCH", conditions)
    resource: Any = current.model_copy()
    grouped = "members" in type(resource).model_fields
    model = _member_model(type(resource)) if grouped else None
    members = _Members(getattr(resource, "members", None) or [])
    before = members.stored()
    if grouped:
        resource.members = None
    library: Any = plan.library
    operations = library.operations or [] if library is not None else []
    changed = False
    for step in plan.steps:
        if isinstance(step, MemberOp):
            members.apply(step, model)
            continue
        single = type(library).model_construct(operations=[operations[step.index]])
        if step.touches_members:  # the members as the operations before it left them
            resource.members = members.listed()
            changed = single.patch(resource) or changed
            members.load(resource.members or [])
            resource.members = None
        else:
            changed = single.patch(resource) or changed
    if grouped:
        resource.members = list(members.last.values())
        changed = changed or members.stored() != before
    return resource if changed else None


def _member_model(model: type[Resource[Any]]) -> Any:
    annotation = model.model_fields["members"].annotation
    for candidate in getattr(annotation, "__args__", ()):
        for inner in getattr(candidate, "__args__", ()):
            if hasattr(inner, "model_validate"):
                return inner
    raise TypeError("the Group model has no member type")
