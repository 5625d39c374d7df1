"""OpenAI chat / embeddings requests → Gemini API v1beta request bodies, as pure functions:
the top level (generationConfig, tools, toolConfig) here, the messages in `gemini_contents`, the
schemas in `gemini_schema`.

Public names are re-exported by `gemini_wire`; import them from there. Anything that cannot be
said to Gemini raises `InvalidRequest` naming the offending parameter (a 400 for the client).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.gemini_contents import conversation
from infrastructure.adapters.providers.gemini_schema import gemini_schema
from infrastructure.adapters.providers.gemini_values import is_int, is_number, obj
from infrastructure.adapters.providers.legacy_functions import with_tools

MAX_STOP_SEQUENCES = 5
# OpenAI's `reasoning_effort` as a Gemini thinking budget, as Google's own OpenAI compatibility
# layer maps it (`none` turns thinking off where the model allows it).
THINKING_BUDGETS = {
    "none": 0,
    "minimal": 1024,
    "low": 1024,
    "medium": 8192,
    "high": 24576,
    "xhigh": 24576,
    "max": 24576,
}
# Gemini 3 models are steered by a thinking level instead, and cannot stop thinking: `none` is
# their lowest level.
THINKING_LEVELS = {
    "none": "low",
    "minimal": "low",
    "low": "low",
    "medium": "high",
    "high": "high",
    "xhigh": "high",
    "max": "high",
}
# The smallest budget every thinking Gemini 2.5 model takes (2.5 Pro cannot go lower).
MIN_THINKING_BUDGET = 128


def _thinking_config(effort: str, model: str, max_output: Any) -> dict[str, Any]:
    """`thinkingConfig` for a `reasoning_effort`: a level on Gemini 3 models, else a budget of
    at most half the output limit (thinking counts inside `maxOutputTokens`); the thoughts'
    summaries are asked for (`includeThoughts`) whenever the model thinks."""
    name = model.removeprefix("models/")
    if name.startswith("gemini-3"):
        return {"thinkingLevel": THINKING_LEVELS[effort], "includeThoughts": True}
    budget = THINKING_BUDGETS[effort]
    if budget and is_int(max_output) and max_output > 0:
        budget = min(budget, max(max_output // 2, MIN_THINKING_BUDGET))
    if budget == 0:
        return {"thinkingBudget": 0}
    return {"thinkingBudget": budget, "includeThoughts": True}


def _number(body: Mapping[str, Any], key: str, *, integer: bool = False) -> Any:
    value = body.get(key)
    if value is None:
        return None
    if not (is_int(value) if integer else is_number(value)):
        raise InvalidRequest(
            f"`{key}` must be {'an integer' if integer else 'a number'}.", param=key
        )
    return value


def _generation_config(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key, field in (
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
    ):
        if (value := _number(body, key)) is not None:
            config[field] = value
    for key, field in (
        ("max_tokens", "maxOutputTokens"),
        ("max_completion_tokens", "maxOutputTokens"),  # the newer name wins
        ("n", "candidateCount"),
        ("seed", "seed"),
        ("top_k", "topK"),  # not OpenAI's, but sent by clients written for vLLM & co
    ):
        if (value := _number(body, key, integer=True)) is not None:
            config[field] = value
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise InvalidRequest("`stop` must be a string or an array of strings.", param="stop")
        if len(stops) > MAX_STOP_SEQUENCES:
            raise InvalidRequest(
                f"This model takes at most {MAX_STOP_SEQUENCES} stop sequences.", param="stop"
            )
        if stops:
            config["stopSequences"] = stops
    effort = body.get("reasoning_effort")
    if effort is not None:
        if not isinstance(effort, str) or effort not in THINKING_BUDGETS:
            raise InvalidRequest(
                f"`reasoning_effort` must be one of {', '.join(THINKING_BUDGETS)}.",
                param="reasoning_effort",
            )
        most = config.get("maxOutputTokens")
        config["thinkingConfig"] = _thinking_config(effort, model, most)
    fmt = body.get("response_format")
    if fmt is not None:
        kind = obj(fmt).get("type")
        if kind in ("json_object", "json_schema"):
            config["responseMimeType"] = "application/json"
        if kind == "json_schema":
            schema = obj(obj(fmt).get("json_schema")).get("schema")
            if schema is not None:
                param = "response_format.json_schema.schema"
                config["responseSchema"] = gemini_schema(schema, param)
        elif kind not in ("text", "json_object"):
            raise InvalidRequest(
                "`response_format.type` must be text, json_object or json_schema.",
                param="response_format",
            )
    return config


def _tools(tools: Any) -> list[dict[str, Any]]:
    if tools is None or tools == []:
        return []
    if not isinstance(tools, list):
        raise InvalidRequest("`tools` must be an array.", param="tools")
    declarations = []
    for i, tool in enumerate(tools):
        at = f"tools[{i}]"
        function = obj(obj(tool).get("function"))
        name = function.get("name")
        if not isinstance(name, str) or not name or obj(tool).get("type") != "function":
            raise InvalidRequest("Only function tools with a `name` are supported.", param=at)
        declaration: dict[str, Any] = {"name": name}
        description = function.get("description")
        if isinstance(description, str) and description:
            declaration["description"] = description
        parameters = function.get("parameters")
        if parameters is not None:
            converted = gemini_schema(parameters, f"{at}.function.parameters")
            if converted.get("properties") or converted.get("type") not in ("OBJECT", None):
                declaration["parameters"] = converted  # Gemini refuses an empty OBJECT
        declarations.append(declaration)
    return [{"functionDeclarations": declarations}]


def _tool_config(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    modes = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
    if isinstance(choice, str) and choice in modes:
        return {"functionCallingConfig": {"mode": modes[choice]}}
    name = obj(obj(choice).get("function")).get("name")
    if obj(choice).get("type") != "function" or not isinstance(name, str) or not name:
        raise InvalidRequest(
            "`tool_choice` must be auto, none, required or a named function.", param="tool_choice"
        )
    return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}


def chat_request(
    body: dict[str, Any], *, fetched_images: Mapping[str, tuple[str, str]], model: str = ""
) -> dict[str, Any]:
    """An OpenAI chat request as a Gemini GenerateContentRequest (the model goes in the URL).

    `fetched_images` maps each of `http_image_urls(body)` to its (mime type, base64 data);
    `model` (the upstream's name for it) decides how thinking is asked for.
    Legacy `functions` / `function_call` are said with tools first (`legacy_functions`).
    """
    body = with_tools(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("`messages` must be a non-empty array.", param="messages")
    system, contents = conversation(messages, fetched_images)
    system_text = "\n\n".join(text for text in system if text)
    out: dict[str, Any] = {"contents": contents}
    if system_text and contents:
        out["systemInstruction"] = {"parts": [{"text": system_text}]}
    elif system_text:  # Gemini needs a turn: a conversation of instructions only becomes one
        out["contents"] = [{"role": "user", "parts": [{"text": system_text}]}]
    elif not contents:
        raise InvalidRequest("The messages hold no content to send.", param="messages")
    config = _generation_config(body, model)
    if config:
        out["generationConfig"] = config
    tools = _tools(body.get("tools"))
    tool_config = _tool_config(body.get("tool_choice"))
    if tools:
        out["tools"] = tools
        if tool_config is not None:
            out["toolConfig"] = tool_config
    return out


# --- embeddings ------------------------------------------------------------------------------


def embeddings_request(body: dict[str, Any], upstream_model: str) -> dict[str, Any]:
    """An OpenAI embeddings request as a Gemini batchEmbedContents body (at most 100 requests
    per upstream call: the adapter splits `requests` if needed)."""
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts:
        raise InvalidRequest("`input` must be a string or a non-empty array.", param="input")
    if not all(isinstance(text, str) for text in texts):
        raise InvalidRequest(
            "This model embeds text only: `input` must be a string or an array of strings "
            "(not token ids).",
            param="input",
        )
    if not all(texts):
        raise InvalidRequest("`input` must not contain empty strings.", param="input")
    dimensions = _number(body, "dimensions", integer=True)
    if dimensions is not None and dimensions < 1:
        raise InvalidRequest("`dimensions` must be at least 1.", param="dimensions")
    model = upstream_model if upstream_model.startswith("models/") else f"models/{upstream_model}"
    requests = []
    for text in texts:
        request: dict[str, Any] = {"model": model, "content": {"parts": [{"text": text}]}}
        if dimensions is not None:
            request["outputDimensionality"] = dimensions
        requests.append(request)
    return {"requests": requests}
