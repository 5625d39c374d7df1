"""What one model call used, in tokens of every kind its price tells apart.

The providers context reads it from each upstream's answer; the billing context prices it. The
counts nest: `input_tokens` is the whole prompt, cache reads and cache writes included;
`output_tokens` is everything generated, reasoning included. A count that does not fit inside
its total (an upstream's mistake) is brought within it when priced (`parts`), never billed twice.
"""

from __future__ import annotations

import msgspec


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """Token counts of one call, as the upstream reported them.

    - `input_tokens`: every prompt token, including the ones below.
    - `cached_tokens`: prompt tokens read from the provider's prompt cache.
    - `cache_write_5m_tokens`, `cache_write_1h_tokens`: prompt tokens written to the prompt
      cache for 5 minutes or for 1 hour (Anthropic's cache writes).
    - `output_tokens`: every generated token, including `reasoning_tokens`.
    - `reasoning_tokens`: generated tokens of hidden reasoning (OpenAI's reasoning tokens,
      Gemini's thoughts).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0

    def with_output(self, output_tokens: int) -> Usage:
        """The same usage with `output_tokens` generated, reasoning no more than that."""
        return msgspec.structs.replace(
            self,
            output_tokens=output_tokens,
            reasoning_tokens=min(self.reasoning_tokens, output_tokens),
        )

    def parts(self) -> tuple[int, int, int, int, int, int]:
        """The tokens of each kind, none counted twice and none negative: (plain input, cache
        reads, 5-minute cache writes, 1-hour cache writes, plain output, reasoning). Cache reads
        come out of the prompt first, then 5-minute writes, then 1-hour writes; reasoning out of
        the output: a part larger than what is left of its total is cut to it."""
        prompt = self.input_tokens if self.input_tokens > 0 else 0
        left = prompt
        read = _within(self.cached_tokens, left)
        left -= read
        write_5m = _within(self.cache_write_5m_tokens, left)
        left -= write_5m
        write_1h = _within(self.cache_write_1h_tokens, left)
        output = self.output_tokens if self.output_tokens > 0 else 0
        reasoning = _within(self.reasoning_tokens, output)
        return left - write_1h, read, write_5m, write_1h, output - reasoning, reasoning


def _within(count: int, most: int) -> int:
    return 0 if count <= 0 else count if count < most else most
