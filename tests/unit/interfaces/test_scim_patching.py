"""A PATCH applied by `patching` leaves a resource as the protocol library leaves it (the
members compared as the gateway stores them: by user id, the last label given winning), in
time linear in its operations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scim2_models import Resource, SCIMException, TooManyException
from scim2_server.conditions import Conditions

from interfaces.http.scim import applying, patching
from interfaces.http.scim.provider import build_service
from interfaces.http.scim.resources import members_of

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

SERVICE = build_service()
GROUP = SERVICE.get_resource_type("Group")
USER = SERVICE.get_resource_type("User")
IDS = st.sampled_from([f"u{i}" for i in range(8)])
LABELS = st.one_of(st.none(), st.sampled_from(["A", "B", "\u00e9t\u00e9"]))


def member(value: str, display: str | None) -> dict[str, Any]:
    return {"value": value} | ({"display": display} if display is not None else {})


OPERATIONS = st.one_of(
    st.builds(
        lambda verb, members: {"op": verb, "path": "members", "value": members},
        st.sampled_from(["add", "Add", "replace"]),
        st.lists(st.builds(member, IDS, LABELS), max_size=3),
    ),
    st.builds(lambda v: {"op": "remove", "path": f'members[value eq "{v}"]'}, IDS),
    st.builds(
        lambda vs: {"op": "Remove", "path": "members", "value": [{"value": v} for v in vs]},
        st.lists(IDS, min_size=1, max_size=3),
    ),
    st.just({"op": "remove", "path": "members"}),
    st.builds(
        lambda m: {"op": "add", "value": {"members": [m], "displayName": "renamed"}},
        st.builds(member, IDS, LABELS),
    ),
    st.builds(
        lambda name: {"op": "replace", "path": "displayName", "value": name},
        st.sampled_from(["x", "y"]),
    ),
    st.builds(
        lambda v: {"op": "replace", "path": f'members[value eq "{v}"].display', "value": "Z"}, IDS
    ),
    st.builds(
        lambda v: {"op": "remove", "path": f'members[display eq "{v}"]'},
        st.sampled_from(["A", "B"]),
    ),
)


def group(members: list[dict[str, Any]]) -> Resource[Any]:
    model = SERVICE.get_model(GROUP)
    return model.model_validate(
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "g",
            "displayName": "x",
            "meta": {"resourceType": "Group", "version": 'W/"1"'},
            "members": members,
        }
    )


def body(operations: list[dict[str, Any]]) -> bytes:
    return json.dumps({"schemas": [PATCH_OP], "Operations": operations}).encode()


def by_library(current: Resource[Any], raw: bytes) -> Any:
    with SERVICE.provider:
        patch = SERVICE.read_patch(GROUP, raw, None)
        return SERVICE.apply_patch(current, patch, Conditions())


def by_plan(current: Resource[Any], raw: bytes, limit: int = 1000) -> Any:
    with SERVICE.provider:
        plan = patching.read_plan(SERVICE, GROUP, raw, None, limit)
        return applying.apply_plan(SERVICE, current, plan, Conditions())


def outcome(resource: Any) -> tuple[str, dict[str, str | None]]:
    return str(resource.display_name), dict(members_of(resource))


@settings(max_examples=200, deadline=None)
@given(
    start=st.lists(st.builds(member, IDS, LABELS), max_size=5, unique_by=lambda m: m["value"]),
    operations=st.lists(OPERATIONS, min_size=1, max_size=8),
)
def test_the_plan_leaves_a_group_as_the_library_does(
    start: list[dict[str, Any]], operations: list[dict[str, Any]]
) -> None:
    raw = body(operations)
    try:
        expected: Any = by_library(group(start), raw)
    except SCIMException as exc:
        with pytest.raises(type(exc)):
            by_plan(group(start), raw)
        return
    got = by_plan(group(start), raw)
    if expected is None:  # the library saw no change: the group must come out the same
        assert got is None or outcome(got) == outcome(group(start))
    else:
        assert got is not None or outcome(expected) == outcome(group(start))
        assert outcome(got or group(start)) == outcome(expected)


def test_more_operations_than_the_bound_are_refused_before_they_are_read() -> None:
    raw = body([{"op": "add", "path": "members", "value": [{"value": "u"}]}] * 11)
    with pytest.raises(TooManyException) as refused:
        by_plan(group([]), raw, limit=10)
    assert refused.value.status == 400
    assert refused.value.to_error().scim_type == "tooMany"
    assert by_plan(group([]), raw, limit=11) is not None


def test_a_user_patch_goes_through_the_library() -> None:
    user = SERVICE.get_model(USER).model_validate(
        {"id": "u", "userName": "a@example.com", "meta": {"resourceType": "User"}}
    )
    raw = body([{"op": "replace", "value": {"active": False, "name.givenName": "Ann"}}])
    with SERVICE.provider:
        plan = patching.read_plan(SERVICE, USER, raw, None, 1000)
        patched: Any = applying.apply_plan(SERVICE, user, plan, Conditions())
    assert (patched.active, patched.name.given_name) == (False, "Ann")


def test_the_bound_on_a_large_group_applies_every_change() -> None:
    """1,000 operations on a group of 20,000 (the library alone: minutes; here well under a
    second, a figure measured, not asserted)."""
    current = group([member(f"m{i}", None) for i in range(20_000)])
    operations = [
        {"op": "add", "path": "members", "value": [{"value": f"n{i}"}]}
        if i % 2
        else {"op": "remove", "path": f'members[value eq "m{i}"]'}
        for i in range(1000)
    ]
    patched: Any = by_plan(current, body(operations))
    ids = {m.value for m in patched.members}
    assert len(ids) == 20_000
    assert not {f"m{i}" for i in range(0, 1000, 2)} & ids
    assert {f"n{i}" for i in range(1, 1000, 2)} <= ids


@pytest.mark.parametrize("schemas", [["urn:x"], ["urn:ietf:params:scim:schemas:core:2.0:Group"]])
def test_the_envelope_is_checked_even_when_every_operation_is_on_members(
    schemas: list[str],
) -> None:
    raw = json.dumps(
        {"schemas": schemas, "Operations": [{"op": "remove", "path": "members"}]}
    ).encode()
    with pytest.raises(SCIMException) as library:
        by_library(group([]), raw)
    with pytest.raises(type(library.value)):
        by_plan(group([]), raw)
