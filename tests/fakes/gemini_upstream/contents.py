"""A request's contents and generation config checked as the API checks them: parts and their
token counts, the turns' order, the declared functions, the response MIME types."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any, Final

from tests.fakes.gemini_upstream.errors import invalid_argument
from tests.fakes.gemini_upstream.models import (
    FUNCTION_NAME_RE,
    MAX_CANDIDATES,
    MAX_STOP_SEQUENCES,
    encode,
)
from tests.fakes.gemini_upstream.proto_json import DATA_FIELDS
from tests.fakes.server import (
    count_words,
)


def _compact(value: object) -> str:
    return encode(value).decode()


def _media_word(mime_type: str) -> str:
    major = mime_type.partition("/")[0].lower()
    return f"[{major}]" if major in ("image", "audio", "video") else "[file]"


def _modality(mime_type: str) -> str:
    major = mime_type.partition("/")[0].lower()
    return {"image": "IMAGE", "audio": "AUDIO", "video": "VIDEO"}.get(major, "DOCUMENT")


def _function_response_text(response: dict[str, Any]) -> str:
    if len(response) == 1:
        ((key, value),) = response.items()
        if key in ("content", "result") and isinstance(value, str):
            return value
    return _compact(response)


def part_text(part: dict[str, Any]) -> str | None:
    """How one (parsed, camelCase) part reads in the echo: its text, ``[image]`` (``[audio]``,
    ``[video]``, ``[file]``) for inline/file data, the rendered ``functionResponse``; None for
    parts that do not contribute (function calls, code execution, ...)."""
    if "text" in part:
        return part["text"] or None
    for key in ("inlineData", "fileData"):
        if key in part:
            return _media_word(part[key].get("mimeType", ""))
    if "functionResponse" in part:
        return _function_response_text(part["functionResponse"].get("response", {}))
    return None


def part_tokens(part: dict[str, Any]) -> tuple[int, str]:
    """(prompt tokens, modality) of one part."""
    if "text" in part:
        return count_words(part["text"]), "TEXT"
    for key in ("inlineData", "fileData"):
        if key in part:
            return 1, _modality(part[key].get("mimeType", ""))
    if "functionCall" in part:
        return count_words(_compact(part["functionCall"].get("args", {}))), "TEXT"
    if "functionResponse" in part:
        return count_words(part_text(part) or ""), "TEXT"
    data = next((part[k] for k in DATA_FIELDS if k in part), "")
    return count_words(data if isinstance(data, str) else _compact(data)), "TEXT"


def new_response_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()


_RESPONSE_MIME_TYPES: Final = frozenset(
    {"text/plain", "application/json", "application/xml", "application/yaml", "text/x.enum"}
)


@dataclass(slots=True)
class Usage:
    """`prompt_tokens` includes `cached_tokens`; `thoughts_tokens` are counted apart from the
    candidates' tokens, and in the total."""

    prompt_tokens: int
    prompt_details: list[dict[str, Any]]
    cached_tokens: int = 0
    thoughts_tokens: int = 0

    def render(self, candidates_tokens: int) -> dict[str, Any]:
        # Proto3 JSON omits zero-valued fields, and so does Google.
        usage: dict[str, Any] = {"promptTokenCount": self.prompt_tokens}
        if candidates_tokens:
            usage["candidatesTokenCount"] = candidates_tokens
        usage["totalTokenCount"] = self.prompt_tokens + candidates_tokens + self.thoughts_tokens
        if self.cached_tokens:
            usage["cachedContentTokenCount"] = self.cached_tokens
        usage["promptTokensDetails"] = self.prompt_details
        if self.cached_tokens:
            usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": self.cached_tokens}]
        if self.thoughts_tokens:
            usage["thoughtsTokenCount"] = self.thoughts_tokens
        return usage


@dataclass(slots=True)
class GenPlan:
    """Everything needed to render a GenerateContentResponse, streamed or not."""

    model: str
    usage: Usage
    pieces: list[str] = field(default_factory=list)  # reply text pieces (text mode)
    function_call: dict[str, Any] | None = None  # {"name", "args"} (call mode)
    finish_reason: str = "STOP"
    candidate_count: int = 1
    thought: str | None = None  # the thoughts' summary shown before the answer

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def candidates_tokens(self) -> int:
        if self.function_call is not None:
            per_candidate = count_words(_compact(self.function_call["args"]))
        else:
            per_candidate = count_words(self.text)
        return per_candidate * self.candidate_count


def validate_contents(
    contents: list[tuple[str, dict[str, Any]]], violations: list[tuple[str, str]]
) -> None:
    """``contents``: (field path, parsed Content) pairs."""
    for where, content in contents:
        parts = content.get("parts") or []
        if not parts:
            violations.append((f"{where}.parts", "contents.parts must not be empty."))
        for j, part in enumerate(parts):
            path = f"{where}.parts[{j}]"
            present = [k for k in DATA_FIELDS if k in part]
            if not present:
                violations.append(
                    (f"{path}.data", "required oneof field 'data' must have one initialized field")
                )
                continue
            if len(present) > 1:
                raise invalid_argument(
                    "Invalid JSON payload received. Oneof field 'data' is already set. "
                    f"Cannot set '{present[1]}'"
                )
            if "inlineData" in part:
                blob = part["inlineData"]
                if not blob.get("mimeType"):
                    violations.append((f"{path}.inline_data.mime_type", "must not be empty."))
                if "data" not in blob:
                    violations.append((f"{path}.inline_data.data", "must not be empty."))
            elif "fileData" in part and not part["fileData"].get("fileUri"):
                violations.append((f"{path}.file_data.file_uri", "must not be empty."))
            elif "functionCall" in part and not part["functionCall"].get("name"):
                violations.append((f"{path}.function_call.name", "Name cannot be empty."))
            elif "functionResponse" in part:
                response = part["functionResponse"]
                if not response.get("name"):
                    violations.append((f"{path}.function_response.name", "Name cannot be empty."))
                if "response" not in response:
                    violations.append(
                        (f"{path}.function_response.response", "response must be set.")
                    )


def check_turns(contents: list[dict[str, Any]]) -> None:
    """Roles and function call/response pairing, as Gemini enforces them."""
    for i, content in enumerate(contents):
        role = content.get("role", "")
        if role not in ("", "user", "model"):
            raise invalid_argument(
                f"Please use a valid role: user, model. (contents[{i}].role is {_compact(role)})",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [
                            {
                                "field": f"contents[{i}].role",
                                "description": f"Invalid role {_compact(role)}; use user or model.",
                            }
                        ],
                    }
                ],
            )
    for i, content in enumerate(contents):
        responses = [p["functionResponse"] for p in content["parts"] if "functionResponse" in p]
        if not responses:
            continue
        previous = contents[i - 1] if i > 0 else None
        calls = (
            [p["functionCall"] for p in previous["parts"] if "functionCall" in p]
            if previous is not None and previous.get("role") == "model"
            else []
        )
        if not calls:
            raise invalid_argument(
                "Please ensure that function response turn comes immediately after a function "
                "call turn."
            )
        if len(responses) != len(calls):
            raise invalid_argument(
                "Please ensure that the number of function response parts is equal to the number "
                "of function call parts of the function call turn."
            )
        called = {c["name"] for c in calls}
        for response in responses:
            if response["name"] not in called:
                raise invalid_argument(
                    f"Function response name {response['name']!r} in contents[{i}] does not "
                    f"match any function call of the preceding model turn ({sorted(called)})."
                )


def declared_functions(tools: list[dict[str, Any]], violations: list[tuple[str, str]]) -> list[str]:
    names: list[str] = []
    for i, tool in enumerate(tools):
        for j, decl in enumerate(tool.get("functionDeclarations", [])):
            path = f"tools[{i}].function_declarations[{j}]"
            name = decl.get("name", "")
            if not FUNCTION_NAME_RE.fullmatch(name):
                violations.append(
                    (
                        f"{path}.name",
                        "Invalid function name. Must start with a letter or an underscore. Must "
                        "be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or "
                        "dashes (-), with a maximum length of 64.",
                    )
                )
            elif name in names:
                violations.append((f"{path}.name", f"Duplicate function declaration found: {name}"))
            if "parameters" in decl and "parametersJsonSchema" in decl:
                violations.append(
                    (
                        f"{path}.parameters",
                        "parameters and parameters_json_schema must not both be set.",
                    )
                )
            names.append(name)
    return names


def function_schema(tools: list[dict[str, Any]], name: str) -> Any:
    """The parameters schema of a declared function (OpenAPI-style or JSON Schema), or None."""
    for tool in tools:
        for decl in tool.get("functionDeclarations", []):
            if decl.get("name") == name:
                return decl.get("parameters") or decl.get("parametersJsonSchema")
    return None


def validate_generation_config(config: dict[str, Any], violations: list[tuple[str, str]]) -> None:
    where = "generation_config"
    temperature = config.get("temperature")
    if temperature is not None and not 0.0 <= temperature <= 2.0:
        violations.append((f"{where}.temperature", "temperature must be in the range [0.0, 2.0]"))
    top_p = config.get("topP")
    if top_p is not None and not 0.0 <= top_p <= 1.0:
        violations.append((f"{where}.top_p", "top_p must be in the range [0.0, 1.0]"))
    top_k = config.get("topK")
    if top_k is not None and top_k < 0:
        violations.append((f"{where}.top_k", "top_k must be non-negative."))
    max_tokens = config.get("maxOutputTokens")
    if max_tokens is not None and max_tokens < 1:
        violations.append((f"{where}.max_output_tokens", "max_output_tokens must be positive."))
    stops = config.get("stopSequences", [])
    if len(stops) > MAX_STOP_SEQUENCES:
        violations.append(
            (
                f"{where}.stop_sequences",
                f"at most {MAX_STOP_SEQUENCES} stop sequences are allowed.",
            )
        )
    count = config.get("candidateCount")
    if count is not None and not 1 <= count <= MAX_CANDIDATES:
        violations.append(
            (
                f"{where}.candidate_count",
                f"candidate_count must be in the range [1, {MAX_CANDIDATES}]",
            )
        )
    mime = config.get("responseMimeType")
    if mime is not None and mime not in _RESPONSE_MIME_TYPES:
        violations.append(
            (
                f"{where}.response_mime_type",
                "allowed mimetypes are `text/plain`, `application/json`, `application/xml`, "
                "`application/yaml` and `text/x.enum`.",
            )
        )
