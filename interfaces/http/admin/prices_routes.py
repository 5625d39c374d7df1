"""Model prices. Prices are global: anyone on the admin API reads them, only the operator's
admin key sets them, never for a model the YAML prices (`application.billing.price_queries`)."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, put

from application.billing.commands import SetPrice
from application.billing.price_queries import ListedPrice, price_list, require_admin_priceable
from domains.billing.events import PriceTierRates
from domains.billing.model import Price
from infrastructure.queries.limits import admin_prices
from interfaces.billing_wiring import config_prices
from interfaces.http.admin.exact_json import ExactJsonRequest
from interfaces.http.admin.guard import require_admin
from interfaces.http.admin.limits_answers import price_out
from interfaces.http.admin.limits_schemas import PriceBody, PriceOut
from interfaces.http.dependencies import AppSettings, Bus, Caller, Engine, ModelCatalog


def _models(catalog: ModelCatalog) -> list[tuple[str, str]]:
    return [(route.provider, route.name) for route in catalog.routes()]


class PricesController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: limits"]
    request_class = ExactJsonRequest

    @get("/prices", summary="Every model in the catalog with its price and where it comes from")
    async def list_prices(
        self, engine: Engine, catalog: ModelCatalog, settings: AppSettings
    ) -> list[PriceOut]:
        configured = config_prices(settings)
        listed = price_list(_models(catalog), configured, await admin_prices(engine))
        return [price_out(price) for price in listed]

    @put(
        "/prices/{provider:str}/{model:path}",
        summary="Price a model the YAML configuration leaves unpriced (operator only): every "
        "kind of token and long-context tiers",
    )
    async def set_price(
        self,
        bus: Bus,
        principal: Caller,
        catalog: ModelCatalog,
        settings: AppSettings,
        provider: str,
        model: str,
        data: PriceBody,
    ) -> PriceOut:
        principal.require_root()
        model = model.removeprefix("/")
        require_admin_priceable(_models(catalog), config_prices(settings), provider, model)
        price: Price = await bus.handle(
            SetPrice(
                provider=provider,
                model=model,
                input_per_mtok=data.input_per_mtok,
                output_per_mtok=data.output_per_mtok,
                cached_input_per_mtok=data.cached_input_per_mtok,
                cache_write_5m_per_mtok=data.cache_write_5m_per_mtok,
                cache_write_1h_per_mtok=data.cache_write_1h_per_mtok,
                reasoning_output_per_mtok=data.reasoning_output_per_mtok,
                tiers=tuple(PriceTierRates(**msgspec.structs.asdict(tier)) for tier in data.tiers),
                actor=principal.actor,
            )
        )
        return price_out(ListedPrice(provider, model, price, "admin"))
