"""The models of the test gateways that price every kind of token: one a provider kind, each
served by its fake's `fake-every-token` (which reports cache reads, cache writes and reasoning),
each with a long-context tier its fake's prompts cross once they are long enough.

The prices are the YAML's, as strings; the tests compute what a call costs from them on their
own (exact fractions), never through the gateway's code.
"""

from __future__ import annotations

from typing import Any

# model → (provider, price as the YAML writes it). Each threshold lies between what a prompt of
# a few words and one of 150 words make once the fake's cached prefix is added.
EVERY_TOKEN_MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "gpt-every-token": (
        "openai",
        {
            "input_per_mtok": "2",
            "output_per_mtok": "8",
            "cached_input_per_mtok": "0.5",
            "reasoning_output_per_mtok": "12",
            "tiers": [
                {
                    "above_input_tokens": 1100,
                    "input_per_mtok": "4",
                    "output_per_mtok": "16",
                    "cached_input_per_mtok": "1",
                    "reasoning_output_per_mtok": "24",
                }
            ],
        },
    ),
    "local-every-token": (  # no cache or reasoning price: they cost the input and output price
        "local",
        {
            "input_per_mtok": "0.1",
            "output_per_mtok": "0.3",
            "tiers": [
                {"above_input_tokens": 1100, "input_per_mtok": "0.2", "output_per_mtok": "0.6"}
            ],
        },
    ),
    "claude-every-token": (
        "anthropic",
        {
            "input_per_mtok": "3",
            "output_per_mtok": "15",
            "cached_input_per_mtok": "0.3",
            "cache_write_5m_per_mtok": "3.75",
            "cache_write_1h_per_mtok": "6",
            "tiers": [
                {
                    "above_input_tokens": 2900,
                    "input_per_mtok": "6",
                    "output_per_mtok": "22.5",
                    "cached_input_per_mtok": "0.6",
                    "cache_write_5m_per_mtok": "7.5",
                    "cache_write_1h_per_mtok": "12",
                }
            ],
        },
    ),
    "gemini-every-token": (
        "gemini",
        {
            "input_per_mtok": "1.25",
            "output_per_mtok": "10",
            "cached_input_per_mtok": "0.125",
            "tiers": [
                {
                    "above_input_tokens": 4200,
                    "input_per_mtok": "2.5",
                    "output_per_mtok": "15",
                    "cached_input_per_mtok": "0.25",
                }
            ],
        },
    ),
}


def every_token_models(provider: str) -> list[dict[str, Any]]:
    """The provider's entries of `models:` for the models above."""
    return [
        {"name": name, "upstream": "fake-every-token", "price": price}
        for name, (of, price) in EVERY_TOKEN_MODELS.items()
        if of == provider
    ]
