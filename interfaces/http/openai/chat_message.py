"""Reading a chat completion's message, as the front doors that translate it into another
dialect (Anthropic's Messages, Gemini's) read it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def message_text(message: Mapping[str, Any]) -> str:
    """The message's text: its `content` (a string, or the text of its parts, as some upstreams
    answer), else its `refusal`; "" when it has neither."""
    content = message.get("content")
    if isinstance(content, list):  # some upstreams answer with text parts
        parts = (part.get("text") if isinstance(part, Mapping) else None for part in content)
        content = "".join(part for part in parts if isinstance(part, str))
    refusal = message.get("refusal")
    if not content and isinstance(refusal, str):
        content = refusal
    return content if isinstance(content, str) else ""
