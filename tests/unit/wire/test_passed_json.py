"""A body the client sent reaches an upstream of its own dialect as the client's bytes: only the
members the gateway changed are rewritten, wherever and however the client wrote the rest."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domains.providers.output_limit import limited_body
from domains.providers.passed_body import PassedBody, with_members
from infrastructure.adapters.providers.openai_wire import chat_body
from infrastructure.adapters.providers.passed_json import passed_json, top_level_members

SENT = (
    b'{ "model" : "gpt-4o-mini",\n  "messages": '
    b'[{"role": "user", "content": "caf\\u00e9 \\"q\\" }"}],'
    b'\n  "temperature": 0.70, "x-unknown": {"nested": [1, 2.50, {"}": "]"}]}, "n": 1 }'
)


def passed(sent: bytes) -> PassedBody:
    return PassedBody(json.loads(sent), sent)


def test_unchanged_body_is_the_very_bytes() -> None:
    body = passed(SENT)
    assert passed_json(body) is SENT
    assert passed_json(with_members(body, model="gpt-4o-mini")) == SENT


def test_changed_member_is_rewritten_in_place_and_nothing_else() -> None:
    out = passed_json(with_members(passed(SENT), model="gpt-4o"))
    assert out == SENT.replace(b'"gpt-4o-mini"', b'"gpt-4o"', 1)


def test_new_members_go_last_and_removed_ones_take_their_comma() -> None:
    body = with_members(passed(SENT), max_tokens=16)
    del body["n"]
    out = passed_json(body)
    assert out.startswith(SENT[: SENT.index(b', "n"')])
    decoded = json.loads(out)
    assert list(decoded) == ["model", "messages", "temperature", "x-unknown", "max_tokens"]
    assert decoded["max_tokens"] == 16


def test_output_cap_and_stream_usage_keep_the_body_a_passed_one() -> None:
    sent = b'{"model":"m","messages":[],"stream":true,"n":2,"max_tokens":900}'
    capped = limited_body(passed(sent), kind="chat", reserved=100, newer_field=True)
    assert isinstance(capped, PassedBody)
    out = chat_body(capped, "m", stream=True)
    assert out == (
        b'{"model":"m","messages":[],"stream":true,"n":2,"max_tokens":50,'
        b'"stream_options":{"include_usage":true}}'
    )


def test_a_plain_dict_is_encoded() -> None:
    assert passed_json({"a": 1, "b": [True, None]}) == b'{"a":1,"b":[true,null]}'


def test_escaped_keys_and_repeated_keys_are_found() -> None:
    sent = b'{"mod\\u0065l": "a", "x": 1, "model": "b"}'
    body = passed(sent)
    assert [m.key for m in top_level_members(sent)] == ["model", "x", "model"]
    assert (
        passed_json(with_members(body, model="c")) == b'{"mod\\u0065l": "c", "x": 1, "model": "c"}'
    )


# --- any object, written any way ---------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
_objects = st.dictionaries(st.text(max_size=8), _values, max_size=8)
_styles = st.sampled_from(
    [
        {"separators": (",", ":")},
        {"indent": 2},
        {"separators": (" , ", " : ")},
        {"ensure_ascii": False},
        {"indent": "\t", "ensure_ascii": False},
    ]
)


@given(_objects, _styles, st.data())
def test_any_change_to_any_object_reads_back_and_keeps_every_other_byte(
    members: dict[str, Any], style: dict[str, Any], data: st.DataObject
) -> None:
    sent = b" \n" + json.dumps(members, **style).encode() + b"\n "
    body = passed(sent)
    keys = list(body)
    changed = copy.copy(body)
    for key in data.draw(st.lists(st.sampled_from(keys), unique=True) if keys else st.just([])):
        if data.draw(st.booleans()):
            del changed[key]
        else:
            changed[key] = data.draw(_values)
    for key in data.draw(st.lists(st.text(max_size=5), max_size=2)):
        if key not in body:
            changed[key] = data.draw(_values)
    out = passed_json(changed)
    assert json.loads(out) == json.loads(json.dumps(dict(changed)))
    assert list(json.loads(out)) == list(changed)
    if changed.changed() == ({}, []):
        assert out == sent


def test_an_earlier_copy_of_a_repeated_key_is_read_whole() -> None:
    sent = b'{"n": 12, "n": 1, "s": "ab", "s": "a"}'
    assert [(m.key, sent[m.value_start : m.end]) for m in top_level_members(sent)] == [
        ("n", b"12"),
        ("n", b"1"),
        ("s", b'"ab"'),
        ("s", b'"a"'),
    ]
