"""Anthropic's paging of the model listing (`GET /v1/models` with `anthropic-version`): pages
after a cursor, before one, of any size from 1 to 1000, and clear 400s for the rest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interfaces.http.errors import ApiError
from interfaces.http.openai.models_routes import anthropic_page

IDS = [f"model-{i}" for i in range(7)]


def test_first_page_then_after_then_before() -> None:
    first = anthropic_page(IDS, "3", None, None)
    assert [m["id"] for m in first["data"]] == IDS[:3]
    assert (first["first_id"], first["last_id"], first["has_more"]) == ("model-0", "model-2", True)
    assert first["data"][0] == {
        "type": "model",
        "id": "model-0",
        "display_name": "model-0",
        "created_at": "1970-01-01T00:00:00Z",
    }
    last = anthropic_page(IDS, "5", "model-2", None)
    assert [m["id"] for m in last["data"]] == IDS[3:]
    assert last["has_more"] is False
    before = anthropic_page(IDS, "2", None, "model-3")
    assert [m["id"] for m in before["data"]] == ["model-1", "model-2"]
    assert before["has_more"] is True
    assert anthropic_page(IDS, None, None, None)["has_more"] is False  # 20 by default
    empty = anthropic_page([], None, None, None)
    assert (empty["data"], empty["first_id"], empty["last_id"]) == ([], None, None)


@pytest.mark.parametrize(
    ("limit", "after", "before", "param"),
    [
        ("0", None, None, "limit"),
        ("1001", None, None, "limit"),
        ("x", None, None, "limit"),
        (None, "nope", None, "after_id"),
        (None, None, "nope", "before_id"),
        (None, "model-1", "model-2", "after_id"),
    ],
)
def test_bad_paging_is_a_400_naming_it(
    limit: str | None, after: str | None, before: str | None, param: str
) -> None:
    with pytest.raises(ApiError) as refused:
        anthropic_page(IDS, limit, after, before)
    assert (refused.value.status, refused.value.param) == (400, param)


@given(st.integers(1, 9))
def test_paging_forward_visits_every_model_once(size: int) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = anthropic_page(IDS, str(size), after, None)
        seen += [m["id"] for m in page["data"]]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert seen == IDS
