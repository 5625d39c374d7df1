"""The price a model is charged at: the configuration file's wins over the admin API's."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.billing.price_queries import ListedPrice, price_list, require_admin_priceable
from domains.billing.model import Price
from domains.shared.errors import Conflict, NotFound

YAML = Price(input_per_mtok=Decimal("1"), output_per_mtok=Decimal("2"))
ADMIN = Price(input_per_mtok=Decimal("3"), output_per_mtok=Decimal("4"))
MODELS = [("openai", "a"), ("openai", "b"), ("anthropic", "c")]


def test_every_catalog_model_is_listed_in_order_with_the_price_that_wins() -> None:
    configured = {("openai", "a"): YAML}
    admin_set = {("openai", "a"): ADMIN, ("openai", "b"): ADMIN, ("gone", "x"): ADMIN}
    assert price_list(MODELS, configured, admin_set) == [
        ListedPrice("openai", "a", YAML, "config"),
        ListedPrice("openai", "b", ADMIN, "admin"),
        ListedPrice("anthropic", "c", None, None),
    ]


def test_the_admin_api_prices_only_catalog_models_the_yaml_leaves_unpriced() -> None:
    configured = {("openai", "a"): YAML}
    require_admin_priceable(MODELS, configured, "openai", "b")
    with pytest.raises(Conflict, match=r"prices openai/a, and its price wins"):
        require_admin_priceable(MODELS, configured, "openai", "a")
    with pytest.raises(NotFound, match=r"^The catalog has no model openai/zzz\.$"):
        require_admin_priceable(MODELS, configured, "openai", "zzz")


def test_a_long_name_is_shown_cut_short() -> None:
    with pytest.raises(NotFound) as refused:
        require_admin_priceable(MODELS, {}, "p" * 500, "m" * 500)
    assert refused.value.message == f"The catalog has no model {'p' * 100}/{'m' * 200}."
