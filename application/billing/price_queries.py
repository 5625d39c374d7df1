"""Which price a model is charged at, and who may set it.

The configuration file's price wins: a model it prices is charged at that price, and the admin
API may not set another (`Conflict`). A model it leaves unpriced is charged at the price set
through the admin API, if any.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from domains.billing.model import Price
from domains.shared.errors import Conflict, NotFound

PriceSource = Literal["config", "admin"]
ModelName = tuple[str, str]  # (provider, model)


@dataclass(frozen=True, slots=True)
class ListedPrice:
    provider: str
    model: str
    price: Price | None
    source: PriceSource | None  # None: the model is not priced


def price_list(
    models: Iterable[ModelName],
    configured: Mapping[ModelName, Price],
    admin_set: Mapping[ModelName, Price],
) -> list[ListedPrice]:
    """Every model of the catalog, in its order, with the price it is charged at."""
    listed: list[ListedPrice] = []
    for name in models:
        if name in configured:
            listed.append(ListedPrice(*name, configured[name], "config"))
        elif name in admin_set:
            listed.append(ListedPrice(*name, admin_set[name], "admin"))
        else:
            listed.append(ListedPrice(*name, None, None))
    return listed


def require_admin_priceable(
    models: Iterable[ModelName], configured: Mapping[ModelName, Price], provider: str, model: str
) -> None:
    """`NotFound` for a model the catalog does not have; `Conflict` for one the configuration
    file prices."""
    shown = f"{provider[:100]}/{model[:200]}"
    if (provider, model) not in set(models):
        raise NotFound(f"The catalog has no model {shown}.")
    if (provider, model) in configured:
        raise Conflict(
            f"The configuration file prices {shown}, and its price wins: change it there."
        )
