"""What the OpenAI-compatible routes accept. Validation only: the body itself passes through,
so parameters not named here still reach the upstream."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from domains.providers.output_limit import MAX_OUTPUT_TOKENS_ASKED

NonEmpty = Annotated[str, Meta(min_length=1, max_length=256)]
# `max_tokens` and the like: no model produces more than the bound (see `output_limit`)
OutputTokens = Annotated[int, Meta(ge=1, le=MAX_OUTPUT_TOKENS_ASKED)]


class StreamOptions(msgspec.Struct):
    include_usage: bool = False


class FunctionDefinition(msgspec.Struct):
    name: Annotated[str, Meta(min_length=1, max_length=128)]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(msgspec.Struct):
    type: Literal["function"]
    function: FunctionDefinition


class FunctionCallChoice(msgspec.Struct):
    """Legacy `function_call: {"name": ...}`."""

    name: Annotated[str, Meta(min_length=1, max_length=128)]


class ChatMessage(msgspec.Struct):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class ChatCompletionRequest(msgspec.Struct):
    model: NonEmpty
    messages: Annotated[list[ChatMessage], Meta(min_length=1)]
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    max_tokens: OutputTokens | None = None
    max_completion_tokens: OutputTokens | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    n: Annotated[int, Meta(ge=1, le=128)] | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    # legacy, said with tools for the vendors that only know tools
    functions: Annotated[list[FunctionDefinition], Meta(min_length=1)] | None = None
    function_call: Literal["none", "auto"] | FunctionCallChoice | None = None


class EmbeddingsRequest(msgspec.Struct):
    model: NonEmpty
    # a string, or a non-empty list of strings, of token ids, or of lists of token ids
    input: str | Annotated[list[Any], Meta(min_length=1, max_length=2048)]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Annotated[int, Meta(ge=1)] | None = None
    user: str | None = None


def embeddings_input_problem(value: str | list[Any]) -> str | None:
    """Why `input` is not one of the shapes OpenAI accepts, or None when it is."""
    if isinstance(value, str):
        return None if value else "must not be empty"
    if all(isinstance(item, str) for item in value):
        return None
    if all(isinstance(item, int) and not isinstance(item, bool) for item in value):
        return None
    if all(
        isinstance(item, list)
        and item
        and all(isinstance(token, int) and not isinstance(token, bool) for token in item)
        for item in value
    ):
        return None
    return "must be a string, or a list of strings, of token ids or of lists of token ids"
