"""The fake Gemini upstream, served for a module's tests, and the official SDK's client of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google import genai

from tests.fakes.gemini_upstream import FakeGemini
from tests.fakes.wire.gemini.support import sdk_client


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGemini]:
    with FakeGemini(slow_seconds=0.3) as server:
        yield server


@pytest.fixture(scope="module")
def client(fake: FakeGemini) -> Iterator[genai.Client]:
    with sdk_client(fake.base_url) as c:
        yield c
