"""What the request log keeps of a body's `metadata` and `user`: what fits, never a refusal."""

from __future__ import annotations

from typing import Any

import pytest

from domains.providers.caller_metadata import (
    MAX_ENTRIES,
    MAX_KEY,
    MAX_USER,
    MAX_VALUE,
    end_user_of,
    metadata_of,
)


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ({}, None),
        ({"metadata": None}, None),
        ({"metadata": "text"}, None),
        ({"metadata": ["a"]}, None),
        ({"metadata": {}}, None),
        ({"metadata": {"a": "1", "n": 2, "none": None, "list": ["x"]}}, {"a": "1"}),
        ({"metadata": {"k" * MAX_KEY: "v", "k" * (MAX_KEY + 1): "v"}}, {"k" * MAX_KEY: "v"}),
        ({"metadata": {"a": "v" * MAX_VALUE, "b": "v" * (MAX_VALUE + 1)}}, {"a": "v" * MAX_VALUE}),
        ({"metadata": {"": "empty key", "tab": "a\tb", "sep": "a\x1fb"}}, None),
        ({"metadata": {"user_id": "claude-user"}}, {"user_id": "claude-user"}),
    ],
)
def test_metadata_keeps_its_string_entries_that_fit(
    body: dict[str, Any], kept: dict[str, str] | None
) -> None:
    assert metadata_of(body) == kept


def test_metadata_keeps_at_most_its_number_of_entries() -> None:
    body = {"metadata": {f"k{n}": str(n) for n in range(MAX_ENTRIES + 5)}}
    kept = metadata_of(body)
    assert kept == {f"k{n}": str(n) for n in range(MAX_ENTRIES)}


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ({}, None),
        ({"user": "u-1"}, "u-1"),
        ({"user": ""}, None),
        ({"user": 7}, None),
        ({"user": "u" * MAX_USER}, "u" * MAX_USER),
        ({"user": "u" * (MAX_USER + 1)}, None),
        ({"user": "line\nbreak"}, None),
    ],
)
def test_the_end_user_is_kept_when_it_fits(body: dict[str, Any], kept: str | None) -> None:
    assert end_user_of(body) == kept
