"""Offline prompt-token counting with the o200k_base BPE vocabulary (bpe-openai, no downloads).

Text is counted exactly with o200k_base, the way OpenAI's cookbook counts a chat: a fixed
overhead per message, one more token for a `name`, and the priming of the reply. Tool
definitions, tool calls and JSON schemas are counted by their JSON text. Media whose token
cost depends on what cannot be seen without decoding it (images, PDFs, audio) gets a
conservative estimate (`infrastructure.tokens.media_estimates`). Other providers' tokenizers
differ a little from o200k_base; the count is for reserving budget, and settling uses the
upstream's usage.

Nothing here raises on a JSON-decodable body: a part of the wrong shape is counted by the
tokens of its JSON text.

Over 300 lines as one class on purpose: the three dialects' walks share the text and JSON
fallbacks and the cached role counts, and this runs on every admitted request, so it stays
plain methods on one object.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from infrastructure.tokens.media_estimates import IMAGE_TOKENS, audio_tokens, pdf_tokens

ENCODING = "o200k_base"

TOKENS_PER_MESSAGE = 3
"""`<|start|>{role}<|message|>…<|end|>` around every message (OpenAI cookbook)."""
TOKENS_PER_NAME = 1
TOKENS_PER_TOOL_CALL = 3
"""A tool call is rendered as a message of its own, addressed to the function."""
REPLY_PRIMING = 3
"""`<|start|>assistant<|message|>`: every reply is primed with it (OpenAI cookbook)."""
TOOLS_OVERHEAD = 12
"""The `functions` namespace wrapped around OpenAI tool definitions (the cookbook's end cost)."""
ANTHROPIC_TOOL_SYSTEM_TOKENS = 346
"""The system prompt Anthropic adds when tools are given (its documented figure for Claude 4
models with tool_choice auto or none; any or a named tool costs less)."""

_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_TOOL_USE_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
_TOOL_RESULT_BLOCKS = frozenset({"tool_result", "mcp_tool_result"})
_encode_json = msgspec.json.Encoder().encode


@functools.cache
def _o200k_count() -> Callable[[str], int]:
    """The tokenizer's count function, loaded once per process (~0.4 s)."""
    from bpe_openai import _bindings  # the Rust tokenizer: counts without building a list

    count: Callable[[str], int] = _bindings.tokenizer_for_encoding(ENCODING).count
    return count


class BpePromptCounter:
    """A :class:`domains.providers.ports.PromptCounter` over the o200k_base vocabulary."""

    def __init__(self) -> None:
        """The vocabulary (~0.4 s, ~130 MB) loads on the first count or on `warm()`: a gateway
        without token-based limits never pays for it."""
        self._counter: Callable[[str], int] | None = None
        self._roles: dict[str, int] = {}

    def warm(self) -> None:
        """Loads the vocabulary now (at start-up, off the request path)."""
        if self._counter is None:
            count = _o200k_count()
            self._roles = {role: count(role) for role in _ROLES}
            self._counter = count

    def _count(self, text: str) -> int:
        if self._counter is None:
            self.warm()
            assert self._counter is not None
        return self._counter(text)

    # --- the port --------------------------------------------------------------------------

    def count_chat(self, body: Mapping[str, Any]) -> int:
        try:
            return self._chat(body) if isinstance(body, Mapping) else self._json(body)
        except Exception:  # a shape nobody foresaw: never fail the request over a count
            return self._json(body)

    def count_messages(self, body: Mapping[str, Any]) -> int:
        try:
            return self._messages(body) if isinstance(body, Mapping) else self._json(body)
        except Exception:
            return self._json(body)

    def count_embeddings(self, body: Mapping[str, Any]) -> int:
        try:
            return self._embeddings(body) if isinstance(body, Mapping) else self._json(body)
        except Exception:
            return self._json(body)

    # --- text and fallbacks ----------------------------------------------------------------

    def _text(self, text: str) -> int:
        try:
            return self._count(text)
        except UnicodeEncodeError:  # a lone surrogate, which JSON allows and UTF-8 does not
            return self._count(text.encode("utf-8", "replace").decode("utf-8"))

    def _json(self, value: object) -> int:
        """The tokens of ``value``'s JSON text; nothing at all for null."""
        if value is None:
            return 0
        if isinstance(value, str):
            return self._text(value)
        try:
            return self._text(_encode_json(value).decode("utf-8"))
        except Exception:  # nested deeper than the encoder goes
            return self._walk(value)

    def _walk(self, value: object) -> int:
        """The tokens of every string in ``value`` and one per other node, without recursion."""
        total, stack = 0, [value]
        while stack:
            item = stack.pop()
            total += 1
            if isinstance(item, str):
                total += self._text(item)
            elif isinstance(item, Mapping):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
        return total

    def _text_or_json(self, value: object) -> int:
        return self._text(value) if isinstance(value, str) else self._json(value)

    def _role(self, role: object) -> int:
        known = self._roles.get(role) if isinstance(role, str) else None
        return self._text_or_json(role) if known is None else known

    # --- OpenAI chat -----------------------------------------------------------------------

    def _chat(self, body: Mapping[str, Any]) -> int:
        total = REPLY_PRIMING
        messages = body.get("messages")
        if isinstance(messages, list):
            for message in messages:
                total += self._chat_message(message)
        else:
            total += self._json(messages)
        for key in ("tools", "functions"):
            if definitions := body.get(key):
                total += self._json(definitions) + TOOLS_OVERHEAD
        if isinstance(tool_choice := body.get("tool_choice"), Mapping):
            total += self._json(tool_choice)
        response_format = body.get("response_format")
        if isinstance(response_format, Mapping):
            total += self._json(response_format.get("json_schema"))
        else:
            total += self._json(response_format)
        return total

    def _chat_message(self, message: object) -> int:
        if not isinstance(message, Mapping):
            return self._json(message)
        total = TOKENS_PER_MESSAGE
        for key, value in message.items():
            if key == "content":
                total += self._chat_content(value)
            elif key == "role":
                total += self._role(value)
            elif key == "tool_calls" and isinstance(value, list):
                total += sum(self._tool_call(call) for call in value)
            elif key == "function_call":
                total += self._function(value)
            elif key == "name":
                total += self._text_or_json(value) + TOKENS_PER_NAME
            else:
                total += self._text_or_json(value)
        return total

    def _tool_call(self, call: object) -> int:
        if isinstance(call, Mapping) and isinstance(function := call.get("function"), Mapping):
            return self._function(function)
        return self._json(call)

    def _function(self, function: object) -> int:
        """A called function: its name and its arguments, which are JSON text already."""
        if isinstance(function, Mapping):
            name, arguments = function.get("name"), function.get("arguments")
            if isinstance(name, str) and isinstance(arguments, str):
                return self._text(name) + self._text(arguments) + TOKENS_PER_TOOL_CALL
        return self._json(function)

    def _chat_content(self, content: object) -> int:
        if isinstance(content, str):
            return self._text(content)
        if not isinstance(content, list):
            return self._json(content)
        return sum(self._chat_part(part) for part in content)

    def _chat_part(self, part: object) -> int:
        if not isinstance(part, Mapping):
            return self._json(part)
        kind = part.get("type")
        if kind == "text" and isinstance(text := part.get("text"), str):
            return self._text(text)
        if kind == "refusal" and isinstance(refusal := part.get("refusal"), str):
            return self._text(refusal)
        if kind == "image_url":
            return IMAGE_TOKENS
        if kind == "input_audio" and isinstance(audio := part.get("input_audio"), Mapping):
            data = audio.get("data")
            return audio_tokens(data) if isinstance(data, str) else self._json(part)
        if kind == "file" and isinstance(file := part.get("file"), Mapping):
            return pdf_tokens(file.get("file_data"))
        return self._json(part)

    # --- Anthropic messages ----------------------------------------------------------------

    def _messages(self, body: Mapping[str, Any]) -> int:
        total = REPLY_PRIMING
        system = body.get("system")
        if system is not None:
            total += TOKENS_PER_MESSAGE + self._blocks(system)
        messages = body.get("messages")
        if isinstance(messages, list):
            for message in messages:
                total += self._anthropic_message(message)
        else:
            total += self._json(messages)
        if tools := body.get("tools"):
            total += self._json(tools) + ANTHROPIC_TOOL_SYSTEM_TOKENS
        if isinstance(output_config := body.get("output_config"), Mapping):
            total += self._json(output_config.get("format"))
        total += self._json(body.get("output_format"))
        return total

    def _anthropic_message(self, message: object) -> int:
        if not isinstance(message, Mapping):
            return self._json(message)
        role, content = message.get("role"), message.get("content")
        return TOKENS_PER_MESSAGE + self._role(role) + self._blocks(content)

    def _blocks(self, content: object) -> int:
        """A string, or a list of content blocks (`system`, `content`, a tool result's)."""
        if isinstance(content, str):
            return self._text(content)
        if not isinstance(content, list):
            return self._json(content)
        return sum(self._block(block) for block in content)

    def _block(self, block: object) -> int:
        if not isinstance(block, Mapping):
            return self._json(block)
        kind = block.get("type")
        if not isinstance(kind, str):
            return self._json(block)
        if kind == "text" and isinstance(text := block.get("text"), str):
            return self._text(text)
        if kind == "image":
            return IMAGE_TOKENS
        if kind == "document":
            return self._document(block)
        if kind in _TOOL_USE_BLOCKS:
            return self._text_or_json(block.get("name")) + self._json(block.get("input"))
        if kind in _TOOL_RESULT_BLOCKS:
            return TOKENS_PER_TOOL_CALL + self._blocks(block.get("content"))
        if kind == "thinking" and isinstance(thinking := block.get("thinking"), str):
            return self._text(thinking)
        if kind == "search_result":
            source, title = block.get("source"), block.get("title")
            extra = self._text_or_json(source) + self._text_or_json(title)
            return extra + self._blocks(block.get("content"))
        return self._json(block)

    def _document(self, block: Mapping[str, Any]) -> int:
        total = self._json(block.get("title")) + self._json(block.get("context"))
        source = block.get("source")
        if not isinstance(source, Mapping):
            return total + self._json(source)
        kind, data = source.get("type"), source.get("data")
        if kind == "text" and isinstance(data, str):
            return total + self._text(data)
        if kind == "content":
            return total + self._blocks(source.get("content"))
        return total + pdf_tokens(data)

    # --- OpenAI embeddings -----------------------------------------------------------------

    def _embeddings(self, body: Mapping[str, Any]) -> int:
        value = body.get("input")
        if isinstance(value, str):
            return self._text(value)
        if not isinstance(value, list):
            return self._json(value)
        total = 0
        for item in value:
            if isinstance(item, str):
                total += self._text(item)
            elif isinstance(item, int):
                total += 1
            elif isinstance(item, list) and all(isinstance(token, int) for token in item):
                total += len(item)
            else:
                total += self._json(item)
        return total
