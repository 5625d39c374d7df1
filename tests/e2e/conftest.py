"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.images import image_server


@pytest.fixture(scope="session")
def image_url() -> Iterator[str]:
    """A PNG served over HTTP on loopback."""
    with image_server() as url:
        yield url
