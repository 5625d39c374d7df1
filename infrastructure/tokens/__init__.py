"""Counting a request's prompt tokens offline, before it goes upstream."""

from infrastructure.tokens.bpe_prompt_counter import BpePromptCounter

__all__ = ["BpePromptCounter"]
