"""The fake Anthropic upstream, served for a module's tests, and the official SDK's client of it."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.wire.anthropic.support import API_KEY


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(slow_seconds=1.0) as server:
        yield server


@pytest.fixture(scope="module")
def client(fake: FakeAnthropic) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=fake.base_url, api_key=API_KEY, max_retries=0) as c:
        yield c
