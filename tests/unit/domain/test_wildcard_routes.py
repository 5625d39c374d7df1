"""A provider's wildcard model `*`: `provider/<any name>` passes that name to the provider, a
declared model wins, a bare unknown name stays unknown; priced from the wildcard's price."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.providers.upstream_catalog import upstream_models
from domains.billing.limits import LimitsSnapshot
from domains.billing.model import Price
from domains.providers.errors import UnknownModel
from domains.providers.model import Catalog, ModelRoute

DECLARED = ModelRoute("openai", "openai", "gpt-4o", "gpt-4o-2024-08-06")
WILDCARD = ModelRoute("openai", "openai", "*", "*", max_output_tokens=4000)
LOCAL = ModelRoute("local", "openai-compatible", "llama3", "llama3:8b")


@pytest.fixture
def catalog() -> Catalog:
    return Catalog([DECLARED, WILDCARD, LOCAL])


def test_any_name_under_the_provider_reaches_it_by_that_name(catalog: Catalog) -> None:
    route = catalog.resolve("openai/gpt-5-nano")
    assert (route.provider, route.kind, route.name, route.upstream) == (
        "openai",
        "openai",
        "gpt-5-nano",
        "gpt-5-nano",
    )
    assert route.wildcard
    assert route.max_output_tokens == 4000
    assert route.qualified_name == "openai/gpt-5-nano"
    # a name with slashes of its own (an organisation's model) passes whole
    assert catalog.resolve("openai/org/model-1").upstream == "org/model-1"


def test_a_declared_model_wins_over_the_wildcard(catalog: Catalog) -> None:
    assert catalog.resolve("openai/gpt-4o") is DECLARED
    assert catalog.resolve("gpt-4o") is DECLARED


@pytest.mark.parametrize(
    "requested", ["gpt-5-nano", "*", "openai/*", "openai/", "openai/ ", "local/x"]
)
def test_what_the_wildcard_does_not_take(catalog: Catalog, requested: str) -> None:
    with pytest.raises(UnknownModel):
        catalog.resolve(requested)


def test_the_wildcard_is_listed_once_as_a_route(catalog: Catalog) -> None:
    assert catalog.routes() == [DECLARED, WILDCARD, LOCAL]


def test_a_model_without_a_price_of_its_own_takes_the_wildcards() -> None:
    wildcard_price = Price(Decimal(1), Decimal(2))
    own = Price(Decimal("0.1"), Decimal("0.2"))
    prices = LimitsSnapshot.of(prices={("openai", "*"): wildcard_price, ("openai", "gpt-4o"): own})
    assert prices.price_of("openai", "gpt-5-nano") is wildcard_price
    assert prices.price_of("openai", "gpt-4o") is own
    assert prices.price_of("local", "llama3") is None


async def test_providers_sync_does_not_look_for_the_wildcard_upstream(catalog: Catalog) -> None:
    class Offers:
        async def list_models(self) -> list[str]:
            return ["gpt-4o-2024-08-06", "gpt-5-nano"]

    (found,) = await upstream_models(catalog, {"openai": Offers()}, "openai")  # type: ignore[dict-item]
    assert found.configured == ["gpt-4o-2024-08-06"]
    assert found.missing_upstream == []
    assert found.not_configured == ["gpt-5-nano"]
