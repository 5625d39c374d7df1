"""The usage a generation's ending message carries: the very figures its call was billed with."""

from __future__ import annotations

from domains.providers.events import CompletionFinished
from interfaces.ws.messages import PromptTokensDetails, UsageOut


def usage_out(event: CompletionFinished | None) -> UsageOut:
    """The usage a call was billed with (nothing for a call that never reached its model)."""
    prompt = event.input_tokens if event is not None else 0
    completion = event.output_tokens if event is not None else 0
    return UsageOut(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=PromptTokensDetails(
            cached_tokens=event.cached_tokens if event is not None else 0
        ),
        estimated=event is not None and not event.usage_reported,
    )
