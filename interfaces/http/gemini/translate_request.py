"""A Gemini `GenerateContentRequest` → an OpenAI chat request, as a pure function (the front
door of `:generateContent` and `:streamGenerateContent` for models that are not Gemini's, and
the estimate of a Gemini body's tokens for any model).

The opposite of `infrastructure.adapters.providers.gemini_request`. Only `InvalidRequest` (a
400 naming the field, by its camelCase name) leaves it.

- `contents`: a `user` turn becomes its tool messages (one per `functionResponse`, first, as
  OpenAI wants them right after the assistant's tool calls), then one user message with its
  text and media parts (`inlineData` images, wav/mp3 audio and PDFs; `fileData` images by URL);
  a `model` turn becomes one assistant message with its text and its tool calls. Thought parts
  are never replayed. A `functionCall` without an `id` is given `call_<turn>_<part>`, and a
  `functionResponse` without one answers the earliest unanswered call of the same name.
- `systemInstruction` → a system message; `tools[].functionDeclarations` → function tools
  (`parametersJsonSchema` as it is, `parameters` translated from Gemini's schema);
  `toolConfig.functionCallingConfig` → `tool_choice` (`ANY` with one allowed name → that
  function; with several → `required`, offering only those).
- `generationConfig`: `temperature`, `topP` → `top_p`, `maxOutputTokens` → `max_tokens`,
  `stopSequences` → `stop`, `candidateCount` → `n`, `presencePenalty`, `frequencyPenalty`,
  `seed`; `responseMimeType: application/json` → `response_format` (`json_schema` with
  `responseJsonSchema`, or `responseSchema` translated; else `json_object`); `thinkingConfig`
  → `reasoning_effort` (`thinkingLevel` as it is, a positive `thinkingBudget` by size).

What only Gemini understands (Google Search and the other built-in tools, `cachedContent`,
executable code parts, files by URI that are not images, `text/x.enum`, audio or image output)
is refused with a 400, unless `lenient`: the body then goes to Gemini as it is and its
translation only estimates its tokens, so such things are left out (or counted as their JSON
text). `safetySettings`, `topK`, `labels` and the like have no OpenAI meaning and are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domains.providers.errors import InvalidRequest
from domains.providers.output_limit import MAX_OUTPUT_TOKENS_ASKED
from interfaces.http.gemini.fields import (
    array,
    boolean,
    check,
    field,
    integer,
    number,
    obj,
    string,
)
from interfaces.http.gemini.translate_contents import Conversation, only_gemini, system_messages
from interfaces.http.gemini.translate_schema import json_schema

MAX_STOP_SEQUENCES = 5
MAX_CANDIDATES = 8
_LEVELS = frozenset({"minimal", "low", "medium", "high"})
_MODES = {"AUTO": "auto", "VALIDATED": "auto", "MODE_UNSPECIFIED": "auto", "NONE": "none"}


def gemini_to_chat(
    body: dict[str, Any], *, model: str, stream: bool = False, lenient: bool = False
) -> dict[str, Any]:
    """The OpenAI chat request saying what the Gemini `body` asks of `model`."""
    check(isinstance(body, Mapping), "", "The request body must be a JSON object")
    conversation = Conversation(lenient).messages(field(body, "contents"))
    messages = [*system_messages(field(body, "systemInstruction"), lenient), *conversation]
    out: dict[str, Any] = {"model": model, "messages": messages}
    _generation(obj(field(body, "generationConfig"), "generationConfig"), out, lenient)
    _tools(body, out, lenient)
    if not lenient:
        cached = field(body, "cachedContent")
        check(cached is None or cached == "", "cachedContent", only_gemini("names a Gemini cache"))
    if stream:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}  # the front always reports usage
    return out


# --- parameters --------------------------------------------------------------------------------


def _generation(config: Mapping[str, Any], out: dict[str, Any], lenient: bool) -> None:
    at = "generationConfig"
    for key, name, least, most in (
        ("temperature", "temperature", 0.0, 2.0),
        ("topP", "top_p", 0.0, 1.0),
        ("presencePenalty", "presence_penalty", -2.0, 2.0),
        ("frequencyPenalty", "frequency_penalty", -2.0, 2.0),
    ):
        if (value := field(config, key)) is not None:
            out[name] = number(value, f"{at}.{key}", least=least, most=most)
    for key, name, most in (
        ("maxOutputTokens", "max_tokens", MAX_OUTPUT_TOKENS_ASKED),
        ("candidateCount", "n", MAX_CANDIDATES),
    ):
        if (value := field(config, key)) is not None:
            out[name] = integer(value, f"{at}.{key}", least=1, most=most)
    if (seed := field(config, "seed")) is not None:
        out["seed"] = integer(seed, f"{at}.seed", least=-(2**31), most=2**31 - 1)
    if (top_k := field(config, "topK")) is not None:
        number(top_k, f"{at}.topK", least=0, most=2**31 - 1)  # no OpenAI meaning: dropped
    stops = array(field(config, "stopSequences"), f"{at}.stopSequences")
    ok = all(isinstance(stop, str) for stop in stops) and len(stops) <= MAX_STOP_SEQUENCES
    check(ok, f"{at}.stopSequences", f"must be at most {MAX_STOP_SEQUENCES} strings")
    if stops:
        out["stop"] = list(stops)
    _response_format(config, out, lenient)
    _thinking(obj(field(config, "thinkingConfig"), f"{at}.thinkingConfig"), out)
    modalities = array(field(config, "responseModalities"), f"{at}.responseModalities")
    if not lenient:
        ok = all(isinstance(m, str) and m.upper() == "TEXT" for m in modalities)
        check(ok, f"{at}.responseModalities", "may only ask for TEXT from this model")


def _response_format(config: Mapping[str, Any], out: dict[str, Any], lenient: bool) -> None:
    at = "generationConfig"
    mime = field(config, "responseMimeType")
    mime = string(mime, f"{at}.responseMimeType").lower() if mime is not None else ""
    given = field(config, "responseJsonSchema")
    schema = field(config, "responseSchema")
    if mime != "application/json":
        if not lenient:
            check(
                mime in ("", "text/plain"),
                f"{at}.responseMimeType",
                "must be text/plain or application/json for this model",
            )
            check(
                given is None and schema is None,
                f"{at}.responseMimeType",
                "must be application/json with a response schema",
            )
        return
    translated: Any = None
    if given is not None:
        translated = obj(given, f"{at}.responseJsonSchema")
    elif schema is not None:
        try:
            translated = json_schema(schema, f"{at}.responseSchema")
        except InvalidRequest:
            if not lenient:
                raise
    if translated is None:
        out["response_format"] = {"type": "json_object"}
        return
    named = {"name": "response", "schema": dict(translated)}
    out["response_format"] = {"type": "json_schema", "json_schema": named}


def _thinking(thinking: Mapping[str, Any], out: dict[str, Any]) -> None:
    at = "generationConfig.thinkingConfig"
    if (include := field(thinking, "includeThoughts")) is not None:
        boolean(include, f"{at}.includeThoughts")
    level = field(thinking, "thinkingLevel")
    if level is not None:
        name = string(level, f"{at}.thinkingLevel").lower()
        if name in ("", "thinking_level_unspecified"):
            return
        check(name in _LEVELS, f"{at}.thinkingLevel", "must be MINIMAL, LOW, MEDIUM or HIGH")
        out["reasoning_effort"] = name
        return
    budget = field(thinking, "thinkingBudget")
    if budget is None:
        return
    tokens = integer(budget, f"{at}.thinkingBudget", least=-1)
    if tokens > 0:  # 0 turns thinking off, -1 leaves it to the model: no effort to name
        out["reasoning_effort"] = (
            "low" if tokens <= 1024 else "medium" if tokens <= 8192 else "high"
        )


def _tools(body: Mapping[str, Any], out: dict[str, Any], lenient: bool) -> None:
    functions: list[dict[str, Any]] = []
    for i, item in enumerate(array(field(body, "tools"), "tools")):
        where = f"tools[{i}]"
        tool = obj(item, where)
        for key, value in tool.items():
            if key not in ("functionDeclarations", "function_declarations") and not lenient:
                check(value is None, f"{where}.{key}", only_gemini("is a built-in tool"))
        declarations = array(field(tool, "functionDeclarations"), f"{where}.functionDeclarations")
        for j, declaration in enumerate(declarations):
            functions.append(
                _function(
                    obj(declaration, f"{where}.functionDeclarations[{j}]"),
                    f"{where}.functionDeclarations[{j}]",
                )
            )
    config = obj(field(body, "toolConfig"), "toolConfig")
    calling = obj(field(config, "functionCallingConfig"), "toolConfig.functionCallingConfig")
    at = "toolConfig.functionCallingConfig"
    mode = field(calling, "mode")
    mode = string(mode, f"{at}.mode").upper() if mode is not None else "AUTO"
    check(mode in (*_MODES, "ANY"), f"{at}.mode", "must be AUTO, ANY, NONE or VALIDATED")
    allowed = array(field(calling, "allowedFunctionNames"), f"{at}.allowedFunctionNames")
    check(
        all(isinstance(name, str) for name in allowed),
        f"{at}.allowedFunctionNames",
        "must be an array of strings",
    )
    if not functions:
        return
    choice: Any = _MODES.get(mode, "required")
    if mode == "ANY" and allowed:
        offered = [tool for tool in functions if tool["function"]["name"] in allowed]
        check(bool(offered), f"{at}.allowedFunctionNames", "names no declared function")
        functions = offered
        if len(offered) == 1:
            choice = {"type": "function", "function": {"name": offered[0]["function"]["name"]}}
    out["tools"] = functions
    if mode != "AUTO":
        out["tool_choice"] = choice


def _function(declaration: Mapping[str, Any], where: str) -> dict[str, Any]:
    function: dict[str, Any] = {
        "name": string(field(declaration, "name"), f"{where}.name", empty=False)
    }
    description = field(declaration, "description")
    if description is not None and string(description, f"{where}.description"):
        function["description"] = description
    given = field(declaration, "parametersJsonSchema")
    parameters = field(declaration, "parameters")
    if given is not None:
        function["parameters"] = dict(obj(given, f"{where}.parametersJsonSchema"))
    elif parameters is not None:
        function["parameters"] = json_schema(parameters, f"{where}.parameters")
    return {"type": "function", "function": function}
