"""The audit chain's canonical JSON gives exactly the bytes (and the errors) of `rfc8785`."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.audit.canonical import canonical_json

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


def _outcome(dump: Any, value: Any) -> tuple[str, bytes]:
    try:
        return "ok", dump(value)
    except Exception as error:
        return type(error).__name__, b""


@settings(max_examples=500)
@given(_json)
def test_the_same_bytes_and_errors_as_rfc8785(value: Any) -> None:
    assert _outcome(canonical_json, value) == _outcome(rfc8785.dumps, value)


@pytest.mark.parametrize(
    "value",
    [
        {"\U0001f600": 1, "\ufb01": 2, "a": 3},  # UTF-16 order: the astral name sorts first
        {"b": [1, {"z": None, "y": True}], "a": '\u2028\x7f\x00\x1f"\\/é'},
        [2**53 - 1, -(2**53 - 1)],
        (1, "tuple"),
        {"n": 2**53},  # out of the I-JSON range: rfc8785's error
        {"x": 1.5e300, "y": -0.0},
        "lone \ud800 surrogate",
        {"\udc00": 1},
        {1: "not a string name"},
        {},
        [],
    ],
)
def test_edge_cases(value: Any) -> None:
    assert _outcome(canonical_json, value) == _outcome(rfc8785.dumps, value)
