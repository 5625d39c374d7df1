"""Where a sign-in may send the browser back to: a path on this site, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interfaces.http.errors import ApiError
from interfaces.http.sso.web import safe_next


@pytest.mark.parametrize("path", ["/", "/dashboard", "/teams/1?tab=keys#x", "/a//b"])
def test_paths_on_this_site_are_kept(path: str) -> None:
    assert safe_next(path) == path


def test_nothing_means_the_start_page() -> None:
    assert safe_next(None) == safe_next("") == "/"


@given(st.text(max_size=60))
def test_nothing_accepted_can_name_another_host(value: str) -> None:
    try:
        kept = safe_next(value)
    except ApiError as error:
        refused_code = error.code
    else:
        refused_code = None
    if refused_code is not None:
        assert refused_code == "bad_next"
        return
    assert kept.startswith("/")
    assert not kept.startswith("//")
    assert "\\" not in kept
    assert all(ord(c) >= 0x20 for c in kept)
