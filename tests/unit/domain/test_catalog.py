"""The provider catalog: bare names, `provider/name`, first declared wins, unknown models."""

from __future__ import annotations

import pytest

from domains.providers.errors import UnknownModel
from domains.providers.model import Catalog, ModelRoute
from domains.shared.errors import NotFound

OPENAI_MINI = ModelRoute("openai", "openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18")
AZURE_MINI = ModelRoute("azure", "openai-compatible", "gpt-4o-mini", "mini-deployment")
OLLAMA = ModelRoute("local", "openai-compatible", "llama3", "llama3:8b")


@pytest.fixture
def catalog() -> Catalog:
    return Catalog([OPENAI_MINI, AZURE_MINI, OLLAMA])


def test_bare_name_resolves(catalog: Catalog) -> None:
    assert catalog.resolve("llama3") is OLLAMA


def test_qualified_name_resolves_to_that_provider(catalog: Catalog) -> None:
    assert catalog.resolve("azure/gpt-4o-mini") is AZURE_MINI
    assert catalog.resolve("openai/gpt-4o-mini") is OPENAI_MINI
    assert catalog.resolve("local/llama3") is OLLAMA


def test_bare_name_declared_twice_resolves_to_the_first_declared() -> None:
    assert Catalog([OPENAI_MINI, AZURE_MINI]).resolve("gpt-4o-mini") is OPENAI_MINI
    assert Catalog([AZURE_MINI, OPENAI_MINI]).resolve("gpt-4o-mini") is AZURE_MINI


def test_routes_keep_declaration_order_and_are_a_copy(catalog: Catalog) -> None:
    routes = catalog.routes()
    assert routes == [OPENAI_MINI, AZURE_MINI, OLLAMA]
    routes.clear()
    assert len(catalog.routes()) == 3


def test_qualified_name_property() -> None:
    assert OLLAMA.qualified_name == "local/llama3"


@pytest.mark.parametrize(
    "requested",
    ["gpt-5", "openai/llama3", "azure/", "/gpt-4o-mini", "GPT-4O-MINI", "", "upstream:gpt-4o"],
)
def test_unknown_model_raises_unknown_model(catalog: Catalog, requested: str) -> None:
    with pytest.raises(UnknownModel) as caught:
        catalog.resolve(requested)
    error = caught.value
    assert isinstance(error, NotFound)
    assert error.code == "model_not_found"
    assert f"`{requested}`" in error.message


def test_upstream_name_is_not_a_client_name(catalog: Catalog) -> None:
    with pytest.raises(UnknownModel):
        catalog.resolve("gpt-4o-mini-2024-07-18")


def test_unknown_model_message_is_truncated() -> None:
    requested = "m" * 200 + "SECRET-TAIL" + "Q" * 10_000
    with pytest.raises(UnknownModel) as caught:
        Catalog([OLLAMA]).resolve(requested)
    message = caught.value.message
    assert "m" * 200 + "…" in message
    assert "SECRET-TAIL" not in message
    assert "Q" not in message
    assert len(message) < 300
    assert str(caught.value) == message


def test_unknown_model_message_keeps_a_200_char_name_whole() -> None:
    requested = "a" * 200
    message = UnknownModel(requested).message
    assert f"`{requested}`" in message
    assert "…" not in message
