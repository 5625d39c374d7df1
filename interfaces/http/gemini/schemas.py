"""What the Gemini routes accept and answer, as msgspec structs: the request bodies are checked
against them (a wrong type or range is a 400 naming the field), and the OpenAPI document
describes the routes with their JSON Schemas. Validation only: the body itself passes on, and
fields not named here (and the snake_case spellings proto-JSON also takes) reach a Gemini
upstream unchanged; the translators read the rest.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from domains.providers.output_limit import MAX_OUTPUT_TOKENS_ASKED

OutputTokens = Annotated[int, Meta(ge=1, le=MAX_OUTPUT_TOKENS_ASKED)]


class _Camel(msgspec.Struct, rename="camel", omit_defaults=True):
    """Fields named as Google's JSON names them."""


class Blob(_Camel):
    mime_type: Annotated[str, Meta(min_length=1)]
    data: str
    """The bytes, base64."""


class FileData(_Camel):
    file_uri: Annotated[str, Meta(min_length=1)]
    mime_type: str | None = None


class FunctionCall(_Camel):
    name: Annotated[str, Meta(min_length=1)]
    args: dict[str, Any] | None = None
    id: str | None = None


class FunctionResponse(_Camel):
    name: Annotated[str, Meta(min_length=1)]
    response: dict[str, Any] | None = None
    id: str | None = None


class Part(_Camel):
    """One of `text`, `inlineData`, `fileData`, `functionCall`, `functionResponse` (or a part
    only Gemini models take, such as `executableCode`)."""

    text: str | None = None
    inline_data: Blob | None = None
    file_data: FileData | None = None
    function_call: FunctionCall | None = None
    function_response: FunctionResponse | None = None
    thought: bool | None = None
    thought_signature: str | None = None


class Content(_Camel):
    parts: list[Part]
    role: str | None = None
    """`user` (the default) or `model`."""


class FunctionDeclaration(_Camel):
    name: Annotated[str, Meta(min_length=1, max_length=128)]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    """A Gemini `Schema` (types in upper case)."""
    parameters_json_schema: dict[str, Any] | None = None


class Tool(_Camel):
    function_declarations: list[FunctionDeclaration] | None = None
    google_search: dict[str, Any] | None = None
    code_execution: dict[str, Any] | None = None
    url_context: dict[str, Any] | None = None


class FunctionCallingConfig(_Camel):
    mode: str | None = None
    """AUTO, ANY, NONE or VALIDATED."""
    allowed_function_names: list[str] | None = None


class ToolConfig(_Camel):
    function_calling_config: FunctionCallingConfig | None = None


class ThinkingConfig(_Camel):
    include_thoughts: bool | None = None
    thinking_budget: Annotated[int, Meta(ge=-1)] | None = None
    thinking_level: str | None = None
    """MINIMAL, LOW, MEDIUM or HIGH."""


class GenerationConfig(_Camel):
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_k: Annotated[float, Meta(ge=0)] | None = None
    """A whole number; Google's SDK writes it as a float."""
    max_output_tokens: OutputTokens | None = None
    candidate_count: Annotated[int, Meta(ge=1, le=8)] | None = None
    stop_sequences: Annotated[list[str], Meta(max_length=5)] | None = None
    presence_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None
    seed: Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)] | None = None
    response_mime_type: str | None = None
    """text/plain (the default) or application/json."""
    response_schema: dict[str, Any] | None = None
    """A Gemini `Schema`."""
    response_json_schema: dict[str, Any] | None = None
    response_modalities: list[str] | None = None
    thinking_config: ThinkingConfig | None = None


class SafetySetting(_Camel):
    category: str
    threshold: str


class GenerateContentRequest(_Camel):
    contents: Annotated[list[Content], Meta(min_length=1)]
    system_instruction: Content | None = None
    tools: list[Tool] | None = None
    tool_config: ToolConfig | None = None
    generation_config: GenerationConfig | None = None
    safety_settings: list[SafetySetting] | None = None
    cached_content: str | None = None


class CountTokensRequest(_Camel):
    """`contents`, or a whole `generateContentRequest`."""

    contents: list[Content] | None = None
    generate_content_request: GenerateContentRequest | None = None


class EmbedContentRequest(_Camel):
    content: Content
    model: str | None = None
    """`models/{model}`, the model of the route, when given."""
    task_type: str | None = None
    title: str | None = None
    output_dimensionality: Annotated[int, Meta(ge=1)] | None = None


class BatchEmbedContentsRequest(_Camel):
    requests: Annotated[list[EmbedContentRequest], Meta(min_length=1, max_length=2048)]


# --- answers (documented) ----------------------------------------------------------------------


class Candidate(_Camel):
    content: Content | None = None
    finish_reason: str | None = None
    """STOP, MAX_TOKENS, SAFETY, OTHER..."""
    index: int | None = None


class UsageMetadata(_Camel):
    prompt_token_count: int | None = None
    candidates_token_count: int | None = None
    total_token_count: int | None = None
    cached_content_token_count: int | None = None
    thoughts_token_count: int | None = None


class GenerateContentResponse(_Camel):
    candidates: list[Candidate] | None = None
    usage_metadata: UsageMetadata | None = None
    model_version: str | None = None
    response_id: str | None = None


class CountTokensResponse(_Camel):
    total_tokens: int


class ContentEmbedding(_Camel):
    values: list[float]


class EmbedContentResponse(_Camel):
    embedding: ContentEmbedding


class BatchEmbedContentsResponse(_Camel):
    embeddings: list[ContentEmbedding]


class Status(msgspec.Struct):
    code: int
    message: str
    status: str
    """Google's status name: INVALID_ARGUMENT, UNAUTHENTICATED, NOT_FOUND, RESOURCE_EXHAUSTED..."""
    details: list[dict[str, Any]] | None = None


class GoogleError(msgspec.Struct):
    error: Status
