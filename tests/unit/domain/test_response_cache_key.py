"""The exact cache's key: the same for the same request however its members are ordered (or a
whole number is spelled), another for any change of what the answer depends on, its tenant
scope included; and which requests and answers the cache takes."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.providers.response_cache import (
    cache_key,
    complete_answer,
    deterministic,
    directive_of,
    freshened,
    scope_of,
)
from domains.shared.caller import Caller

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(allow_nan=False, allow_infinity=False, width=32).filter(lambda x: not x.is_integer()),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
MEANINGFUL = ("messages", "tools", "tool_choice", "response_format", "temperature", "seed", "top_p")
bodies = st.fixed_dictionaries(
    {"messages": st.lists(st.dictionaries(st.text(max_size=5), values, max_size=3), max_size=3)},
    optional={name: values for name in MEANINGFUL[1:]},
)


def key(body: dict[str, Any], **changed: Any) -> str:
    parts: dict[str, Any] = {
        "scope": "org-1",
        "kind": "chat",
        "model": "gpt-4o-mini",
        "body": body,
        "stream": False,
        "include_usage": False,
    }
    parts.update(changed)
    return cache_key(**parts)


def shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {name: shuffled(item, rng) for name, item in items}
    if isinstance(value, list):
        return [shuffled(item, rng) for item in value]
    return value


@settings(max_examples=200, deadline=None)
@given(bodies, st.integers(0, 2**32))
def test_the_key_is_the_same_whatever_the_order_of_members(body: dict[str, Any], seed: int) -> None:
    assert key(body) == key(shuffled(body, random.Random(seed)))


@settings(max_examples=200, deadline=None)
@given(bodies, st.sampled_from(MEANINGFUL), values)
def test_any_change_of_what_the_answer_depends_on_changes_the_key(
    body: dict[str, Any], member: str, value: Any
) -> None:
    changed = copy.deepcopy(body)
    changed[member] = value
    if changed == body or _same_canonically(changed.get(member), body.get(member)):
        return
    assert key(changed) != key(body)


def _same_canonically(a: Any, b: Any) -> bool:
    return type(a) in (int, float) and type(b) in (int, float) and a == b


@settings(max_examples=100, deadline=None)
@given(bodies)
def test_the_scope_model_dialect_and_delivery_are_part_of_the_key(body: dict[str, Any]) -> None:
    keys = {
        key(body),
        key(body, scope="org-2"),
        key(body, model="gpt-4o"),
        key(body, kind="responses"),
        key(body, stream=True),
        key(body, stream=True, include_usage=True),
    }
    assert len(keys) == 6


@given(bodies)
def test_what_only_changes_delivery_is_not(body: dict[str, Any]) -> None:
    delivered = {**body, "user": "u1", "metadata": {"a": "b"}, "cache": "on", "model": "x"}
    assert key(delivered) == key(body)


def test_a_whole_float_is_the_integer() -> None:
    assert key({"messages": [], "temperature": 0}) == key({"messages": [], "temperature": 0.0})
    assert key({"messages": [], "temperature": 0}) != key({"messages": [], "temperature": 0.5})
    assert key({"messages": [], "seed": 1}) != key({"messages": [], "seed": True})


def test_scopes_never_cross_orgs() -> None:
    one = Caller(key_id="k1", key_prefix="p", team_id="t1", org_id="o1")
    other = Caller(key_id="k1", key_prefix="p", team_id="t1", org_id="o2")
    for scope in ("org", "team", "key"):
        assert scope_of(one, scope) != scope_of(other, scope)  # type: ignore[arg-type]
    assert scope_of(one, "team") == "o1/t1"


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        ("chat", {"temperature": 0}, True),
        ("chat", {"temperature": 0.0}, True),
        ("chat", {"temperature": 0.2}, False),
        ("chat", {"seed": 3}, True),
        ("chat", {"temperature": False}, False),
        ("chat", {}, False),
        ("gemini", {"generationConfig": {"temperature": 0}}, True),
        ("gemini", {"temperature": 0}, False),
    ],
)
def test_deterministic_requests(kind: str, body: dict[str, Any], expected: bool) -> None:
    assert deterministic(kind, body) is expected


def test_directives() -> None:
    assert directive_of(None) is None
    assert directive_of(" Refresh ") == "refresh"
    assert directive_of(True) == "on"
    assert directive_of({"refresh": True}) == "refresh"
    assert directive_of({"enabled": False}) == "off"
    for bad in ("sometimes", 3, ["on"]):
        with pytest.raises(ValueError, match="cache must be"):
            directive_of(bad)


def test_only_whole_successful_answers_are_stored() -> None:
    assert complete_answer("chat", b'{"choices":[{"finish_reason": "stop"}]}')
    assert complete_answer("chat", b'data: {"choices":[{"finish_reason":"length"}]}\n\n')
    assert not complete_answer("chat", b'{"choices":[{"finish_reason":"tool_calls"}]}')
    assert not complete_answer("chat", b'data: {"error":{"message":"x"}}\n\n')
    assert complete_answer("messages", b'{"stop_reason":"end_turn"}')
    assert complete_answer("gemini", b'{"candidates":[{"finishReason":"STOP"}]}')
    assert not complete_answer("gemini", b'{"candidates":[{"finishReason":"SAFETY"}]}')


def test_a_replay_has_fresh_ids_the_same_in_every_chunk() -> None:
    chunks = [
        b'data: {"type":"response.created","response":{"id":"resp_old","created_at":1}}\n\n',
        b'data: {"item":{"id":"msg_a"},"response_id":"resp_old"}\n\n',
        b'data: {"item_id":"msg_a"}\n\n',
    ]
    counter = iter(range(100))
    fresh = freshened(chunks, lambda: f"new{next(counter)}", now=99)
    assert b"resp_old" not in b"".join(fresh)
    assert b"msg_a" not in b"".join(fresh)
    assert b'"created_at":99' in fresh[0]
    assert fresh[1].count(b"resp_new0") == 1
    assert b'"msg_new1"' in fresh[2]
