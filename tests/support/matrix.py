"""What the provider matrices share: the configured prices, the tool they call, and the check
that the gateway recorded exactly the usage and cost the client was shown."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from tests.support.gateway import GatewayProcess
from tests.support.tenants import eventually

# model → (input, output, cached input) USD per 1M tokens, as tests/support/gateway.py configures
PRICES = {
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60"), None),
    "llama3.1": (Decimal("0.01"), Decimal("0.02"), None),
    "claude-haiku-4-5": (Decimal(3), Decimal(15), Decimal("0.3")),
    "claude-sonnet-4-5": (Decimal(3), Decimal(15), Decimal("0.3")),
    "claude-opus-4-7": (Decimal(3), Decimal(15), Decimal("0.3")),
    "gemini-2.5-flash": (Decimal("0.3"), Decimal("2.5"), None),
    "gpt-3.5-turbo-instruct": (Decimal("1.5"), Decimal(2), None),
    "llama-instruct": (Decimal("0.02"), Decimal("0.04"), None),
}
CHAT_MODELS = ["gpt-4o-mini", "llama3.1", "claude-haiku-4-5", "gemini-2.5-flash"]
COMPLETION_MODELS = [
    "gpt-3.5-turbo-instruct",
    "llama-instruct",
    "claude-haiku-4-5",
    "gemini-2.5-flash",
]
"""One model of each kind of upstream behind `/v1/completions`: natively to `openai` and
`openai-compatible`, translated to chat for Anthropic and Gemini."""

SEARCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"query": {"type": "string"}},
    "required": ["query"],
}
OPENAI_TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the web",
            "parameters": SEARCH_SCHEMA,
        },
    }
]
ANTHROPIC_TOOLS: Any = [
    {"name": "search", "description": "Search the web", "input_schema": SEARCH_SCHEMA}
]


def assert_usage_recorded(
    gateway: GatewayProcess,
    key_id: str,
    model: str,
    seen: Iterable[tuple[int, int, int]],
) -> None:
    """`seen`: (prompt tokens, of which cached, output tokens) per call, as the client was told.
    The usage read model must hold the same tokens for the key, and their exact cost."""
    calls = list(seen)
    price_in, price_out, price_cached = PRICES[model]
    cost = sum(
        (
            (
                (prompt - cached) * price_in
                + cached * (price_cached if price_cached is not None else price_in)
                + output * price_out
            )
            / Decimal(1_000_000)
            for prompt, cached, output in calls
        ),
        Decimal(0),
    )

    def row() -> dict[str, Any]:
        with gateway.admin() as admin:
            rows = admin.get("/usage", params={"group_by": "key"}).json()["rows"]
        mine = [r for r in rows if r["key"] == key_id]
        return mine[0] if mine and mine[0]["requests"] == len(calls) else {}

    recorded = eventually(row)
    assert recorded["input_tokens"] == sum(prompt for prompt, _, _ in calls)
    assert recorded["output_tokens"] == sum(output for _, _, output in calls)
    assert Decimal(recorded["cost_usd"]) == cost
