"""`cache.semantic.embeddings`: `local`, or `<provider>/<model>` of a configured provider that
serves OpenAI's `/embeddings`; anything else is refused when the configuration is read."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from infrastructure.settings import Settings
from infrastructure.settings.rules import Invalid


def settings(embeddings: str, kind: str = "openai") -> Settings:
    provider: dict[str, Any] = {
        "name": "emb",
        "kind": kind,
        "base_url": "https://api.example.com/v1",
        "models": [{"name": "text-embedding-3-small"}],
    }
    config = {"providers": [provider], "cache": {"semantic": {"embeddings": embeddings}}}
    return msgspec.convert(config, Settings)


def test_local_or_an_openai_shaped_providers_model() -> None:
    assert settings("local").cache.semantic.embeddings == "local"
    assert settings("emb/text-embedding-3-small").cache.semantic.embeddings.startswith("emb/")
    assert settings("emb/other", kind="openai-compatible").cache.semantic.threshold == 0.96


@pytest.mark.parametrize(
    ("embeddings", "kind"),
    [("nowhere/model", "openai"), ("emb", "openai"), ("emb/model", "anthropic")],
)
def test_anything_else_is_refused(embeddings: str, kind: str) -> None:
    with pytest.raises((Invalid, msgspec.ValidationError)) as raised:
        settings(embeddings, kind)
    assert "cache.semantic.embeddings" in str(raised.value)
