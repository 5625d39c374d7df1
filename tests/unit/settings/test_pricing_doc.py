"""docs/pricing.md's configuration is one the gateway accepts, and its worked examples cost what
the page says, read from the wire formats it quotes."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import msgspec

from domains.billing.model import Price
from infrastructure.adapters.providers import openai_wire
from infrastructure.adapters.providers.anthropic_response import usage_of as anthropic_usage
from infrastructure.adapters.providers.gemini_answer import openai_usage as gemini_usage
from infrastructure.settings import load_settings
from infrastructure.settings.providers import domain_price

DOC = Path(__file__).resolve().parents[3] / "docs" / "pricing.md"


def test_the_page_s_configuration_loads_with_its_tiers(tmp_path: Path) -> None:
    (block,) = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    config = tmp_path / "fluxrouter.yaml"
    config.write_text(block)
    settings, _ = load_settings(
        str(config), environ={"ANTHROPIC_API_KEY": "k", "GEMINI_API_KEY": "k"}, cwd=tmp_path
    )
    prices = {
        model.name: domain_price(model.price)
        for provider in settings.providers
        for model in provider.models
        if model.price is not None
    }
    sonnet, gemini = prices["claude-sonnet-4-5"], prices["gemini-2.5-pro"]
    assert sonnet.rates_for(200_001).per_kind == tuple(
        Decimal(rate) for rate in ("6", "0.60", "7.50", "12", "22.50", "22.50")
    )
    # the Gemini example: 250,000 prompt tokens (50,000 cached), 500 answer and 1,500 thoughts
    _, usage = gemini_usage(
        {
            "promptTokenCount": 250_000,
            "cachedContentTokenCount": 50_000,
            "candidatesTokenCount": 500,
            "thoughtsTokenCount": 1_500,
        }
    )
    assert gemini.cost(usage) == Decimal("0.5425")
    # the Anthropic example, at the Sonnet price's base rates
    usage = anthropic_usage(
        {
            "input_tokens": 100,
            "cache_read_input_tokens": 600,
            "cache_creation_input_tokens": 300,
            "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
            "output_tokens": 500,
        }
    )
    assert usage.input_tokens == 1000
    assert sonnet.cost(usage) == Decimal("0.009555")


def test_the_openai_example_charges_reasoning_once() -> None:
    body = {
        "usage": {
            "prompt_tokens": 2000,
            "completion_tokens": 700,
            "prompt_tokens_details": {"cached_tokens": 1536},
            "completion_tokens_details": {"reasoning_tokens": 448},
        }
    }
    usage = openai_wire.usage_of(msgspec.json.encode(body))
    assert usage is not None
    price = Price(Decimal("1.10"), Decimal("4.40"), cached_input_per_mtok=Decimal("0.275"))
    assert price.cost(usage) == Decimal("0.0040128")
